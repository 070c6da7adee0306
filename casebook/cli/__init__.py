"""The `casebook` command. Thin: it parses arguments and calls library functions.

Exit codes: 0 done, 1 bad input or a store error (the message says what), 2 usage.
"""

from __future__ import annotations

from casebook.cli._main import main

__all__ = ["main"]
