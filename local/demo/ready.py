"""Set by the local runtime once it printed READY: demo parts that run beside the API (the month's replay) wait for
it, since READY waits for the event sources to drain and their writes would hold it back. Imports nothing heavy: the
runtime imports it before the app's environment is set."""

from __future__ import annotations

import threading

READY = threading.Event()
READY_WAIT_SECONDS = 300.0  # a caller without a runtime gets the replay after this anyway
