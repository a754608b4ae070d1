"""`python -m local`: start the embedded local runtime (see local/runtime.py)."""

from __future__ import annotations

import os
import sys

from local.runtime import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # main() has stopped every thread and server, and all state is in memory: skip the interpreter's teardown, which
    # spends tens of seconds collecting moto's object graphs once the demo has run for a while.
    os._exit(code)
