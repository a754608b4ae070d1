"""Deploys one stage to AWS: the CloudFormation stack, its Outputs into the Chalice config, chalice, API responses."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as `python infra/deploy.py` as well as `python -m infra.deploy`
    sys.path.insert(0, str(REPO_ROOT))

from infra.stack_outputs import OUTPUT_ENV, env_from_outputs  # noqa: E402

TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
GATEWAY_RESPONSES_PATH = REPO_ROOT / "infra" / "gateway_responses.json"
CHALICE_DIR = REPO_ROOT / ".chalice"
CHALICE_CONFIG_PATH = CHALICE_DIR / "config.json"
# `local` runs on the embedded moto server and is never deployed to AWS.
DEPLOYABLE_STAGES = ("dev", "prod")
# CloudFormation refuses inline template bodies above this size.
MAX_TEMPLATE_BODY_BYTES = 51_200
REQUEST_ID_TEMPLATE = "$context.requestId"


class DeployError(Exception):
    """A deploy step failed; the message says which and why."""


def stack_name_for(stage: str) -> str:
    """The CloudFormation stack that holds one stage's resources."""
    return f"shop-{stage}"


# ---------------------------------------------------------------- CloudFormation


def _stack_status(cloudformation: Any, stack_name: str) -> str | None:
    """The stack's status, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def _failure_reasons(cloudformation: Any, stack_name: str, limit: int = 10) -> list[str]:
    """The most recent failed resource events of a stack, newest first."""
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    reasons = [
        f"{event['LogicalResourceId']} ({event['ResourceType']}): {event.get('ResourceStatusReason', '')}"
        for event in events
        if event["ResourceStatus"].endswith("_FAILED")
    ]
    return reasons[:limit]


def deploy_stack(cloudformation: Any, stage: str, template_body: str) -> list[dict[str, str]]:
    """Create or update the stage's stack, wait for it, and return its Outputs."""
    from botocore.exceptions import ClientError, WaiterError

    stack_name = stack_name_for(stage)
    status = _stack_status(cloudformation, stack_name)
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"Stack {stack_name} is in ROLLBACK_COMPLETE (its first creation failed) and cannot be updated. "
            f"Read its events, fix the cause, then delete it: aws cloudformation delete-stack --stack-name {stack_name}"
        )
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise DeployError(f"Stack {stack_name} is busy ({status}); wait for it to settle and run the deploy again.")

    arguments: dict[str, Any] = {
        "StackName": stack_name,
        "TemplateBody": template_body,
        "Parameters": [{"ParameterKey": "Stage", "ParameterValue": stage}],
        "Tags": [{"Key": "app", "Value": "shop"}, {"Key": "stage", "Value": stage}],
    }
    try:
        if status is None:
            print(f"Creating stack {stack_name} ...")
            cloudformation.create_stack(
                **arguments, OnFailure="ROLLBACK", EnableTerminationProtection=(stage == "prod")
            )
            waiter = cloudformation.get_waiter("stack_create_complete")
        else:
            print(f"Updating stack {stack_name} (currently {status}) ...")
            try:
                cloudformation.update_stack(**arguments)
            except ClientError as error:
                if "No updates are to be performed" not in str(error):
                    raise
                print(f"Stack {stack_name} is already up to date.")
                waiter = None
            else:
                waiter = cloudformation.get_waiter("stack_update_complete")
        if waiter is not None:
            waiter.wait(StackName=stack_name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    except WaiterError as error:
        reasons = "\n  ".join(_failure_reasons(cloudformation, stack_name)) or "(no failed resource events)"
        raise DeployError(f"Stack {stack_name} did not finish: {error}\n  {reasons}") from error
    except ClientError as error:
        raise DeployError(f"CloudFormation refused stack {stack_name}: {error}") from error

    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    print(f"Stack {stack_name}: {stack['StackStatus']}")
    return stack.get("Outputs", [])


# ---------------------------------------------------------------- .chalice/config.json


def write_stage_environment(config_path: Path, stage: str, environment: dict[str, str]) -> dict[str, Any]:
    """Merge environment variables into one stage of the Chalice config, keeping everything else."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    stage_config = config.setdefault("stages", {}).setdefault(stage, {})
    variables = stage_config.setdefault("environment_variables", {})
    variables.update(environment)
    variables["SHOP_STAGE"] = stage
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return config


def _chalice_executable() -> str:
    """The chalice CLI next to this interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "chalice"
    if beside.exists():
        return str(beside)
    found = shutil.which("chalice")
    if found is None:
        raise DeployError("chalice is not installed; create the venv from requirements-dev.txt first.")
    return found


def chalice_deploy_command(stage: str) -> list[str]:
    """The command that deploys the Lambda functions and the REST API of one stage."""
    return [_chalice_executable(), "deploy", "--stage", stage]


def chalice_deploy_environment(stage: str, stack_environment: dict[str, str]) -> dict[str, str]:
    """The environment `chalice deploy` imports app.py in: the stack's settings and SHOP_STAGE.

    Event sources are resolved at import time (on_dynamodb_record needs the catalog stream's ARN,
    CATALOG_STREAM_ARN), so the stack's Outputs must be in the process environment, not only in the
    stage's Lambda environment variables.
    """
    return {**os.environ, **stack_environment, "SHOP_STAGE": stage}


MISSING_WHEELS_HEADER = "Could not install dependencies:"
MISSING_WHEELS_END = "You will have to build these yourself"


def missing_lambda_dependencies(package_output: str) -> list[str]:
    """The requirements `chalice package` printed it could not get as wheels for the Lambda runtime.

    Chalice only warns ("Your deployment will continue but may not work correctly") and ships the package without
    them: a pin whose wheels need a newer glibc than the runtime's (numpy >= 2.3 for python3.11) then fails at import
    in the deployed function only."""
    _, found, rest = package_output.partition(MISSING_WHEELS_HEADER)
    if not found:
        return []
    listed = rest.split(MISSING_WHEELS_END, 1)[0]
    return [line.strip() for line in listed.splitlines() if line.strip()]


def check_lambda_package(stage: str, stack_environment: dict[str, str] | None = None) -> None:
    """Build the deployment package once before touching AWS; stop if any requirement is missing from it."""
    import tempfile

    environment = chalice_deploy_environment(stage, stack_environment or {})
    with tempfile.TemporaryDirectory(prefix="shop-package-") as out_dir:
        completed = subprocess.run(
            [_chalice_executable(), "package", "--stage", stage, out_dir],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise DeployError(f"chalice package --stage {stage} failed:\n{output[-2000:]}")
    if missing := missing_lambda_dependencies(output):
        raise DeployError(
            f"No Lambda-compatible wheels for {', '.join(missing)} (the runtime's glibc is older than they need): "
            "pin a release with manylinux2014 wheels, see docs/deploy.md"
        )


def run_chalice_deploy(stage: str, stack_environment: dict[str, str] | None = None) -> None:
    """Run `chalice deploy --stage <stage>` from the repository root with SHOP_STAGE and the stack's settings set."""
    environment = chalice_deploy_environment(stage, stack_environment or {})
    completed = subprocess.run(chalice_deploy_command(stage), cwd=REPO_ROOT, env=environment, check=False)
    if completed.returncode != 0:
        raise DeployError(f"chalice deploy --stage {stage} failed with exit code {completed.returncode}")


def deployed_rest_api_id(stage: str, chalice_dir: Path = CHALICE_DIR) -> str:
    """The REST API id chalice recorded in .chalice/deployed/<stage>.json."""
    deployed_path = chalice_dir / "deployed" / f"{stage}.json"
    try:
        deployed = json.loads(deployed_path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DeployError(f"{deployed_path} is missing; chalice deploy did not record the stage.") from error
    for resource in deployed.get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    raise DeployError(f"{deployed_path} records no REST API; does app.py define any route?")


# ---------------------------------------------------------------- API Gateway gateway responses


def load_gateway_responses(path: Path = GATEWAY_RESPONSES_PATH) -> dict[str, dict[str, Any]]:
    """The gateway responses (response type -> status, code, message) that follow the error contract."""
    return json.loads(path.read_text(encoding="utf-8"))["responses"]


def gateway_response_request(rest_api_id: str, response_type: str, response: dict[str, Any]) -> dict[str, Any]:
    """The put_gateway_response arguments for one response type."""
    body = {"code": response["code"], "message": response["message"], "request_id": REQUEST_ID_TEMPLATE}
    request: dict[str, Any] = {
        "restApiId": rest_api_id,
        "responseType": response_type,
        "responseTemplates": {"application/json": json.dumps(body, ensure_ascii=False)},
        # The same id as the body's request_id, as every answer of the app carries it.
        "responseParameters": {"gatewayresponse.header.X-Request-Id": "context.requestId"},
    }
    if response.get("status") is not None:
        request["statusCode"] = str(response["status"])
    return request


def apply_gateway_responses(
    apigateway: Any, rest_api_id: str, responses: dict[str, dict[str, Any]], stage_name: str | None = "api"
) -> list[str]:
    """Put every gateway response on the REST API, then redeploy the stage so they take effect."""
    applied = []
    for response_type, response in responses.items():
        apigateway.put_gateway_response(**gateway_response_request(rest_api_id, response_type, response))
        applied.append(response_type)
    if stage_name is not None:
        apigateway.create_deployment(
            restApiId=rest_api_id, stageName=stage_name, description="Contract-shaped gateway responses"
        )
    return applied


def _api_gateway_stage(config_path: Path = CHALICE_CONFIG_PATH) -> str:
    config = json.loads(config_path.read_text(encoding="utf-8"))
    return str(config.get("api_gateway_stage", "api"))


# ---------------------------------------------------------------- dry run


def validate_offline(stage: str) -> list[str]:
    """Everything that can be checked without AWS; returns the problems found."""
    problems: list[str] = []
    template_body = TEMPLATE_PATH.read_text(encoding="utf-8")
    if len(template_body.encode()) > MAX_TEMPLATE_BODY_BYTES:
        problems.append(f"{TEMPLATE_PATH} exceeds {MAX_TEMPLATE_BODY_BYTES} bytes; upload it to S3 instead")
    try:
        from cfnlint.api import lint
        from cfnlint.decode import decode_str
    except ImportError:
        return [*problems, "cfn-lint is not installed (requirements-dev.txt); the template cannot be checked"]
    problems.extend(f"cfn-lint: {match}" for match in lint(template_body))
    template, _ = decode_str(template_body)
    outputs = (template or {}).get("Outputs") or {}
    problems.extend(f"{TEMPLATE_PATH} has no Output {key}" for key in OUTPUT_ENV if key not in outputs)
    config = json.loads(CHALICE_CONFIG_PATH.read_text(encoding="utf-8"))
    stage_config = config.get("stages", {}).get(stage)
    if stage_config is None:
        problems.append(f"{CHALICE_CONFIG_PATH} has no stage {stage}")
    elif not config.get("autogen_policy", True) or not stage_config.get("autogen_policy", True):
        policy_file = stage_config.get("iam_policy_file", config.get("iam_policy_file", f"policy-{stage}.json"))
        if not (CHALICE_DIR / policy_file).exists():
            problems.append(f"{CHALICE_DIR / policy_file} is missing")
    try:
        load_gateway_responses()
    except (OSError, KeyError, json.JSONDecodeError) as error:
        problems.append(f"{GATEWAY_RESPONSES_PATH} is unreadable: {error}")
    return problems


def print_plan(stage: str) -> None:
    """Say what a real run would do, in order."""
    stack_name = stack_name_for(stage)
    print(f"Plan for stage {stage} (dry run, no AWS calls):")
    print("  0. Build the Lambda package (`chalice package`); stop if a requirement has no wheel for the runtime.")
    print(f"  1. Create or update CloudFormation stack {stack_name} from {TEMPLATE_PATH.relative_to(REPO_ROOT)}")
    print(f"     with Stage={stage}, and wait for it to complete.")
    config_name = CHALICE_CONFIG_PATH.relative_to(REPO_ROOT)
    print(f"  2. Write its Outputs into {config_name} stages.{stage}.environment_variables:")
    for key, env in OUTPUT_ENV.items():
        print(f"       {key} -> {env}")
    print(f"  3. Run SHOP_STAGE={stage} {' '.join(chalice_deploy_command(stage))} in {REPO_ROOT},")
    print("     with the Outputs in its environment too (event sources such as CATALOG_STREAM_ARN are read at import).")
    responses = load_gateway_responses()
    print(f"  4. Put {len(responses)} gateway responses on the REST API: {', '.join(responses)}")
    print(f"  5. Create a new deployment of API Gateway stage {_api_gateway_stage()!r}.")


# ---------------------------------------------------------------- entry point


def deploy(stage: str) -> None:
    """The whole deploy of one stage, each step after the previous one succeeded."""
    import boto3

    session = boto3.session.Session()
    if session.region_name is None:
        raise DeployError("No AWS region configured; set AWS_DEFAULT_REGION or AWS_PROFILE.")
    check_lambda_package(stage)  # before any AWS change: a package missing a dependency would deploy anyway
    template_body = TEMPLATE_PATH.read_text(encoding="utf-8")
    outputs = deploy_stack(session.client("cloudformation"), stage, template_body)
    environment = env_from_outputs(outputs)
    missing = sorted(set(OUTPUT_ENV.values()) - set(environment))
    if missing:
        raise DeployError(f"Stack {stack_name_for(stage)} did not output {', '.join(missing)}")
    write_stage_environment(CHALICE_CONFIG_PATH, stage, environment)
    print(f"Wrote {len(environment)} settings into {CHALICE_CONFIG_PATH.relative_to(REPO_ROOT)} stage {stage}.")
    run_chalice_deploy(stage, environment)
    rest_api_id = deployed_rest_api_id(stage)
    applied = apply_gateway_responses(
        session.client("apigateway"), rest_api_id, load_gateway_responses(), stage_name=_api_gateway_stage()
    )
    print(f"Applied {len(applied)} gateway responses to REST API {rest_api_id} and redeployed it.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", required=True, choices=DEPLOYABLE_STAGES)
    parser.add_argument("--dry-run", action="store_true", help="validate offline and print the plan; no AWS calls")
    arguments = parser.parse_args(argv)

    problems = validate_offline(arguments.stage)
    if problems:
        print("Deploy refused, fix these first:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    if arguments.dry_run:
        print_plan(arguments.stage)
        return 0
    try:
        deploy(arguments.stage)
    except DeployError as error:
        print(f"Deploy of stage {arguments.stage} failed: {error}", file=sys.stderr)
        return 1
    print(f"Stage {arguments.stage} deployed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
