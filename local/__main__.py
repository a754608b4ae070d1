"""`python -m local`: start the embedded local runtime (see local/runtime.py)."""

from __future__ import annotations

import sys

from local.runtime import main

if __name__ == "__main__":
    sys.exit(main())
