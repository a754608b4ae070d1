"""The browser clients on AWS: a private bucket behind CloudFront (infra/clients.yaml), their origin allowed by the
stage's API, and `make deploy` uploading both builds with a config.js that names the stage's API."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode_str
from moto import mock_aws

from infra import deploy, package, templates
from infra.client_sites import ClientSite, upload_site
from tests.functional.test_infra import VENV_BIN, FakeCloudFormation, fake_build

CLIENTS_TEMPLATE = Path(deploy.CLIENTS_TEMPLATE)


def clients_template() -> dict[str, Any]:
    template, matches = decode_str(CLIENTS_TEMPLATE.read_text(encoding="utf-8"))
    assert not matches
    return json.loads(json.dumps(template))


def built_site(root: Path, prefix: str) -> ClientSite:
    dist = root / prefix.strip("/")
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<script src="config.js"></script><script src="assets/index-abc.js"></script>')
    (dist / "config.js").write_text("window.SHOP_CONFIG = { apiBase: '' }\n")
    (dist / "assets" / "index-abc.js").write_text("console.log('app')\n")
    (dist / ".source-digest").write_text("digest\n")
    return ClientSite(prefix, dist)


def test_the_clients_template_passes_cfn_lint_without_errors_or_warnings() -> None:
    linted = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), str(CLIENTS_TEMPLATE)], capture_output=True, text=True, check=False
    )

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_clients_bucket_is_private_and_only_the_stages_distribution_reads_it_through_origin_access_control() -> (
    None
):
    resources = clients_template()["Resources"]

    bucket = resources["ClientsBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    origin = resources["ClientsDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ClientsOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    reads = resources["ClientsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reads["Action"] == "s3:GetObject"
    assert "${ClientsDistribution}" in reads["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    behaviour = resources["ClientsDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the CloudFront function's code")
def test_the_cdn_sends_a_clients_own_paths_to_its_index_html_and_the_root_and_admin_to_the_clients() -> None:
    # GIVEN the viewer-request function CloudFront runs (plain JavaScript, as cloudfront-js-2.0 takes it)
    code = clients_template()["Resources"]["ClientsPathsFunction"]["Properties"]["FunctionCode"]
    uris = ["/", "/shop", "/shop/", "/shop/product/p1", "/shop/assets/index-abc.js", "/shop/config.js",
            "/console/orders", "/console/assets/a.css", "/admin", "/admin/orders"]  # fmt: skip
    ask = "function (u) { return handler({ request: { uri: u } }); }"
    script = f"{code}\nconsole.log(JSON.stringify({json.dumps(uris)}.map({ask})))"

    # WHEN each path is asked for
    answers = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    seen = {
        uri: answer["headers"]["location"]["value"] if "statusCode" in answer else answer["uri"]
        for uri, answer in zip(uris, answers, strict=True)
    }

    # THEN files are served as they are, a client's route gets its index.html, and / and /admin redirect
    assert seen == {
        "/": "/shop/",
        "/shop": "/shop/",
        "/shop/": "/shop/index.html",
        "/shop/product/p1": "/shop/index.html",
        "/shop/assets/index-abc.js": "/shop/assets/index-abc.js",
        "/shop/config.js": "/shop/config.js",
        "/console/orders": "/console/index.html",
        "/console/assets/a.css": "/console/assets/a.css",
        "/admin": "/console/",
        "/admin/orders": "/console/",
    }


def test_the_stages_functions_allow_the_clients_origin_and_gateway_errors_echo_the_callers_origin(
    tmp_path: Path,
) -> None:
    # GIVEN the dev stage's template as `make deploy` builds it (the clients' origin a parameter)
    project = package.stage_project(tmp_path / "project")
    sam = package.chalice_package(project, tmp_path / "chalice", "dev")
    functions = package.app_functions(project, package.stage_environment("dev"))
    template = package.compose_template(
        "dev", sam, templates.load_template(), functions, ("http://127.0.0.1:*",), clients_origin=True
    )

    # THEN every function allows the stage's origins and the clients' one
    assert template["Parameters"]["ClientsOrigin"]["Default"] == ""
    for properties in (
        r["Properties"] for r in template["Resources"].values() if r["Type"] == package.SERVERLESS_FUNCTION
    ):
        joined = properties["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"]
        assert joined == {"Fn::Join": [",", ["http://127.0.0.1:*,http://localhost:*", {"Ref": "ClientsOrigin"}]]}
    # AND API Gateway's own answers (401 from the authorizer among them) carry CORS for the clients
    responses = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"
    ]
    parameters = responses["UNAUTHORIZED"]["responseParameters"]
    assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"


def test_a_deploy_with_the_clients_creates_their_stack_before_the_api_allows_their_origin_and_uploads_both(
    tmp_path: Path,
) -> None:
    # GIVEN a built stage and both built clients
    cloudformation = FakeCloudFormation(
        {
            "shop-dev-artifacts": {"ArtifactsBucketName": "artifacts"},
            "shop-dev-clients": {
                "ClientsBucketName": "clients",
                "ClientsOrigin": "https://d1.cloudfront.net",
                "StorefrontURL": "https://d1.cloudfront.net/shop/",
                "ConsoleURL": "https://d1.cloudfront.net/console/",
            },
            "shop-dev": {"EndpointURL": "https://api.example.com/api/"},
        }
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        s3.create_bucket(Bucket="clients")
        sites = [built_site(tmp_path / "sites", "shop/"), built_site(tmp_path / "sites", "console/")]
        deployer = deploy.Deployer(cloudformation, s3, "us-east-1", log=lambda _: None, poll_seconds=0)

        # WHEN the stage is deployed
        outputs = deploy.deploy_stage(deployer, fake_build(tmp_path), "ops@example.com", sites=sites)

        # THEN the clients' stack comes before the stage's, whose API is given their origin
        stacks = [name for call, name in cloudformation.calls if call == "execute_change_set"]
        assert stacks == ["shop-dev-artifacts", "shop-dev-clients", "shop-dev"]
        parameters = json.loads(cloudformation.change_sets["shop-dev"]["body"])[1]
        assert {"ParameterKey": "ClientsOrigin", "ParameterValue": "https://d1.cloudfront.net"} in parameters
        # AND both builds are in the clients bucket, their config.js naming the stage's API
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="clients")["Contents"])
        assert keys == [
            f"{p}/{f}" for p in ("console", "shop") for f in ("assets/index-abc.js", "config.js", "index.html")
        ]
        config = s3.get_object(Bucket="clients", Key="shop/config.js")
        assert b'{"apiBase": "https://api.example.com/api"}' in config["Body"].read()
        assert config["CacheControl"] == "no-cache"
        asset = s3.head_object(Bucket="clients", Key="shop/assets/index-abc.js")
        assert asset["CacheControl"] == "public, max-age=31536000, immutable"
        assert asset["ContentType"].startswith(("text/javascript", "application/javascript"))
        # AND the outputs name where people open them
        assert outputs["StorefrontURL"] == "https://d1.cloudfront.net/shop/"
        assert outputs["ConsoleURL"] == "https://d1.cloudfront.net/console/"


def test_uploading_a_client_again_sends_its_page_and_config_but_not_the_hashed_assets_already_there(
    tmp_path: Path,
) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="clients")
        site = built_site(tmp_path, "shop/")
        first = upload_site(s3, "clients", site, "https://api.example.com", log=lambda _: None)

        second = upload_site(s3, "clients", site, "https://api.example.com", log=lambda _: None)

    assert (first, second) == (3, 2)
