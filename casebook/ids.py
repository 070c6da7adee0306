"""The patient id rule, in a module light enough for the command line's fast paths.

`casebook.models` re-exports it; import it from here where pydantic is not needed.
"""

from __future__ import annotations

import re

__all__ = ["PATIENT_ID_RE"]

# Not starting with "-": `casebook show -rf` must not read an id as an option.
PATIENT_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
