"""Text messages through SNS Publish to the phone number; the local stage also keeps them in an outbox."""

from __future__ import annotations

from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.aws import client
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.config import get_settings
from chalicelib.errors import DependencyUnavailable
from chalicelib.observability import logger

OUTBOX_SECONDS = 86400


class SnsSmsSender:
    """SmsSender on SNS (transactional SMS to +86 numbers)."""

    def __init__(self, security: SecurityRepository) -> None:
        self._security = security

    def send(self, phone: str, text: str) -> None:
        try:
            client("sns").publish(
                PhoneNumber=f"+86{phone}",
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except Exception as error:
            logger.exception("SMS could not be sent")
            raise DependencyUnavailable("The SMS could not be sent, try again shortly") from error
        if get_settings().is_local:  # /dev/outbox reads them: local only (a deployed dev stage texts for real)
            self._security.record_outbox(phone, text, now_iso(), epoch_seconds() + OUTBOX_SECONDS)
