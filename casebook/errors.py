"""One error family for casebook.

Every error casebook raises for bad input or bad state derives from `CasebookError`; the
CLI catches this base and prints one line, so anything else that escapes is a bug and shows
as one. Subclasses may also derive from a builtin (``ValueError``, ``KeyError``) where
callers already rely on it.
"""

from __future__ import annotations

__all__ = ["CasebookError", "ClinicError", "InputError"]


class CasebookError(Exception):
    """Bad input or bad state, explained in one line that names the field or row.

    The message never carries patient data beyond the name of the offending field and
    the line or record it came from.
    """


class InputError(CasebookError, ValueError):
    """A value given on the command line, in configuration or in a file is not usable;
    the message names the option or field and says what is allowed."""


class ClinicError(CasebookError, ValueError):
    """A clinic-view parameter or input that cannot be used; the message names it."""
