"""A deployed stage's SMS secret key comes from Secrets Manager (SMS_SECRETS_ARN), never from the template."""

from __future__ import annotations

import json

import boto3

from chalicelib.accounts.sms_providers import SmsSettings


def test_the_sms_secret_key_is_read_from_the_stages_secret(aws_env: dict[str, str]) -> None:
    # GIVEN the secret shop/<stage>/sms holding the provider's key pair
    arn = boto3.client("secretsmanager").create_secret(
        Name="shop/local/sms-test",
        SecretString=json.dumps({"SMS_ACCESS_KEY_ID": "LTAI5t-id", "SMS_ACCESS_KEY_SECRET": "s3cr3t", "OTHER": "x"}),
    )["ARN"]

    # WHEN the settings are read with its ARN
    settings = SmsSettings.from_env({"SMS_PROVIDER": "aliyun", "SMS_SECRETS_ARN": arn, "SMS_SIGN_NAME": "小店"})

    # THEN the key pair is the secret's, the rest the environment's
    assert (settings.access_key_id, settings.access_key_secret) == ("LTAI5t-id", "s3cr3t")
    assert (settings.provider, settings.sign_name) == ("aliyun", "小店")
