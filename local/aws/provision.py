"""Creates a stage's AWS resources in moto from infra/: the stack, the Lambda functions, the state machines.

The template is the one infra/package.py merges into the deployed template (read through infra/templates.py): moto's
CloudFormation creates its resources but the state machines, which are created here through the Step Functions API
from the same definition files and substitutions as deployed.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from chalice.app import Chalice
from chalice.utils import to_cfn_resource_name

from chalicelib.aws import new_client
from infra import templates
from infra.stack_outputs import env_from_outputs
from local.aws.install_secret import local_jwt_secret

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = Path("infra/template.yaml")
DEFAULT_STATEMACHINES = Path("infra/statemachines")

_PLACEHOLDER = templates.PLACEHOLDER
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


class ProvisioningError(RuntimeError):
    """The stage's resources could not be created as infra/ describes them."""


def provision(
    app: Chalice,
    stage: str = "local",
    template: Path = DEFAULT_TEMPLATE,
    statemachines: Path | None = None,
) -> dict[str, str]:
    """Create (or find) everything `app` needs on the current AWS endpoint; return the app's environment.

    Works against the local moto server (AWS_ENDPOINT_URL) and in-process under mock_aws().
    Idempotent: a second call returns the same environment. `statemachines`, a directory of `.asl.json` files,
    replaces the template's state machines (tests run probe machines with probe apps).
    """
    env = provision_stack(stage, template)
    function_arns = create_lambda_functions(app, stage)
    pseudo = {
        "Stage": stage,
        "AWS::Region": _region(),
        "AWS::AccountId": _account_id(),
        "AWS::Partition": "aws",
        templates.PARTITION_SUBSTITUTION: "aws",
    }
    if statemachines is not None:
        substitutions = {**definition_substitutions(function_arns), **stack_outputs(stage), **pseudo}
        env.update(create_state_machines(stage, statemachines, substitutions))
    else:
        env.update(create_template_state_machines(stage, template, function_arns, pseudo))
    apply_bucket_policies(stage, template, pseudo)
    env["SHOP_STAGE"] = stage
    if stage == "local":
        env["JWT_SECRET"] = os.environ.get("JWT_SECRET") or local_jwt_secret()  # per install, never a constant
    return env


def provision_stack(stage: str = "local", template: Path = DEFAULT_TEMPLATE) -> dict[str, str]:
    """Create the CloudFormation stack `shop-<stage>` unless it exists; return its Outputs as env vars."""
    cfn = _client("cloudformation")
    name = stack_name(stage)
    stack = _describe_stack(cfn, name)
    if stack is None:
        cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(templates.without_state_machines(templates.load_template(_resolve(template)))),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        stack = _describe_stack(cfn, name)
    if stack is None or stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        status = stack["StackStatus"] if stack else "MISSING"
        raise ProvisioningError(f"stack {name} is {status}")
    return env_from_outputs(stack.get("Outputs", []))


def stack_name(stage: str) -> str:
    return f"shop-{stage}"


def stack_outputs(stage: str) -> dict[str, str]:
    """The stack's Outputs by key (they double as state machine definition substitutions)."""
    stack = _describe_stack(_client("cloudformation"), stack_name(stage))
    return {item["OutputKey"]: item["OutputValue"] for item in (stack or {}).get("Outputs", [])}


def create_lambda_functions(app: Chalice, stage: str) -> dict[str, str]:
    """A moto Lambda function (dummy code) for every Chalice lambda_function, so ARNs exist; name -> ARN."""
    lambda_client = _client("lambda")
    role_arn = _ensure_role(f"shop-{stage}-local-execution")
    code = _dummy_zip()
    arns: dict[str, str] = {}
    for function in app.pure_lambda_functions:
        deployed = f"shop-{stage}-{function.name}"
        try:
            created = lambda_client.create_function(
                FunctionName=deployed,
                Runtime="python3.11",
                Role=role_arn,
                Handler=function.handler_string,
                Code={"ZipFile": code},
                Timeout=60,
            )
            arns[function.name] = created["FunctionArn"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceConflictException":
                raise
            arns[function.name] = lambda_client.get_function(FunctionName=deployed)["Configuration"]["FunctionArn"]
    return arns


def substitution_name(function_name: str) -> str:
    """`release_stock` -> `ReleaseStockFunctionArn`, the DefinitionSubstitutions key for a function's ARN (the
    function's CloudFormation name, as `chalice package` names it, and `FunctionArn`)."""
    return f"{to_cfn_resource_name(function_name)}FunctionArn"


def definition_substitutions(function_arns: Mapping[str, str]) -> dict[str, str]:
    return {substitution_name(name): arn for name, arn in function_arns.items()}


def substitute(definition: str, substitutions: Mapping[str, str], *, source: str = "definition") -> str:
    """Apply DefinitionSubstitutions as CloudFormation does (moto's CloudFormation ignores them)."""
    try:
        return templates.substitute(definition, substitutions, source=source)
    except templates.TemplateError as error:
        raise ProvisioningError(str(error)) from error


def create_template_state_machines(
    stage: str, template: Path, function_arns: Mapping[str, str], pseudo: Mapping[str, str]
) -> dict[str, str]:
    """Create or update every state machine of the template, as deployed: its definition file, every
    `${<Function>FunctionArn}` resolved to that function and its DefinitionSubstitutions resolved in the stack."""
    path = _resolve(template)
    parsed = templates.load_template(path)
    outputs = stack_outputs(stage)
    sfn = _client("stepfunctions")
    role_arn = _ensure_role(f"shop-{stage}-local-execution")
    existing = _state_machines_by_name(sfn)
    env: dict[str, str] = {}
    for logical_id, resource in templates.state_machines(parsed).items():
        properties = resource["Properties"]
        definition_path = templates.definition_file(resource, path.parent)
        text = templates.partition_neutral(definition_path.read_text(encoding="utf-8"))
        substitutions = {**definition_substitutions(function_arns), **pseudo}
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            substitutions[key] = _resolve_intrinsic(value, parsed, outputs, pseudo, f"{logical_id}.{key}")
        for key in templates.placeholders(text) - set(substitutions):
            if key in outputs:  # an Output of the template stands for itself, as infra/package.py resolves it
                substitutions[key] = outputs[key]
        definition = substitute(text, substitutions, source=str(definition_path))
        json.loads(definition)  # a broken file fails here, with its name, not deep inside moto
        name = _resolve_intrinsic(properties["StateMachineName"], parsed, outputs, pseudo, f"{logical_id}.name")
        arn = existing.get(name)
        if arn is None:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
        elif sfn.describe_state_machine(stateMachineArn=arn)["definition"] != definition:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition)
        env[templates.state_machine_env_key(definition_path)] = arn
    return env


def apply_bucket_policies(stage: str, template: Path, pseudo: Mapping[str, str]) -> None:
    """Put the template's bucket policies on their buckets: moto's CloudFormation skips AWS::S3::BucketPolicy, and
    without it moto's S3 refuses the anonymous reads a policy allows on AWS (the uploads' public_url)."""
    parsed = templates.load_template(_resolve(template))
    outputs = stack_outputs(stage)
    s3 = _client("s3")
    for logical_id, resource in (parsed.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::S3::BucketPolicy":
            continue
        properties = resource["Properties"]
        bucket = _resolve_intrinsic(properties["Bucket"], parsed, outputs, pseudo, f"{logical_id}.Bucket")

        def resolved(node: Any, logical_id: str = logical_id) -> Any:
            if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                text = node["Fn::Sub"]
                for match in set(re.findall(r"\$\{(\w+)\.Arn\}", text)):
                    name = _resolve_intrinsic({"Ref": match}, parsed, outputs, pseudo, f"{logical_id}.{match}")
                    text = text.replace(f"${{{match}.Arn}}", f"arn:aws:s3:::{name}")
                return _resolve_intrinsic({"Fn::Sub": text}, parsed, outputs, pseudo, logical_id)
            if isinstance(node, dict):
                return {key: resolved(value, logical_id) for key, value in node.items()}
            if isinstance(node, list):
                return [resolved(value, logical_id) for value in node]
            return node

        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(resolved(properties["PolicyDocument"])))


def _resolve_intrinsic(
    value: Any, template: Mapping[str, Any], outputs: Mapping[str, str], pseudo: Mapping[str, str], where: str
) -> str:
    """A literal, `Fn::Sub` of parameters, or a `Ref`/`Fn::GetAtt` that one of the stack's Outputs also reads."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return _PLACEHOLDER.sub(lambda match: pseudo[match.group(1)], value["Fn::Sub"])
    for key, output in (template.get("Outputs") or {}).items():
        if output.get("Value") == value and key in outputs:
            return outputs[key]
    raise ProvisioningError(f"{where}: cannot resolve {value!r} locally; output it from infra/template.yaml")


def state_machine_files(directory: Path) -> list[Path]:
    """The probe definitions of a directory (tests)."""
    resolved = _resolve(directory)
    return sorted(resolved.glob("*.asl.json")) if resolved.is_dir() else []


def state_machine_stem(path: Path) -> str:
    return path.name.removesuffix(".asl.json")


def state_machine_env_key(stem: str) -> str:
    return templates.state_machine_env_key(Path(f"{stem}.asl.json"))


def create_state_machines(stage: str, directory: Path, substitutions: Mapping[str, str]) -> dict[str, str]:
    """Create or update `shop-<stage>-<stem>` for every `<stem>.asl.json`; return STATE_MACHINE_<STEM>_ARN vars."""
    files = state_machine_files(directory)
    if not files:
        return {}
    sfn = _client("stepfunctions")
    role_arn = _ensure_role(f"shop-{stage}-local-execution")
    existing = _state_machines_by_name(sfn)
    env: dict[str, str] = {}
    for path in files:
        stem = state_machine_stem(path)
        name = f"shop-{stage}-{stem}"
        definition = substitute(path.read_text(encoding="utf-8"), substitutions, source=str(path))
        json.loads(definition)  # a broken file fails here, with its name, not deep inside moto
        arn = existing.get(name)
        if arn is None:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
        elif sfn.describe_state_machine(stateMachineArn=arn)["definition"] != definition:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition)
        env[state_machine_env_key(stem)] = arn
    return env


def _state_machines_by_name(sfn: Any) -> dict[str, str]:
    machines: dict[str, str] = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        machines.update({item["name"]: item["stateMachineArn"] for item in page["stateMachines"]})
    return machines


def _ensure_role(name: str) -> str:
    iam = _client("iam")
    try:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY))["Role"]["Arn"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def _dummy_zip() -> bytes:
    """Lambda wants a deployment package; the code never runs (lambda_dispatch runs the app in-process)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# placeholder: local.aws.lambda_dispatch runs the Chalice app in-process\n")
    return buffer.getvalue()


def _describe_stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error.response["Error"].get("Message", ""):
            return None
        raise
    live = [stack for stack in stacks if stack["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def _resolve(path: Path) -> Path:
    """Relative paths are taken from the repository root, so the runtime works from any directory."""
    return path if path.is_absolute() else REPO_ROOT / path


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


def _client(service: str) -> Any:
    return new_client(service, region_name=_region())


def _account_id() -> str:
    return str(_client("sts").get_caller_identity()["Account"])
