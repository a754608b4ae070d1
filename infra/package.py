"""Builds what `make deploy` uploads for one stage, offline once its wheels are cached: the code package, the
recommendation layer and the one CloudFormation template (infra/template.yaml merged with `chalice package`).

    .venv/bin/python -m infra.package --stage dev            # -> build/dev/{deployment.zip, recommend-layer.zip,
                                                             #    template.json, manifest.json}

Why one merged template rather than `chalice deploy` on top of a stack: CloudFormation then creates everything in
dependency order (queues and the stream before their event source mappings, functions before the state machine that
calls them) and rolls a failed deploy back as a whole; the state machine can name the functions' ARNs; and the
artifacts go through S3, so no upload limit applies. docs/deploy.md tells the whole story.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as `python infra/package.py` as well as `python -m infra.package`
    sys.path.insert(0, str(REPO_ROOT))

from chalicelib.ops.reference import ASSETS  # noqa: E402
from infra import templates  # noqa: E402
from infra.lambda_deps import cache_dir, install_for_lambda, requirements_digest  # noqa: E402
from infra.stack_outputs import OUTPUT_ENV  # noqa: E402

BUILD_DIR = REPO_ROOT / "build"
CHALICE_DIR = REPO_ROOT / ".chalice"
GATEWAY_RESPONSES_PATH = REPO_ROOT / "infra" / "gateway_responses.json"
APP_REQUIREMENTS = REPO_ROOT / "requirements.txt"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
API_FUNCTION_ID = "APIHandler"
FUNCTION_ROLE_ID = "FunctionRole"
# The sharded refresh's steps (infra/statemachines/recommend_refresh.asl.json): they run the refresh's numpy code.
RECOMMEND_REFRESH_STEPS = tuple(
    f"recommend_refresh_{step}" for step in ("plan", "similar", "merge", "for_you", "reduce")
)
# Layers and the functions that use them: numpy/scipy (177 MB) go to the refresh's functions only.
# pyarrow (about 120 MB) goes to the lake's compaction only.
LAYERS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "RecommendLibsLayer": (
        REPO_ROOT / "requirements-recommend.txt",
        ("refresh_recommendations", "run_recommendation_refresh", *RECOMMEND_REFRESH_STEPS),
    ),
    "LakeLibsLayer": (REPO_ROOT / "requirements-lake.txt", ("compact_analytics_lake",)),
}
LAYER_KEY_PARAMETERS = {"RecommendLibsLayer": "RecommendLayerKey", "LakeLibsLayer": "LakeLayerKey"}
# The browser clients' origin on CloudFront (an Output of infra/clients.yaml), a parameter of the stage's stack.
CLIENTS_ORIGIN_PARAMETER = "ClientsOrigin"
LAYER_ARTIFACTS = {"RecommendLibsLayer": "recommend-layer.zip", "LakeLibsLayer": "lake-layer.zip"}
# Never shipped: tests of the libraries, type stubs, caches of the build machine.
LAYER_EXCLUDED_DIRS = {"tests", "test", "__pycache__"}
LAYER_EXCLUDED_SUFFIXES = (".pyi", ".pyc")
# Never read on Lambda, so never shipped in the code package: JavaScript source maps, and the Swagger UI files the
# API reference page (GET /docs) does not serve (chalicelib/ops/reference.py lists those it does): 10 of its 11.6 MB.
CODE_EXCLUDED_SUFFIXES = (".map",)
SWAGGER_UI_DIR = "swagger_ui_bundle/vendor/"
SWAGGER_UI_SERVED = frozenset(ASSETS)
# Part of the dependencies zip's cache key: a change to what is left out must not reuse an older zip.
CODE_FILTER_VERSION = "f1"
# A fixed timestamp makes a package's bytes, hence its S3 key, depend on its content only: an unchanged build is an
# unchanged stack, and a re-run deploy changes nothing.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
# Alarm thresholds: any error or throttle in 5 minutes; a stream consumer a minute behind.
ITERATOR_AGE_ALARM_MS = 60_000


class PackageError(Exception):
    """The artifacts could not be built, or would not deploy as they are."""


@dataclass
class Artifact:
    """One file the deploy uploads, and what Lambda's limits are checked against."""

    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    sha256: str

    def s3_key(self, stage: str) -> str:
        return f"shop-{stage}/{self.path.stem}-{self.sha256[:20]}{self.path.suffix}"


@dataclass
class Build:
    stage: str
    out_dir: Path
    template: dict[str, Any]
    functions: dict[str, dict[str, Any]]
    artifacts: dict[str, Artifact] = field(default_factory=dict)

    @property
    def template_path(self) -> Path:
        return self.out_dir / "template.json"


# ---------------------------------------------------------------- the app's functions, as chalice names them


FUNCTIONS_OF_THE_APP = """
import json
from app import app
from chalice.utils import to_cfn_resource_name
functions = {}
for kind, items in (("lambda_function", app.pure_lambda_functions), ("event_source", app.event_sources),
                    ("authorizer", app.builtin_auth_handlers)):
    for item in items:
        functions[to_cfn_resource_name(item.name)] = {"name": item.name, "kind": kind}
if app.routes:
    functions["APIHandler"] = {"name": "api_handler", "kind": "api"}
print(json.dumps(functions))
"""


def app_functions(project_dir: Path, environment: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """CloudFormation id -> {name, kind} for every function chalice deploys (the app imported with the stage's env)."""
    completed = subprocess.run(
        [sys.executable, "-c", FUNCTIONS_OF_THE_APP],
        cwd=project_dir,
        env={**environment, "PYTHONPATH": str(project_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise PackageError(f"importing the app failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- chalice package


def stage_environment(stage: str) -> dict[str, str]:
    """The environment chalice imports the app in: the stage, and stand-in stream ARNs (on_dynamodb_record reads them
    at import; the template replaces each with its table's real stream)."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("AWS_ENDPOINT_URL", "SHOP_"))},
        "SHOP_STAGE": stage,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "CATALOG_STREAM_ARN": stream_placeholder(stage),
        "ORDERS_STREAM_ARN": stream_placeholder(stage, "orders"),
    }


def stream_placeholder(stage: str, table: str = "catalog") -> str:
    return f"arn:aws:dynamodb:us-east-1:000000000000:table/shop-{stage}-{table}/stream/resolved-by-the-template"


def stage_project(project_dir: Path, requirements: str = "") -> Path:
    """A copy of the app, its Chalice config and policies to package: no dependencies (they are added from the
    Lambda wheel cache afterwards), no bytecode of this machine."""
    shutil.rmtree(project_dir, ignore_errors=True)
    project_dir.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "app.py", project_dir / "app.py")
    shutil.copytree(REPO_ROOT / "chalicelib", project_dir / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    (project_dir / ".chalice").mkdir()
    for path in CHALICE_DIR.glob("*.json"):
        shutil.copy2(path, project_dir / ".chalice" / path.name)
    (project_dir / "requirements.txt").write_text(requirements, encoding="utf-8")
    return project_dir


def chalice_package(project_dir: Path, out_dir: Path, stage: str) -> dict[str, Any]:
    """Run `chalice package --stage <stage>`; its SAM template (its deployment.zip lands beside it)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice) if chalice.exists() else "chalice", "package", "--stage", stage, str(out_dir)]
    completed = subprocess.run(
        command, cwd=project_dir, env=stage_environment(stage), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise PackageError(f"chalice package failed:\n{(completed.stdout + completed.stderr)[-3000:]}")
    return json.loads((out_dir / "sam.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- zips


def _add_entries(archive: zipfile.ZipFile, files: Iterable[tuple[str, Path | bytes]]) -> None:
    """Sorted names, one timestamp, readable by everyone (Lambda runs the code as another user)."""
    for name, content in sorted(files, key=lambda item: item[0]):
        info = zipfile.ZipInfo(name, ZIP_DATE)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, content if isinstance(content, bytes) else content.read_bytes(), compresslevel=6)


def _write_zip(destination: Path, files: Iterable[tuple[str, Path | bytes]]) -> None:
    """A deterministic zip: its bytes depend on the files' names and contents only."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_entries(archive, files)


def _tree_files(root: Path, prefix: str = "", *, for_layer: bool = False) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.name == ".complete":
            continue
        if for_layer and (
            LAYER_EXCLUDED_DIRS.intersection(relative.parts[:-1]) or path.name.endswith(LAYER_EXCLUDED_SUFFIXES)
        ):
            continue
        if not for_layer and not shipped_in_code(relative.as_posix()):
            continue
        files.append((prefix + relative.as_posix(), path))
    return files


def shipped_in_code(name: str) -> bool:
    """Whether a dependency's file (its path in site-packages) goes into the code package."""
    if name.endswith(CODE_EXCLUDED_SUFFIXES):
        return False
    if name.startswith(SWAGGER_UI_DIR) and "/" in name[len(SWAGGER_UI_DIR) :]:
        return name.rsplit("/", 1)[1] in SWAGGER_UI_SERVED
    return True


def _with_bytecode(files: dict[str, Path | bytes], work_dir: Path) -> dict[str, Path | bytes]:
    """The files and, for each Python module, its bytecode: the package directory is read-only on Lambda, so
    without shipped bytecode every cold start compiles every module it imports. Unchecked-hash pycs are used
    whatever the files' times are after unzipping."""
    shutil.rmtree(work_dir, ignore_errors=True)
    compiled: dict[str, Path | bytes] = {}
    tag = sys.implementation.cache_tag
    for name, content in files.items():
        if not name.endswith(".py"):
            continue
        source_path = work_dir / name
        source_path.parent.mkdir(parents=True, exist_ok=True)
        source_path.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
        target = work_dir / "__compiled__.pyc"
        try:
            py_compile.compile(
                str(source_path),
                cfile=str(target),
                dfile=name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError:
            continue  # not Python 3.11 (a template, a py2 leftover): shipped as source only
        directory, _, filename = name.rpartition("/")
        cached_name = f"__pycache__/{filename[:-3]}.{tag}.pyc"
        compiled[f"{directory}/{cached_name}" if directory else cached_name] = target.read_bytes()
    shutil.rmtree(work_dir, ignore_errors=True)
    return {**files, **compiled}


def dependencies_zip(dependencies: Path, work_dir: Path) -> Path:
    """The dependencies with their bytecode, zipped once per requirements hash (the tree's name carries it)."""
    cached = cache_dir() / "code" / f"{dependencies.name}-{sys.implementation.cache_tag}-{CODE_FILTER_VERSION}.zip"
    if not cached.exists():
        partial = cached.with_suffix(".partial")
        _write_zip(partial, _with_bytecode(dict(_tree_files(dependencies)), work_dir).items())
        partial.rename(cached)
    return cached


def code_package(chalice_zip: Path, dependencies: Path, destination: Path, work_dir: Path) -> None:
    """The dependencies and chalice's package (the app, chalicelib, chalice's runtime), with bytecode."""
    if sys.version_info[:2] != (3, 11):
        raise PackageError("package with Python 3.11, the Lambda runtime's version (bytecode must match it)")
    shutil.copyfile(dependencies_zip(dependencies, work_dir), destination)
    app_files: dict[str, Path | bytes] = {}
    with zipfile.ZipFile(chalice_zip) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                app_files[info.filename] = archive.read(info)
    with zipfile.ZipFile(destination, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        taken = set(archive.namelist())
        clashes = sorted(taken.intersection(app_files))
        if clashes:
            raise PackageError(f"the app and its dependencies both ship {clashes[:5]}")
        _add_entries(archive, _with_bytecode(app_files, work_dir).items())


def layer_package(dependencies: Path, destination: Path) -> None:
    """A Lambda layer: the libraries under `python/` (on the runtime's path as /opt/python)."""
    _write_zip(destination, _tree_files(dependencies, "python/", for_layer=True))


def measure_file(path: Path) -> Artifact:
    """A file uploaded as it is (the template)."""
    data = path.read_bytes()
    return Artifact(path, len(data), len(data), hashlib.sha256(data).hexdigest())


def measure(path: Path) -> Artifact:
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return Artifact(path, path.stat().st_size, unzipped, hashlib.sha256(path.read_bytes()).hexdigest())


# ---------------------------------------------------------------- the template


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def with_partition(node: Any) -> Any:
    """Policy ARNs written `arn:${AWS::Partition}:...` in .chalice/policy-*.json become `Fn::Sub`s."""
    if isinstance(node, str) and "${AWS::" in node:
        return _sub(node)
    if isinstance(node, list):
        return [with_partition(item) for item in node]
    if isinstance(node, dict):
        return {key: with_partition(value) for key, value in node.items()}
    return node


def _physical_name(properties: Mapping[str, Any], key: str, stage: str) -> str | None:
    value = properties.get(key)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"]).replace("${Stage}", stage)
    return value if isinstance(value, str) else None


def _resources_named(template: Mapping[str, Any], resource_type: str, key: str, stage: str) -> dict[str, str]:
    """Physical name -> logical id of the template's resources of one type."""
    names = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == resource_type:
            name = _physical_name(resource.get("Properties", {}), key, stage)
            if name:
                names[name] = logical_id
    return names


def gateway_responses_extension(allowed_origins: Iterable[str], clients_origin: bool = False) -> dict[str, Any]:
    """`x-amazon-apigateway-gateway-responses`: API Gateway's own answers in the error contract, with CORS headers.

    With `clients_origin` the list also holds the clients' origin, a template parameter: API Gateway cannot compare
    with it, so these answers echo the caller's Origin, as `gateway_response_headers` does for any list but one."""
    from chalicelib.cors import EXPOSED_HEADERS, gateway_response_headers

    responses = json.loads(GATEWAY_RESPONSES_PATH.read_text(encoding="utf-8"))["responses"]
    cors = gateway_response_headers(allowed_origins)
    if clients_origin:
        cors = {
            "Access-Control-Allow-Origin": "method.request.header.Origin",
            "Access-Control-Expose-Headers": f"'{', '.join(EXPOSED_HEADERS)}'",
            "Vary": "'Origin'",
        }
    headers = {f"gatewayresponse.header.{name}": value for name, value in cors.items()}
    extension = {}
    for response_type, spec in responses.items():
        body = {"code": spec["code"], "message": spec["message"], "request_id": "$context.requestId"}
        entry: dict[str, Any] = {"responseTemplates": {"application/json": json.dumps(body, ensure_ascii=False)}}
        if spec.get("status") is not None:
            entry["statusCode"] = spec["status"]
        # The same id as the body's request_id, as every answer of the app carries it.
        entry["responseParameters"] = {"gatewayresponse.header.X-Request-Id": "context.requestId", **headers}
        extension[response_type] = entry
    return extension


def _any_method(function_id: str) -> dict[str, Any]:
    """Every other method of a path (preflights, TRACE, ...) to the API function, unauthorized: it answers OPTIONS
    and 405s itself. Without it API Gateway answers them 403 "Missing Authentication Token" (our 404)."""
    uri = _sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${" + function_id + ".Arn}/invocations"
    )
    return {
        "consumes": ["application/json", "*/*"],
        "produces": ["application/json"],
        "responses": {"200": {"description": "200 response"}},
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": uri,
            "passthroughBehavior": "when_no_match",
            "contentHandling": "CONVERT_TO_TEXT",
        },
    }


def _alarm(
    name: str, description: str, namespace: str, metric: str, dimensions: dict[str, Any], **options: Any
) -> dict:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": _sub(f"shop-${{Stage}}-{name}"),
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            "Statistic": options.get("statistic", "Sum"),
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": options.get("threshold", 0),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AdminAlertsTopic"}],
            "OKActions": [{"Ref": "AdminAlertsTopic"}],
        },
    }


def compose_template(
    stage: str,
    sam: Mapping[str, Any],
    infra: Mapping[str, Any],
    functions: Mapping[str, Mapping[str, Any]],
    allowed_origins: Iterable[str] = (),
    clients_origin: bool = False,
) -> dict[str, Any]:
    """The one template of a stage: infra/template.yaml's resources, chalice's functions and REST API wired to them,
    the order state machine inlined, alarms for every function, artifacts read from S3 (template parameters).

    `clients_origin`: the template takes a `ClientsOrigin` parameter (the origin of the stage's browser clients on
    CloudFront, infra/clients.yaml) that the API allows besides `allowed_origins`."""
    infra = copy.deepcopy(dict(infra))
    sam = copy.deepcopy(dict(sam))
    stream_policy = dict((infra.get("Metadata") or {}).get("StreamConsumers") or {})
    infra.pop("Metadata", None)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": sam["Transform"],
        "Description": f"shop, stage {stage}: built by infra/package.py from infra/template.yaml and chalice.",
        "Parameters": infra.get("Parameters", {}),
        "Conditions": infra.get("Conditions", {}),
        "Resources": {**infra["Resources"]},
        "Outputs": {**infra.get("Outputs", {}), **sam.get("Outputs", {})},
    }
    template["Parameters"]["Stage"] = {**template["Parameters"]["Stage"], "AllowedValues": [stage], "Default": stage}
    template["Parameters"]["ArtifactsBucket"] = {"Type": "String", "Description": "The bucket holding the packages"}
    template["Parameters"]["CodeKey"] = {"Type": "String", "Description": "S3 key of deployment.zip"}
    for layer_id in LAYERS:
        template["Parameters"][LAYER_KEY_PARAMETERS[layer_id]] = {"Type": "String", "Description": f"{layer_id} zip"}
    if clients_origin:
        template["Parameters"][CLIENTS_ORIGIN_PARAMETER] = {
            "Type": "String",
            "Default": "",
            "AllowedPattern": r"^(https://[A-Za-z0-9.-]+)?$",
            "Description": "The browser clients' origin (shop-<stage>-clients' ClientsOrigin), allowed by CORS",
        }
    resources = template["Resources"]

    queues = _resources_named(template, "AWS::SQS::Queue", "QueueName", stage)
    tables = _resources_named(template, "AWS::DynamoDB::Table", "TableName", stage)
    stack_environment = {
        env: infra["Outputs"][key]["Value"] for key, env in OUTPUT_ENV.items() if key in infra["Outputs"]
    }
    for resource in templates.state_machines(infra).values():
        definition = templates.definition_file(resource)
        name = resource["Properties"]["StateMachineName"]
        if not (isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str)):
            raise PackageError("a state machine needs a StateMachineName of the form !Sub shop-${Stage}-...")
        arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + name["Fn::Sub"]
        stack_environment[templates.state_machine_env_key(definition)] = _sub(arn)

    roles = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            roles[logical_id] = resource
            continue
        resources[logical_id] = resource
    if roles:
        # Chalice gives every function a role of its own, all with the stage's policy file: one role stands for them.
        for role in roles.values():
            for policy in role["Properties"].get("Policies", []):
                policy["PolicyName"] = "shop-functions"
        first = next(iter(roles.values()))
        if any(role != first for role in roles.values()):
            raise PackageError("chalice generated different roles; one FunctionRole cannot stand for them")
        resources[FUNCTION_ROLE_ID] = with_partition(first)

    layer_users: dict[str, str] = {}
    for layer_id, (_, users) in LAYERS.items():
        resources[layer_id] = {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {
                "LayerName": _sub(f"shop-${{Stage}}-{layer_id}"),
                "Description": "numpy and scipy for the recommendation refresh",
                "CompatibleRuntimes": ["python3.11"],
                "Content": {"S3Bucket": {"Ref": "ArtifactsBucket"}, "S3Key": {"Ref": LAYER_KEY_PARAMETERS[layer_id]}},
            },
        }
        layer_users.update({user: layer_id for user in users})

    for logical_id, resource in list(resources.items()):
        if resource["Type"] != SERVERLESS_FUNCTION:
            continue
        known = functions.get(logical_id)
        if known is None:
            raise PackageError(f"chalice generated function {logical_id}, which the app does not declare")
        name, kind = known["name"], known["kind"]
        properties = resource["Properties"]
        properties["FunctionName"] = _sub("shop-${Stage}" if kind == "api" else f"shop-${{Stage}}-{name}")
        properties["CodeUri"] = {"Bucket": {"Ref": "ArtifactsBucket"}, "Key": {"Ref": "CodeKey"}}
        if kind in ("lambda_function", "event_source", "authorizer"):
            # through the app, so its middleware wraps the handler and its container hands it what it uses (app.py)
            properties["Handler"] = f"app.{name}"
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(stack_environment)
        if clients_origin:
            variables["CORS_ALLOWED_ORIGINS"] = _with_clients_origin(variables.get("CORS_ALLOWED_ORIGINS"))
        if roles:
            properties["Role"] = _get_att(FUNCTION_ROLE_ID, "Arn")
        if name in layer_users:
            properties["Layers"] = [{"Ref": layer_users.pop(name)}]
        for event in (properties.get("Events") or {}).values():
            _wire_event_source(event, stage, queues, tables, stream_policy, logical_id)
        log_group = f"{logical_id}LogGroup" if f"{logical_id}LogGroup" in resources else None
        if log_group is None and kind == "api" and "ApiHandlerLogGroup" in resources:
            log_group = "ApiHandlerLogGroup"  # chalice names the API's log group after a resource that does not exist
        if log_group is not None:
            resources[log_group]["Properties"]["LogGroupName"] = _sub("/aws/lambda/${" + logical_id + "}")
        label = "api" if kind == "api" else name.replace("_", "-")
        function_ref = {"Ref": logical_id}
        resources[f"{logical_id}ErrorsAlarm"] = _alarm(
            f"{label}-errors", f"{name} failed (an error or a timeout).", "AWS/Lambda", "Errors",
            {"FunctionName": function_ref},
        )  # fmt: skip
        resources[f"{logical_id}ThrottlesAlarm"] = _alarm(
            f"{label}-throttles", f"{name} was throttled: the account's or its concurrency limit was reached.",
            "AWS/Lambda", "Throttles", {"FunctionName": function_ref},
        )  # fmt: skip
        if any((event.get("Type") == "DynamoDB") for event in (properties.get("Events") or {}).values()):
            resources[f"{logical_id}IteratorAgeAlarm"] = _alarm(
                f"{label}-stream-behind", f"{name} is more than a minute behind its stream.", "AWS/Lambda",
                "IteratorAge", {"FunctionName": function_ref}, statistic="Maximum", threshold=ITERATOR_AGE_ALARM_MS,
            )  # fmt: skip
    if layer_users:
        raise PackageError(f"no function {', '.join(layer_users)} to give its layer")
    for role_id in roles:
        resources.pop(role_id, None)

    api = resources.get("RestAPI")
    if api is not None:
        properties = api["Properties"]
        properties["Name"] = _sub("shop-${Stage}")
        body = properties["DefinitionBody"]
        for methods in body["paths"].values():
            methods.setdefault("x-amazon-apigateway-any-method", _any_method(API_FUNCTION_ID))
        body["x-amazon-apigateway-gateway-responses"] = gateway_responses_extension(allowed_origins, clients_origin)
        resources["RestApi5xxAlarm"] = _alarm(
            "api-5xx", "The REST API answered 5xx (a function failed, timed out or was throttled).", "AWS/ApiGateway",
            "5XXError", {"ApiName": _sub("shop-${Stage}"), "Stage": properties.get("StageName", "api")},
        )  # fmt: skip

    for logical_id, resource in templates.state_machines(infra).items():
        resources[logical_id] = inline_state_machine(resource, template)
    return template


def _with_clients_origin(configured: Any) -> dict[str, Any]:
    """CORS_ALLOWED_ORIGINS of a function: the stage's list (.chalice/config.json) and the clients' origin parameter
    (empty entries are ignored by chalicelib/cors.py, so an unset parameter adds nothing)."""
    configured_list = configured if isinstance(configured, str) else ""
    return {"Fn::Join": [",", [configured_list, {"Ref": CLIENTS_ORIGIN_PARAMETER}]]}


def _wire_event_source(
    event: dict[str, Any],
    stage: str,
    queues: Mapping[str, str],
    tables: Mapping[str, str],
    stream_policy: Mapping[str, Any],
    function_id: str,
) -> None:
    """Event sources read the template's own queues and stream (so CloudFormation creates those first)."""
    properties = event["Properties"]
    if event["Type"] == "SQS":
        queue_arn = properties["Queue"]
        queue_name = (queue_arn.get("Fn::Sub") if isinstance(queue_arn, dict) else queue_arn).rsplit(":", 1)[-1]
        if queue_name not in queues:
            raise PackageError(f"{function_id} consumes queue {queue_name}, which infra/template.yaml does not create")
        properties["Queue"] = _get_att(queues[queue_name], "Arn")
        # Handlers may answer {"batchItemFailures": [...]} to keep only those messages (local/aws/sqs_poller.py too).
        properties["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    elif event["Type"] == "DynamoDB":
        match = re.search(r":table/([^/]+)/stream/", str(properties["Stream"]))
        if match is None or match.group(1) not in tables:
            raise PackageError(f"{function_id} reads a stream of a table infra/template.yaml does not create")
        properties["Stream"] = _get_att(tables[match.group(1)], "StreamArn")
        properties["BisectBatchOnFunctionError"] = bool(stream_policy["BisectBatchOnFunctionError"])
        properties["MaximumRetryAttempts"] = int(stream_policy["MaximumRetryAttempts"])
        properties["MaximumRecordAgeInSeconds"] = int(stream_policy["MaximumRecordAgeInSeconds"])
        failures = _get_att(str(stream_policy["OnFailureQueue"]), "Arn")
        properties["DestinationConfig"] = {"OnFailure": {"Type": "SQS", "Destination": failures}}


def inline_state_machine(resource: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """The state machine with its definition file inline: `${<Function>FunctionArn}` -> that function's ARN, the
    service integrations' partition -> the stack's, every other placeholder from its DefinitionSubstitutions."""
    resource = copy.deepcopy(dict(resource))
    resource.pop("Metadata", None)  # the lint exception for the local file name
    properties = resource["Properties"]
    path = templates.definition_file(resource)
    text = templates.partition_neutral(path.read_text(encoding="utf-8"))
    substitutions = dict(properties.get("DefinitionSubstitutions") or {})
    substitutions[templates.PARTITION_SUBSTITUTION] = {"Ref": "AWS::Partition"}
    for placeholder, function_id in templates.function_placeholders(text).items():
        if template["Resources"].get(function_id, {}).get("Type") != SERVERLESS_FUNCTION:
            raise PackageError(f"{path.name}: ${{{placeholder}}} names no function of the app ({function_id})")
        substitutions[placeholder] = _get_att(function_id, "Arn")
    for placeholder in sorted(templates.placeholders(text) - set(substitutions)):
        if placeholder in template.get("Outputs", {}):  # an Output of the template stands for itself
            substitutions[placeholder] = template["Outputs"][placeholder]["Value"]
    missing = sorted(templates.placeholders(text) - set(substitutions))
    if missing:
        raise PackageError(f"{path.name}: no DefinitionSubstitutions for {', '.join(missing)}")
    json.loads(text)  # a broken file fails the build, with its name
    properties.pop("DefinitionS3Location")
    properties.pop("DefinitionSubstitutions", None)
    # One Fn::Sub rather than Definition + DefinitionSubstitutions: the partition of the service integrations comes
    # from the stack (cfn-lint's definition check only knows `arn:aws:`, and would refuse any other partition).
    sub_text = text.replace("${" + templates.PARTITION_SUBSTITUTION + "}", "${AWS::Partition}")
    variables = {key: value for key, value in substitutions.items() if key != templates.PARTITION_SUBSTITUTION}
    properties["DefinitionString"] = {"Fn::Sub": [sub_text, dict(sorted(variables.items()))]}
    return resource


# ---------------------------------------------------------------- the build


def chalice_stage_config(stage: str) -> dict[str, Any]:
    config = json.loads((CHALICE_DIR / "config.json").read_text(encoding="utf-8"))
    if stage not in config.get("stages", {}):
        raise PackageError(f".chalice/config.json has no stage {stage}")
    return config


def allowed_origins_of(stage: str) -> tuple[str, ...]:
    from chalicelib.cors import parse_origins

    variables = chalice_stage_config(stage)["stages"][stage].get("environment_variables", {})
    return parse_origins(variables.get("CORS_ALLOWED_ORIGINS"), stage)


def build(stage: str, out_dir: Path | None = None, *, with_dependencies: bool = True, log: Any = print) -> Build:
    """Everything `make deploy` uploads for `stage`, in `out_dir` (build/<stage>)."""
    chalice_stage_config(stage)
    out_dir = out_dir or BUILD_DIR / stage
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = out_dir.relative_to(REPO_ROOT) if out_dir.is_relative_to(REPO_ROOT) else out_dir
    log(f"Packaging stage {stage} into {shown}")
    project = stage_project(out_dir / "project")
    sam = chalice_package(project, out_dir / "chalice", stage)
    functions = app_functions(project, stage_environment(stage))
    template = compose_template(
        stage, sam, templates.load_template(), functions, allowed_origins_of(stage), clients_origin=True
    )
    result = Build(stage, out_dir, template, functions)
    result.template_path.write_text(json.dumps(template, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if with_dependencies:
        log("  dependencies of every function (requirements.txt) ...")
        code = out_dir / "deployment.zip"
        code_package(
            out_dir / "chalice" / "deployment.zip", install_for_lambda(APP_REQUIREMENTS), code, out_dir / "pyc"
        )
        result.artifacts["deployment.zip"] = measure(code)
        for layer_id, (requirements, _) in LAYERS.items():
            log(f"  layer {layer_id} ({requirements.name}) ...")
            layer = out_dir / LAYER_ARTIFACTS[layer_id]
            cached = cache_dir() / "layers" / f"{layer_id}-{requirements_digest(requirements)}.zip"
            if not cached.exists():  # zipping 150 MB takes a while; its bytes depend on the requirements only
                layer_package(install_for_lambda(requirements), cached.with_suffix(".partial"))
                cached.with_suffix(".partial").rename(cached)
            shutil.copyfile(cached, layer)
            result.artifacts[layer.name] = measure(layer)
    write_manifest(result)
    shutil.rmtree(project, ignore_errors=True)
    return result


def write_manifest(result: Build) -> None:
    manifest = {
        "stage": result.stage,
        "template": result.template_path.name,
        "artifacts": {
            name: {
                "zipped_bytes": artifact.zipped_bytes,
                "unzipped_bytes": artifact.unzipped_bytes,
                "sha256": artifact.sha256,
                "s3_key": artifact.s3_key(result.stage),
            }
            for name, artifact in result.artifacts.items()
        },
        "functions": result.functions,
    }
    (result.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--out", type=Path, help="output directory (default build/<stage>)")
    arguments = parser.parse_args(argv)
    try:
        result = build(arguments.stage, arguments.out)
    except PackageError as error:
        print(f"Packaging failed: {error}", file=sys.stderr)
        return 1
    for name, artifact in result.artifacts.items():
        print(f"  {name:<22} {artifact.zipped_bytes:>12,} B zipped  {artifact.unzipped_bytes:>12,} B unzipped")
    print(f"  {result.template_path.name:<22} {result.template_path.stat().st_size:>12,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
