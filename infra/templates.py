"""infra/template.yaml as data, and its state machines rendered from infra/statemachines/*.asl.json.

One reading for both places that create the stage: local/aws/provision.py (moto, `make run` and the tests) and
infra/package.py (the template `make deploy` sends to CloudFormation). A state machine resource names its definition
file in `DefinitionS3Location` (the `aws cloudformation package` convention for a local file) and its non-function
placeholders in `DefinitionSubstitutions`; every `${<Name>FunctionArn}` placeholder of the file is the ARN of the
app's function whose CloudFormation name is `<Name>` (chalice's `to_cfn_resource_name`: `order_compensate` ->
`OrderCompensate`), whatever states the file has, and a placeholder named like one of the template's Outputs is that
Output's value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INFRA_DIR = Path(__file__).resolve().parent
TEMPLATE_PATH = INFRA_DIR / "template.yaml"
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")
FUNCTION_ARN_PLACEHOLDER = re.compile(r"^([A-Za-z0-9]+)FunctionArn$")
# Service integrations (`arn:aws:states:::lambda:invoke`) name the partition; China regions are `aws-cn`.
SERVICE_INTEGRATION = re.compile(r'"arn:aws:states:::')
PARTITION_SUBSTITUTION = "Partition"


class TemplateError(Exception):
    """The template or a state machine definition is not what the app needs."""


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template with its short-form intrinsics (`!Ref`, `!Sub`) as the long forms, in plain dicts and lists."""
    import yaml

    # libyaml's parser when PyYAML was built with it (a tenth of the pure-Python one's time), the same constructors
    safe_loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(safe_loader):  # type: ignore[valid-type,misc]
        """YAML with CloudFormation's tags: `!Ref x` -> {"Ref": x}, `!GetAtt a.b` -> {"Fn::GetAtt": [a, b]}."""

    def intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if tag_suffix == "Ref":
            return {"Ref": value}
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{tag_suffix}": value}

    _Loader.add_multi_constructor("!", intrinsic)
    try:
        template = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader + CFN tags
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: {error}") from error
    if not isinstance(template, dict) or "Resources" not in template:
        raise TemplateError(f"{path}: not a CloudFormation template")
    return template


def state_machines(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every state machine of the template."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == STATE_MACHINE_TYPE
    }


def definition_file(resource: Mapping[str, Any], base: Path = INFRA_DIR) -> Path:
    location = resource["Properties"].get("DefinitionS3Location")
    if not isinstance(location, str):
        raise TemplateError(
            "a state machine of infra/template.yaml must name its .asl.json file in DefinitionS3Location"
        )
    return base / location


def state_machine_env_key(definition: Path) -> str:
    """`order.asl.json` -> STATE_MACHINE_ORDER_ARN, the variable that tells the app a state machine's ARN."""
    stem = definition.name.removesuffix(".asl.json")
    return f"STATE_MACHINE_{re.sub(r'[^A-Za-z0-9]+', '_', stem).upper()}_ARN"


def partition_neutral(definition: str) -> str:
    """The definition with its service integrations' partition as the `${Partition}` substitution."""
    return SERVICE_INTEGRATION.sub('"arn:${' + PARTITION_SUBSTITUTION + "}:states:::", definition)


def placeholders(definition: str) -> set[str]:
    return set(PLACEHOLDER.findall(definition))


def function_placeholders(definition: str) -> dict[str, str]:
    """Placeholder -> the CloudFormation name of the function it stands for, for every `${XxxFunctionArn}`."""
    found = (FUNCTION_ARN_PLACEHOLDER.match(name) for name in sorted(placeholders(definition)))
    return {match.group(0): match.group(1) for match in found if match}


def substitute(definition: str, substitutions: Mapping[str, str], *, source: str = "definition") -> str:
    """Apply DefinitionSubstitutions as Step Functions does; every placeholder must have a value."""
    missing = sorted(name for name in placeholders(definition) if name not in substitutions)
    if missing:
        raise TemplateError(f"{source}: no value for {', '.join('${' + name + '}' for name in missing)}")
    return PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], definition)


def without_state_machines(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template moto's CloudFormation can create: its state machines are created through the Step Functions API
    instead (moto's CloudFormation ignores DefinitionSubstitutions and keeps its machines where executions cannot
    see them), and so is anything that refers to them."""
    machines = set(state_machines(template))
    resources = {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if logical_id not in machines and not _refers_to(resource, machines)
    }
    return {**template, "Resources": resources}


def _refers_to(node: Any, logical_ids: set[str]) -> bool:
    if isinstance(node, dict):
        if node.get("Ref") in logical_ids:
            return True
        get_att = node.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and get_att[0] in logical_ids:
            return True
        return any(_refers_to(value, logical_ids) for value in node.values())
    if isinstance(node, list):
        return any(_refers_to(value, logical_ids) for value in node)
    return False
