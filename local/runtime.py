"""`make run`: moto, provisioning, Lambda dispatch, SQS pollers, schedules, demo data and the HTTP API, one process."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from local.aws import lambda_dispatch
from local.aws import state as local_state
from local.aws.moto_server import MotoServer, start_moto_server
from local.aws.pollers import Poller, open_pollers, start_pollers, stop_pollers, wait_drained
from local.aws.provision import DEFAULT_TEMPLATE, REPO_ROOT, provision, provision_stack
from local.aws.scheduler import ScheduledJob, fire_soon, schedule_speedup, start_scheduler, stop_scheduler
from local.demo.ready import READY as DEMO_READY
from local.providers.emulators import EMULATORS, RunningEmulator

DEFAULT_PORT = 8000
DEFAULT_ADMIN_PASSWORD = "admin12345"  # noqa: S105 - printed at start; only ever the local stage's default
# The app's timing knobs and their local defaults (documented in API.md).
KNOBS = {
    "PAYMENT_TIMEOUT_SECONDS": "1800",
    "AUTO_RECEIVE_SECONDS": "1209600",
    "REVIEW_WINDOW_SECONDS": "604800",
    "SHIP_DEADLINE_SECONDS": "604800",
    "AFTER_SALES_AUTO_APPROVE_SECONDS": "172800",
    "LOCAL_SCHEDULE_SPEEDUP": "1",
    "LOCAL_RECOMMEND_REFRESH_SECONDS": "60",
    "LOCAL_ORDER_SWEEP_SECONDS": "30",
}
READY_TIMEOUT_SECONDS = 30.0
DRAIN_TIMEOUT_SECONDS = 120.0

logger = logging.getLogger("local.runtime")


@dataclass
class LocalRuntime:
    """Everything `make run` starts, in the order it must start, and stops in reverse."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    stage: str = "local"
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    template: Path = DEFAULT_TEMPLATE
    statemachines: Path | None = None  # None: the template's state machines
    seed: bool = True
    serve_clients: bool = True
    keep_state: bool = False  # load the stage's data from .local-state/ at start, write it back at stop
    restored: Any = None  # what was loaded from .local-state/ (None: started empty)
    sites: list[Any] = field(default_factory=list)
    app: Any = None
    env: dict[str, str] = field(default_factory=dict)
    seed_summary: Any = None
    moto: MotoServer | None = None
    emulators: dict[str, RunningEmulator] = field(default_factory=dict)  # the providers' stand-ins, by banner label
    http: Any = None
    pollers: list[Poller] = field(default_factory=list)
    jobs: list[ScheduledJob] = field(default_factory=list)
    _http_thread: threading.Thread | None = None
    _state_whole: bool = False  # the data is loaded or seeded: only then may stop() write it over the kept one

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    @property
    def bound_port(self) -> int:
        return int(self.http.server.server_address[1]) if self.http is not None else self.port

    def start(self) -> LocalRuntime:
        _quiet_moto()
        os.environ["SHOP_STAGE"] = self.stage
        # Metric JSON (CloudWatch EMF) is for a log group, not a console: printed only if asked for (LOCAL_METRICS=on).
        if os.environ.get("LOCAL_METRICS", "off") != "on":
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        for name, default in KNOBS.items():
            os.environ.setdefault(name, default)
        self.moto = start_moto_server()  # always on loopback, whatever address the API binds
        for emulator in EMULATORS:  # the providers' stand-ins (sign-in, payments), each on a loopback port
            if os.environ.get(emulator.switch, "on") != "off":  # off: keep the real provider's settings
                running = self.emulators[emulator.label] = emulator.start()
                os.environ.update(running.env())
        # Table names and queue URLs must be in the environment before the app is imported.
        os.environ.update(provision_stack(self.stage, self.template))
        self.app = load_app()
        self.env = provision(self.app, self.stage, self.template, self.statemachines)
        os.environ.update(self.env)
        _forget_cached_settings()
        if self.keep_state:
            self.restored = local_state.load(self.stage)  # before the pollers: no handler takes it for new writes
        lambda_dispatch.install(self.app, self.stage)
        # Event sources first, as in a deployment: the demo data's writes reach the stream and queue handlers. They
        # poll once the seed is written, so its ~2,000 writes reach them in full batches (one search build, not one
        # per burst) instead of each poll competing with the seed for the one interpreter; READY waits for them.
        self.pollers = open_pollers(self.app, self.stage)
        if self.restored is None:
            self.seed_summary = seed(self.admin_password) if self.seed else seed_admin(self.admin_password)
        start_pollers(self.app, self.stage, self.pollers)
        self.jobs = start_scheduler(self.app, self.stage, schedule_speedup())
        if self.restored is not None:
            self.seed_summary = f"kept from {local_state.state_dir(self.stage)}: {self.restored}; " + (
                f"executions started again: {resume_order_executions()}"
            )
        if not wait_drained(self.pollers, DRAIN_TIMEOUT_SECONDS):
            logger.warning("the event sources still had work after %.0f s; READY anyway", DRAIN_TIMEOUT_SECONDS)
        DEMO_READY.set()  # the demo's month replays beside the API from now on
        self._state_whole = True
        self._start_http()
        # After the HTTP server answers, so READY is not delayed: e.g. the recommendations refresh fills the home page
        # within seconds of start.
        fire_soon(self.jobs)
        for emulator in EMULATORS:  # the emulators call this server back (its port is known only now)
            if emulator.callback_setting and emulator.label in self.emulators:
                os.environ[emulator.callback_setting] = self.base_url
        return self

    def _start_http(self) -> None:
        from local.aws.gateway import make_local_server
        from local.aws.static_sites import DrawnMedia, client_sites
        from local.demo import catalog, pictures

        self.sites = client_sites() if self.serve_clients else []
        media = [DrawnMedia(f"{catalog.IMAGE_HOST}/", pictures.draw)]  # the demo catalog's pictures
        self.http = make_local_server(self.app, self.host, self.port, static_sites=self.sites, media=media)
        self._http_thread = threading.Thread(target=self.http.server.serve_forever, name="http-api", daemon=True)
        self._http_thread.start()
        wait_until_answering(f"{self.base_url}/health", READY_TIMEOUT_SECONDS)

    def stop(self) -> None:
        if self.http is not None:
            self.http.shutdown()
            self.http.server.server_close()
            if self._http_thread is not None:
                self._http_thread.join(5)
            self.http = None
        stop_pollers(self.pollers)
        stop_scheduler(self.jobs)
        self.pollers, self.jobs = [], []
        lambda_dispatch.uninstall()
        if self.keep_state and self._state_whole and self.moto is not None:
            print(f"state kept in {local_state.state_dir(self.stage)}: {local_state.save(self.stage)}", flush=True)
            self._state_whole = False
        for running in self.emulators.values():
            running.stop()
        self.emulators = {}
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    def banner(self) -> list[str]:
        lines = [
            f"shop local runtime (stage {self.stage})",
            f"  API          {self.base_url}",
            f"  health       {self.base_url}/health",
            f"  OpenAPI      {self.base_url}/openapi.json",
            f"  moto         {self.moto.endpoint_url if self.moto else '-'}  (AWS_ENDPOINT_URL for aws CLI / boto3)",
        ]
        for emulator in EMULATORS:
            running = self.emulators.get(emulator.label)
            lines.append(f"  {emulator.label:<12} {running.url if running else '-'}  ({emulator.hint})")
        lines.append(
            f"  admin login  username=admin password={self.admin_password}"
            + ("" if os.environ.get("SHOP_ADMIN_PASSWORD") else "  (local default; set SHOP_ADMIN_PASSWORD)")
        )
        if self.seed_summary is not None:
            from local.demo.staff import credentials

            lines += credentials()
        lines += [f"  {name:<24} {os.environ[name]}" for name in KNOBS]
        if self.seed_summary is not None:
            lines.append(f"  demo data    {self.seed_summary}")
        lines.append(f"  pollers      {', '.join(p.config.name for p in self.pollers) or '-'}")
        lines.append(f"  schedules    {', '.join(j.config.name for j in self.jobs) or '-'}")
        machines = sorted(key for key in self.env if key.startswith("STATE_MACHINE_"))
        lines.append(f"  state machines {', '.join(machines) or '-'}")
        lines.append("Ctrl-C stops everything.")
        return lines

    def client_lines(self) -> list[str]:
        """One line per browser client, `<name> <url>` from the line's start (tools read them as they read READY)."""
        from local.clients import APPS

        served = {site.mount for site in self.sites}
        lines = [f"{app.label} {self.base_url}{app.mount}" for app in APPS if app.mount in served]
        missing = [app.label for app in APPS if app.mount not in served]
        if missing and self.serve_clients:
            lines.append(f"not built: {', '.join(missing)} (run `make run`, or `python -m local.clients`)")
        return lines


def load_app() -> Any:
    """Import the real Chalice app (after the environment is set: handlers name their queues at import)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module("app").app


def resume_order_executions() -> dict[str, Any]:
    """moto kept no Step Functions executions: start again every unpaid order's payment wait and every approved
    refund's execution (the order sweeper's)."""
    from chalicelib.bootstrap import container
    from chalicelib.orders import sweeper

    return sweeper.resume(container().shop, container().sweep_policy)


def seed(admin_password: str) -> Any:
    from local.demo.seed import seed_demo_data

    return seed_demo_data(admin_password)


def seed_admin(admin_password: str) -> Any:
    """No demo data (`--no-seed`): only the admin account, so the shop can be stocked through the admin API."""
    from local.demo.seed import seed_admin_only

    return seed_admin_only(admin_password)


def _forget_cached_settings() -> None:
    """The app may have read settings or made clients at import; make it see the final environment."""
    for module_name, function_name in (("chalicelib.config", "reset_caches"), ("chalicelib.aws", "reset_clients")):
        module = sys.modules.get(module_name)
        reset = getattr(module, function_name, None)
        if callable(reset):
            reset()


class _SkippedResourceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No Moto CloudFormation support")


def _quiet_moto() -> None:
    """moto's CloudFormation warns about every resource type it only skips (alarms, secrets)."""
    moto_logger = logging.getLogger("moto")
    if not any(isinstance(f, _SkippedResourceFilter) for f in moto_logger.filters):
        moto_logger.addFilter(_SkippedResourceFilter())
    warnings.filterwarnings("ignore", message=r"Tried to parse .* not supported by moto", category=UserWarning)


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until_answering(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _NO_PROXY_OPENER.open(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.05)


def build_clients() -> None:
    """Build the browser clients when their build is missing or stale; the API starts without them if that fails."""
    from local.clients import ClientBuildError, ensure_built

    try:
        ensure_built(lambda line: print(line, flush=True))
    except ClientBuildError as error:
        print(f"clients: not built: {error}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or DEFAULT_PORT),
        help="HTTP port of the API (0 picks a free one; default $PORT or 8000)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--stage", default=os.environ.get("SHOP_STAGE") or "local", help="stage name (default local)")
    parser.add_argument("--no-seed", action="store_true", help="no demo data, only the admin account")
    parser.add_argument(
        "--no-clients",
        action="store_true",
        default=os.environ.get("LOCAL_CLIENTS") == "off",
        help="serve the API only: neither build nor serve the browser clients (also LOCAL_CLIENTS=off)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    admin_password = os.environ.get("SHOP_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
    runtime = LocalRuntime(
        host=args.host,
        port=args.port,
        stage=args.stage,
        admin_password=admin_password,
        seed=not args.no_seed,
        serve_clients=not args.no_clients,
    )
    runtime.keep_state = os.environ.get("LOCAL_STATE", "on") != "off"
    if os.environ.get("FRESH") == "1":
        local_state.forget(runtime.stage)
        print(f"FRESH=1: starting from an empty state ({local_state.state_dir(runtime.stage)} removed)", flush=True)
    started = time.monotonic()
    if runtime.serve_clients:
        build_clients()
    try:
        runtime.start()
        if stopping.is_set():
            return 0
        for line in runtime.banner():
            print(line)
        for line in runtime.client_lines():
            print(line)
        print(f"started in {time.monotonic() - started:.1f} s")
        print(f"READY {runtime.base_url}", flush=True)
        while not stopping.wait(0.5):
            pass
        print("stopping...", flush=True)
    finally:
        runtime.stop()
    print("stopped", flush=True)
    return 0
