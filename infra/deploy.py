"""Deploys one stage to AWS in one command: `make deploy STAGE=dev ALERT_EMAIL=ops@example.com`.

1. Builds and checks the stage's artifacts offline (infra/package.py, infra/package_check.py): nothing reaches AWS
   unless every check passes.
2. Creates or updates the stack `shop-<stage>-artifacts` (infra/artifacts.yaml): the bucket for the packages.
3. Uploads the code package, the layer and the template under content-hash keys (an unchanged file is not sent
   again, and an unchanged build changes nothing).
4. Creates a change set on the stack `shop-<stage>` (created the first time) and executes it, printing
   CloudFormation's events until the stack settles; a failure prints the failed resources and their reasons.
5. Prints the stack's Outputs (the API's URL among them) and keeps them in build/<stage>/outputs.json.

The browser clients (clients/, built by local/clients.py when stale) go to their own stack, `shop-<stage>-clients`
(infra/clients.yaml: a private bucket behind CloudFront), created before the stage's stack so that the API allows
its origin (the `ClientsOrigin` parameter); once the API's URL is known, both builds are uploaded with a `config.js`
that names it.

Nothing in the repository is rewritten: account-specific names and ARNs reach the functions as CloudFormation
references, and the outputs go to build/ (ignored by git). Safe to re-run at any time. docs/deploy.md has the
prerequisites, a first deploy, an update and a teardown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as `python infra/deploy.py` as well as `python -m infra.deploy`
    sys.path.insert(0, str(REPO_ROOT))

from infra import package, package_check  # noqa: E402
from infra.client_sites import ClientSite, ClientUploadError, upload_site  # noqa: E402

ARTIFACTS_TEMPLATE = REPO_ROOT / "infra" / "artifacts.yaml"
CLIENTS_TEMPLATE = REPO_ROOT / "infra" / "clients.yaml"
# `local` runs on the embedded moto server and is never deployed to AWS.
DEPLOYABLE_STAGES = ("dev", "prod")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
SETTLED_SUFFIXES = ("_COMPLETE", "_FAILED")


class DeployError(Exception):
    """A deploy step failed; the message says which and why."""


def stack_name_for(stage: str) -> str:
    """The CloudFormation stack that holds one stage."""
    return f"shop-{stage}"


def artifacts_stack_name_for(stage: str) -> str:
    return f"shop-{stage}-artifacts"


def clients_stack_name_for(stage: str) -> str:
    return f"shop-{stage}-clients"


def client_sites() -> list[ClientSite]:
    """The clients as `make run` serves them (local/clients.py), built first when missing or stale (needs Node.js)."""
    from local.clients import APPS, ClientBuildError, ensure_built

    try:
        ensure_built(print)
    except ClientBuildError as error:
        raise DeployError(f"the browser clients could not be built: {error}") from error
    return [ClientSite(app.mount.lstrip("/"), app.dist) for app in APPS]


class Deployer:
    """The AWS side of a deploy: CloudFormation change sets and S3 uploads, with progress printed."""

    def __init__(
        self,
        cloudformation: Any,
        s3: Any,
        region: str,
        *,
        log: Callable[[str], None] = print,
        poll_seconds: float = 10.0,
    ) -> None:
        self.cloudformation = cloudformation
        self.s3 = s3
        self.region = region
        self.log = log
        self.poll_seconds = poll_seconds

    # ------------------------------------------------------------ stacks

    def stack_status(self, stack_name: str) -> str | None:
        """The stack's status, or None when it does not exist."""
        from botocore.exceptions import ClientError

        try:
            stacks = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return stacks[0]["StackStatus"] if stacks else None

    def deploy_stack(
        self,
        stack_name: str,
        parameters: dict[str, str],
        *,
        template_body: str | None = None,
        template_url: str | None = None,
        tags: dict[str, str] | None = None,
        protect: bool = False,
    ) -> dict[str, str]:
        """Create or update a stack through a change set, wait for it, and return its Outputs by key."""
        status = self.stack_status(stack_name)
        if status == "ROLLBACK_COMPLETE":
            raise DeployError(
                f"Stack {stack_name} is in ROLLBACK_COMPLETE (its first creation failed) and cannot be updated. "
                f"Read the reasons above or in its events, fix the cause, then delete it: "
                f"aws cloudformation delete-stack --stack-name {stack_name}"
            )
        if status is not None and status.endswith("_IN_PROGRESS"):
            raise DeployError(f"Stack {stack_name} is busy ({status}); wait for it to settle and deploy again.")
        change_set_type = "CREATE" if status is None or status == "REVIEW_IN_PROGRESS" else "UPDATE"
        change_set_name = f"{stack_name}-{time.strftime('%Y%m%d-%H%M%S')}"
        arguments: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": change_set_name,
            "ChangeSetType": change_set_type,
            "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            "Capabilities": CAPABILITIES,
            "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()],
        }
        if template_url:
            arguments["TemplateURL"] = template_url
        else:
            arguments["TemplateBody"] = template_body
        self.log(f"{'Creating' if change_set_type == 'CREATE' else 'Updating'} stack {stack_name} ...")
        self.cloudformation.create_change_set(**arguments)
        change_set = self._wait_for_change_set(stack_name, change_set_name)
        if change_set["Status"] == "FAILED":
            reason = change_set.get("StatusReason", "")
            self.cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=change_set_name)
            if any(text in reason for text in NO_CHANGES):
                self.log(f"Stack {stack_name} is up to date.")
                return self.outputs(stack_name)
            raise DeployError(f"CloudFormation refused the change set for {stack_name}: {reason}")
        changes = change_set.get("Changes", [])
        self.log(f"  {len(changes)} resource change(s); executing ...")
        started = time.time()
        self.cloudformation.execute_change_set(StackName=stack_name, ChangeSetName=change_set_name)
        final = self._wait_for_stack(stack_name, started)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            reasons = "\n  ".join(self.failure_reasons(stack_name, started)) or "(no failed resource events)"
            raise DeployError(f"Stack {stack_name} ended {final}:\n  {reasons}")
        if protect and change_set_type == "CREATE":
            self.cloudformation.update_termination_protection(EnableTerminationProtection=True, StackName=stack_name)
            self.log(f"  termination protection on for {stack_name}")
        self.log(f"Stack {stack_name}: {final}")
        return self.outputs(stack_name)

    def _wait_for_change_set(self, stack_name: str, change_set_name: str) -> dict[str, Any]:
        while True:
            change_set = self.cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=change_set_name)
            if change_set["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return dict(change_set)
            time.sleep(min(self.poll_seconds, 5.0))

    def _wait_for_stack(self, stack_name: str, since: float) -> str:
        """Print the stack's new events until it settles; its final status."""
        seen: set[str] = set()
        while True:
            for event in reversed(self._events(stack_name)):
                if event["EventId"] in seen or _timestamp(event) < since - 5:
                    continue
                seen.add(event["EventId"])
                reason = f" ({event['ResourceStatusReason']})" if event.get("ResourceStatusReason") else ""
                self.log(f"  {event['LogicalResourceId']:<40} {event['ResourceStatus']}{reason}")
            status = self.stack_status(stack_name) or "DELETE_COMPLETE"
            if status.endswith(SETTLED_SUFFIXES) and not status.endswith("_IN_PROGRESS"):
                return status
            time.sleep(self.poll_seconds)

    def _events(self, stack_name: str) -> list[dict[str, Any]]:
        return list(self.cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"][:100])

    def failure_reasons(self, stack_name: str, since: float = 0.0, limit: int = 10) -> list[str]:
        """The stack's failed resource events since `since`, newest first."""
        reasons = [
            f"{event['LogicalResourceId']} ({event['ResourceType']}): {event.get('ResourceStatusReason', '')}"
            for event in self._events(stack_name)
            if event["ResourceStatus"].endswith("_FAILED") and _timestamp(event) >= since - 5
        ]
        return reasons[:limit]

    def outputs(self, stack_name: str) -> dict[str, str]:
        stack = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}

    # ------------------------------------------------------------ uploads

    def upload(self, bucket: str, key: str, path: Path) -> bool:
        """Put a file under its content-hash key unless it is there already; whether it was sent."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            self.log(f"  s3://{bucket}/{key} (already there)")
            return False
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        self.log(f"  s3://{bucket}/{key} ({path.stat().st_size:,} B) ...")
        self.s3.upload_file(str(path), bucket, key)
        return True

    def template_url(self, bucket: str, key: str, partition: str) -> str:
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        return f"https://{bucket}.s3.{self.region}.{suffix}/{key}"


def _timestamp(event: dict[str, Any]) -> float:
    value = event.get("Timestamp")
    return value.timestamp() if hasattr(value, "timestamp") else 0.0


# ---------------------------------------------------------------- the whole deploy


def deploy_stage(
    deployer: Deployer,
    build: package.Build,
    alert_email: str,
    partition: str = "aws",
    sites: Sequence[ClientSite] = (),
) -> dict[str, str]:
    """Steps 2-5 of the module docstring, for a build that passed its checks; with `sites`, the clients' stack
    first and their builds last."""
    stage = build.stage
    tags = {"app": "shop", "stage": stage}
    bucket_outputs = deployer.deploy_stack(
        artifacts_stack_name_for(stage),
        {"Stage": stage},
        template_body=ARTIFACTS_TEMPLATE.read_text(encoding="utf-8"),
        tags=tags,
    )
    clients_outputs: dict[str, str] = {}
    if sites:
        clients_outputs = deployer.deploy_stack(
            clients_stack_name_for(stage),
            {"Stage": stage},
            template_body=CLIENTS_TEMPLATE.read_text(encoding="utf-8"),
            tags=tags,
        )
    bucket = bucket_outputs["ArtifactsBucketName"]
    deployer.log(f"Uploading to {bucket}:")
    keys = {name: artifact.s3_key(stage) for name, artifact in build.artifacts.items()}
    for name, artifact in build.artifacts.items():
        deployer.upload(bucket, keys[name], artifact.path)
    template_key = package.measure_file(build.template_path).s3_key(stage)
    deployer.upload(bucket, template_key, build.template_path)
    parameters = {
        "Stage": stage,
        "AlertEmail": alert_email,
        "ArtifactsBucket": bucket,
        "CodeKey": keys["deployment.zip"],
        **{
            package.LAYER_KEY_PARAMETERS[layer_id]: keys[package_check.layer_artifact(layer_id)]
            for layer_id in package.LAYERS
        },
    }
    if sites:
        parameters[package.CLIENTS_ORIGIN_PARAMETER] = clients_outputs["ClientsOrigin"]
    outputs = deployer.deploy_stack(
        stack_name_for(stage),
        parameters,
        template_url=deployer.template_url(bucket, template_key, partition),
        tags=tags,
        protect=(stage == "prod"),
    )
    if sites:
        deployer.log(f"Uploading the browser clients to {clients_outputs['ClientsBucketName']}:")
        for site in sites:
            upload_site(deployer.s3, clients_outputs["ClientsBucketName"], site, outputs["EndpointURL"], deployer.log)
        outputs = {**outputs, **clients_outputs}
    (build.out_dir / "outputs.json").write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return outputs


def print_plan(build: package.Build, alert_email: str) -> None:
    stage = build.stage
    print(f"Plan for stage {stage} (dry run: built and checked, no AWS calls):")
    print(f"  1. Stack {artifacts_stack_name_for(stage)} from infra/artifacts.yaml (the artifacts bucket), and")
    print(f"     stack {clients_stack_name_for(stage)} from infra/clients.yaml (the clients' bucket and CDN).")
    print("  2. Upload under content-hash keys:")
    for name, artifact in build.artifacts.items():
        print(f"       {artifact.s3_key(stage)}  ({name}, {artifact.zipped_bytes:,} B)")
    print(f"       {package.measure_file(build.template_path).s3_key(stage)}  (the template)")
    functions = len(package_check.serverless_functions(build.template))
    print(f"  3. Change set on stack {stack_name_for(stage)}: {len(build.template['Resources'])} resources,")
    print(f"     {functions} functions, AlertEmail={alert_email or '(none)'}; execute it and wait.")
    print("  4. Upload the storefront (shop/) and the console (console/) with a config.js naming the API's URL.")
    print(f"  5. Print the Outputs and keep them in build/{stage}/outputs.json.")


def check_prerequisites(alert_email: str, dry_run: bool) -> None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise DeployError("AWS_ENDPOINT_URL is set: the deploy would go to that endpoint (the local moto server?)")
    if alert_email and not EMAIL.match(alert_email):
        raise DeployError(f"ALERT_EMAIL {alert_email!r} is not an email address")
    if not alert_email and not dry_run:
        raise DeployError("set ALERT_EMAIL (make deploy STAGE=... ALERT_EMAIL=you@example.com): alarms go there")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, choices=DEPLOYABLE_STAGES)
    parser.add_argument("--alert-email", default=os.environ.get("ALERT_EMAIL", ""), help="default $ALERT_EMAIL")
    parser.add_argument("--dry-run", action="store_true", help="build, check and print the plan; no AWS calls")
    arguments = parser.parse_args(argv)
    try:
        check_prerequisites(arguments.alert_email, arguments.dry_run)
        build = package.build(arguments.stage)
        print("Checking the build (infra/package_check.py):")
        package_check.run_checks(build)
        sites = client_sites()
        if arguments.dry_run:
            print_plan(build, arguments.alert_email)
            return 0
        import boto3

        session = boto3.session.Session()
        if session.region_name is None:
            raise DeployError("No AWS region configured; set AWS_DEFAULT_REGION or AWS_PROFILE.")
        identity = session.client("sts").get_caller_identity()
        partition = session.get_partition_for_region(session.region_name)
        print(f"Deploying stage {arguments.stage} to account {identity['Account']} in {session.region_name}.")
        deployer = Deployer(session.client("cloudformation"), session.client("s3"), session.region_name)
        outputs = deploy_stage(deployer, build, arguments.alert_email, partition, sites)
    except (DeployError, ClientUploadError, package.PackageError, package_check.CheckFailed) as error:
        print(f"Deploy of stage {arguments.stage} failed: {error}", file=sys.stderr)
        return 1
    for key in sorted(outputs):
        print(f"  {key:<28} {outputs[key]}")
    print(f"Stage {arguments.stage} deployed: {outputs.get('EndpointURL', '')}")
    print(f"storefront {outputs.get('StorefrontURL', '')}")
    print(f"admin console {outputs.get('ConsoleURL', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
