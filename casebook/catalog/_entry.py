"""What every catalog entry's schema shares: frozen, no unknown fields, keys of one shape."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["KEY", "Entry"]

KEY = r"^[a-z][a-z0-9_]{0,63}$"
"""A catalog key: a lower-case letter, then up to 63 lower-case letters, digits or `_`."""


class Entry(BaseModel):
    """A catalog entry: frozen, and a field the schema does not know is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)
