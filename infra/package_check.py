"""`make package-check`: build a stage's artifacts as `make deploy` would, and fail on anything that would make the
deploy fail or the deployed functions break, without AWS:

- every function's code and layers fit Lambda's limits, and the artifacts go through S3;
- every pin of requirements.txt is in the code package, every pin of requirements-recommend.txt in the layer, and
  numpy/scipy in nothing but the layer;
- every function's handler imports from its artifacts alone (no dev venv: `python -S`), with the function's
  deployed environment and tracing on, and `GET /health` and the API reference's script answer 200 through the API
  handler;
- the order state machine is in the template, every task resolved to a function of the app, its ARN in every
  function's environment;
- the AWS::Serverless transform (the translator CloudFormation runs) accepts the template, within a stack's 500
  resources, and cfn-lint passes on every template the deploy sends (the stage's template, as sent and as
  expanded, and infra/artifacts.yaml).

    .venv/bin/python -m infra.package_check --stage dev
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from infra import package, templates  # noqa: E402

# Lambda's quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
INLINE_ZIP_LIMIT = 50 * 1024 * 1024  # a package uploaded with the API call itself
UNZIPPED_LIMIT = 250 * 1000 * 1000  # function + layers; Lambda's is 262,144,000 B (250 MiB): this keeps a margin
MAX_LAYERS = 5
TEMPLATE_URL_LIMIT = 1024 * 1024  # a template read from S3
ARTIFACTS_TEMPLATE = REPO_ROOT / "infra" / "artifacts.yaml"
CLIENTS_TEMPLATE = REPO_ROOT / "infra" / "clients.yaml"
RECOMMEND_ONLY = ("numpy", "scipy", "pyarrow", "duckdb")  # layer-only (or dev-only) libraries
FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class CheckFailed(Exception):
    """What would break the deploy or the deployed functions."""


# ---------------------------------------------------------------- sizes and pins


def serverless_functions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == package.SERVERLESS_FUNCTION
    }


def function_layers(properties: Mapping[str, Any]) -> list[str]:
    return [layer["Ref"] for layer in properties.get("Layers", []) if isinstance(layer, dict) and "Ref" in layer]


def layer_artifact(layer_id: str) -> str:
    return package.LAYER_ARTIFACTS.get(layer_id, f"{layer_id}.zip")


def check_sizes(build: package.Build) -> list[str]:
    """One line per function: its code plus layers, unzipped, against the limit."""
    template = build.template
    lines = []
    for name, artifact in build.artifacts.items():
        if artifact.zipped_bytes > INLINE_ZIP_LIMIT:
            lines.append(f"{name} is over the inline limit: it must go (and goes) through S3")
    code = build.artifacts["deployment.zip"]
    for logical_id, properties in serverless_functions(template).items():
        if properties["CodeUri"] != {"Bucket": {"Ref": "ArtifactsBucket"}, "Key": {"Ref": "CodeKey"}}:
            raise CheckFailed(f"{logical_id} does not read its code from the artifacts bucket")
        layers = function_layers(properties)
        if len(layers) > MAX_LAYERS:
            raise CheckFailed(f"{logical_id} has {len(layers)} layers; Lambda allows {MAX_LAYERS}")
        total = code.unzipped_bytes + sum(build.artifacts[layer_artifact(layer)].unzipped_bytes for layer in layers)
        if total > UNZIPPED_LIMIT:
            raise CheckFailed(f"{logical_id}: {total:,} B unzipped with its layers, over {UNZIPPED_LIMIT:,} B")
        if layers:
            lines.append(f"{logical_id}: {total:,} B unzipped with {', '.join(layers)} (limit {UNZIPPED_LIMIT:,} B)")
    size = build.template_path.stat().st_size
    if size > TEMPLATE_URL_LIMIT:
        raise CheckFailed(f"template.json is {size:,} B; CloudFormation reads at most {TEMPLATE_URL_LIMIT:,} B from S3")
    return lines


def pins(requirements: Path) -> dict[str, str]:
    """Normalised name -> version of every `name==version` line."""
    found = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[_normalise(match.group(1))] = match.group(2)
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(archive: Path, prefix: str = "") -> dict[str, str]:
    """Normalised name -> version of every *.dist-info in a zip (under `prefix`)."""
    found = {}
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            match = re.match(re.escape(prefix) + r"([^/]+)-([^/-]+)\.dist-info/METADATA$", name)
            if match:
                found[_normalise(match.group(1))] = match.group(2)
    return found


def check_pins(build: package.Build) -> None:
    code = distributions(build.artifacts["deployment.zip"].path)
    for name, version in pins(package.APP_REQUIREMENTS).items():
        if code.get(name) != version:
            raise CheckFailed(f"requirements.txt pins {name}=={version}; deployment.zip has {code.get(name)}")
    for name in RECOMMEND_ONLY:
        if name in code:
            raise CheckFailed(f"{name} is in deployment.zip: every function would carry it")
    for layer_id, (requirements, _) in package.LAYERS.items():
        layer = distributions(build.artifacts[layer_artifact(layer_id)].path, "python/")
        for name, version in pins(requirements).items():
            if layer.get(name) != version:
                raise CheckFailed(f"{requirements.name} pins {name}=={version}; the layer has {layer.get(name)}")


# ---------------------------------------------------------------- the handlers, from the artifacts alone


def resolve_for_check(value: Any, stage: str) -> str:
    """A deployed environment value with CloudFormation's intrinsics replaced by plausible stand-ins."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        pseudo = {"AWS::Partition": "aws", "AWS::Region": FAKE_REGION, "AWS::AccountId": FAKE_ACCOUNT, "Stage": stage}
        return templates.PLACEHOLDER.sub(lambda match: pseudo.get(match.group(1), "x"), text)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve_for_check(part, stage) for part in parts)
    if isinstance(value, dict) and value.get("Ref") == package.CLIENTS_ORIGIN_PARAMETER:
        return "https://d111111abcdef8.cloudfront.net"
    if isinstance(value, dict) and "Ref" in value:
        return f"shop-{stage}-{value['Ref']}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"arn:aws:stand-in:{FAKE_REGION}:{FAKE_ACCOUNT}:{'/'.join(value['Fn::GetAtt'])}"
    raise CheckFailed(f"cannot stand in for {value!r}")


def lambda_environment(properties: Mapping[str, Any], logical_id: str, stage: str, task_root: Path) -> dict[str, str]:
    """What Lambda gives the function: its variables, the runtime's own, tracing on; nothing of this machine's."""
    variables = {
        key: resolve_for_check(value, stage)
        for key, value in (properties.get("Environment") or {}).get("Variables", {}).items()
    }
    name = resolve_for_check(properties["FunctionName"], stage)
    environment = {
        **variables,
        "PATH": "/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": FAKE_REGION,
        "AWS_DEFAULT_REGION": FAKE_REGION,
        "AWS_ACCESS_KEY_ID": "ASIASTANDIN",
        "AWS_SECRET_ACCESS_KEY": "stand-in",
        "AWS_SESSION_TOKEN": "stand-in",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": properties["Handler"],
        # No network: whatever a handler would send at import or on /health goes to a closed port.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    if properties.get("Tracing") == "Active":
        environment.update(
            _X_AMZN_TRACE_ID=TRACE_HEADER,
            AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
            AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        )
    return environment


IMPORT_AND_CALL = """
import importlib, json, sys
sys.path[:0] = {paths!r}
result = {{"handlers": []}}
for handler_string in {handlers!r}:
    module_name, _, attribute = handler_string.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    assert callable(handler), handler_string
    result["handlers"].append(handler_string)
result["heavy_at_import"] = sorted(name for name in ("numpy", "scipy") if name in sys.modules)
if {call_health}:
    class Context:
        function_name = "shop"; memory_limit_in_mb = 1024; aws_request_id = "req-package-check"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:shop"
        def get_remaining_time_in_millis(self): return 29000
    def call(resource, path, parameters=None):
        event = {{"resource": resource, "path": path, "httpMethod": "GET", "headers": {{"Accept": "*/*"}},
                 "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
                 "pathParameters": parameters, "stageVariables": None, "body": None, "isBase64Encoded": False,
                 "requestContext": {{"resourcePath": resource, "httpMethod": "GET", "path": "/api" + path,
                                    "requestId": "req-package-check", "stage": "api",
                                    "identity": {{"sourceIp": "127.0.0.1"}}}}}}
        return handler(event, Context())
    answer = call("/health", "/health")
    result["health"] = {{"status": answer["statusCode"], "body": json.loads(answer["body"])}}
    script = call("/docs/{{asset}}", "/docs/swagger-ui-bundle.js", {{"asset": "swagger-ui-bundle.js"}})
    result["docs"] = {{"status": script["statusCode"], "bytes": len(script["body"])}}
    result["tracing"] = "aws_xray_sdk" in sys.modules
    import os, tempfile
    from chalicelib.search.building import build_index
    from chalicelib.search.documents import ProductDoc
    from chalicelib.search.engine import SearchIndex, SearchQuery
    from chalicelib.search.sqlite import SQLITE_VERSION
    index_path = os.path.join(tempfile.mkdtemp(), "search.sqlite")
    build_index([ProductDoc("p_1", "华为 Mate 60 手机", "", "", "b_1", "华为", "c_2", ("c_1", "c_2"), ("数码", "手机"),
                            "颜色 黑", 599900, 3, 4.5, 2, 10, "2026-01-01T00:00:00Z", True, True, None)], index_path)
    found = SearchIndex(index_path).search(SearchQuery(text="手机"))
    result["search"] = {{"sqlite": SQLITE_VERSION, "total": found["total"]}}
print("RESULT " + json.dumps(result))
"""
# Set per function by Lambda; everything else of a function's environment decides what its import sees.
PER_FUNCTION_VARIABLES = {"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER"}


def unpack(archive: Path, destination: Path) -> Path:
    shutil.rmtree(destination, ignore_errors=True)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(destination)
    return destination


def check_handlers(build: package.Build) -> list[str]:
    """Import every function's handler from the artifacts alone, as Lambda would: functions whose handler module,
    layers and environment are the same share one interpreter (so do the non-HTTP functions, all `app.<name>`), the
    API handler gets its own and answers GET /health with tracing on."""
    work = build.out_dir / "check"
    task_root = unpack(build.artifacts["deployment.zip"].path, work / "task")
    layer_roots = {
        layer_id: unpack(build.artifacts[layer_artifact(layer_id)].path, work / layer_id) / "python"
        for layer_id in package.LAYERS
    }
    groups: dict[tuple[Any, ...], list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, properties in sorted(serverless_functions(build.template).items()):
        environment = lambda_environment(properties, logical_id, build.stage, task_root)
        shared = frozenset((k, v) for k, v in environment.items() if k not in PER_FUNCTION_VARIABLES)
        module = properties["Handler"].rpartition(".")[0]
        key = (logical_id == package.API_FUNCTION_ID, module, tuple(function_layers(properties)), shared)
        groups.setdefault(key, []).append((logical_id, properties))

    def run(members: list[tuple[str, dict[str, Any]]]) -> str:
        first_id, first = members[0]
        paths = [str(task_root), *(str(layer_roots[layer]) for layer in function_layers(first))]
        is_api = first_id == package.API_FUNCTION_ID
        handlers = [properties["Handler"] for _, properties in members]
        code = IMPORT_AND_CALL.format(paths=paths, handlers=handlers, call_health=is_api)
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-S", "-I", "-c", code],  # -S: no site-packages, -I: no PYTHON* variables, no cwd
            cwd=task_root,
            env=lambda_environment(first, first_id, build.stage, task_root),
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
        )
        elapsed = time.perf_counter() - started
        names = ", ".join(logical_id for logical_id, _ in members)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode != 0 or not lines:
            raise CheckFailed(f"{names} ({', '.join(handlers)}) do not import:\n{completed.stderr[-2500:]}")
        result = json.loads(lines[-1][len("RESULT ") :])
        if result["heavy_at_import"] and not function_layers(first):
            raise CheckFailed(f"{names} import {result['heavy_at_import']} at cold start")
        if is_api:
            health = result["health"]
            if health["status"] != 200 or health["body"] != {"status": "ok"}:
                raise CheckFailed(f"GET /health through the API handler answered {health}")
            if result["docs"]["status"] != 200 or result["docs"]["bytes"] < 100_000:
                raise CheckFailed(f"GET /docs/swagger-ui-bundle.js through the API handler answered {result['docs']}")
            if first.get("Tracing") == "Active" and not result["tracing"]:
                raise CheckFailed("tracing is Active but the API handler did not load the X-Ray SDK")
            if result["search"]["total"] != 1:
                raise CheckFailed(f"a search index built and searched from the artifact found {result['search']}")
            return (
                f"{names}: imported, GET /health and the API reference's script 200 with tracing on, a search index "
                f"built and searched on the package's SQLite {result['search']['sqlite']} ({elapsed:.1f} s)"
            )
        return f"{len(members)} handler(s) imported in one interpreter ({elapsed:.1f} s): {names}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        lines = list(pool.map(run, groups.values()))
    shutil.rmtree(work, ignore_errors=True)
    return lines


# ---------------------------------------------------------------- state machine, lint


def check_state_machines(template: Mapping[str, Any]) -> list[str]:
    functions = serverless_functions(template)
    machines = templates.state_machines(template)
    infra_machines = templates.state_machines(templates.load_template())
    if set(machines) != set(infra_machines) or not machines:
        raise CheckFailed(f"the template's state machines {sorted(machines)} are not infra/template.yaml's")
    lines = []
    for logical_id, resource in machines.items():
        text, variables = resource["Properties"]["DefinitionString"]["Fn::Sub"]
        definition_path = templates.definition_file(infra_machines[logical_id])
        if (
            json.loads(text)["States"].keys()
            != json.loads(definition_path.read_text(encoding="utf-8"))["States"].keys()
        ):
            raise CheckFailed(f"{logical_id}'s definition is not {definition_path.name}'s")
        for placeholder, function_id in templates.function_placeholders(text).items():
            if variables.get(placeholder) != {"Fn::GetAtt": [function_id, "Arn"]} or function_id not in functions:
                raise CheckFailed(f"{logical_id}: ${{{placeholder}}} is not wired to function {function_id}")
        name = resource["Properties"]["StateMachineName"]["Fn::Sub"]
        key = templates.state_machine_env_key(definition_path)
        for function_id, properties in functions.items():
            value = properties["Environment"]["Variables"].get(key)
            if not (isinstance(value, dict) and str(value.get("Fn::Sub", "")).endswith(f":stateMachine:{name}")):
                raise CheckFailed(f"{function_id} does not get {key} (the ARN of {logical_id})")
        tasks = len(templates.function_placeholders(text))
        lines.append(f"{logical_id}: {definition_path.name}, {tasks} functions wired, {key} in every function")
    return lines


MAX_STACK_RESOURCES = 500


def sam_transform(build: package.Build) -> Path:
    """The template as CloudFormation expands it (the AWS::Serverless transform, run here by the same translator)."""
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    parameters = {name: "stand-in" for name in build.template["Parameters"]} | {"Stage": build.stage, "AlertEmail": ""}
    region = os.environ.setdefault("AWS_DEFAULT_REGION", FAKE_REGION)
    try:
        expanded = transform(build.template, parameters, NoManagedPolicies())
    except Exception as error:  # the translator's own errors say what is wrong with which resource
        raise CheckFailed(f"the AWS::Serverless transform refuses the template ({region}): {error}") from error
    count = len(expanded["Resources"])
    if count > MAX_STACK_RESOURCES:
        raise CheckFailed(f"{count} resources after the transform; a stack holds at most {MAX_STACK_RESOURCES}")
    path = build.out_dir / "template.expanded.json"
    path.write_text(json.dumps(expanded, indent=1), encoding="utf-8")
    return path


def lint(paths: Iterable[Path]) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    for path in paths:
        completed = subprocess.run(
            [str(cfn_lint) if cfn_lint.exists() else "cfn-lint", str(path)], capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            raise CheckFailed(f"cfn-lint {path.name}:\n{(completed.stdout + completed.stderr)[-4000:]}")


def run_checks(build: package.Build, log: Any = print) -> None:
    """Every check on a built stage; raises CheckFailed at the first problem."""
    for name, artifact in build.artifacts.items():
        log(f"  {name:<22} {artifact.zipped_bytes:>12,} B zipped  {artifact.unzipped_bytes:>12,} B unzipped")
    for line in check_sizes(build):
        log(f"  {line}")
    check_pins(build)
    log("  pins: requirements.txt in deployment.zip, requirements-recommend.txt in the layer, numpy/scipy only there")
    for line in check_state_machines(build.template):
        log(f"  {line}")
    expanded = sam_transform(build)
    resources = len(json.loads(expanded.read_text(encoding="utf-8"))["Resources"])
    log(f"  AWS::Serverless transform: {resources} resources (a stack holds {MAX_STACK_RESOURCES})")
    lint([build.template_path, expanded, ARTIFACTS_TEMPLATE, CLIENTS_TEMPLATE])
    log(
        f"  cfn-lint: {build.template_path.name}, {expanded.name}, {ARTIFACTS_TEMPLATE.name} and "
        f"{CLIENTS_TEMPLATE.name} clean"
    )
    for line in check_handlers(build):
        log(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", action="append", choices=("dev", "prod"), help="repeatable; default dev and prod")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        for stage in arguments.stage or ["dev", "prod"]:
            build = package.build(stage)
            run_checks(build)
    except (package.PackageError, CheckFailed) as error:
        print(f"package-check FAILED: {error}", file=sys.stderr)
        return 1
    print(f"package-check passed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
