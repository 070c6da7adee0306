"""The kinds of worklist item: one entry each, and everything about a kind is read from it.

A new kind (a check-in to review, a caution to review...) is one `Kind` added to `KIND_TABLE`
and the rows that produce it: its place in the order, its words in every view, whether it
needs a decision (the default view shows only those) and whether it can be signed off in
bulk all come from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from casebook.errors import ClinicError

__all__ = ["KINDS", "KIND_TABLE", "Kind", "check_kinds", "kind_of"]


@dataclass(frozen=True)
class Kind:
    key: str  # the stored and exported spelling (CSV `kind`, `--kind`)
    label: str  # a heading or filter choice: "Red flag"
    one: str  # counted in a patient's folded row: "1 red flag"
    many: str  # "3 red flags"
    decision: bool = True  # needs the practitioner's decision: in the default view
    bulk_sign_off: bool = False  # may be signed off all at once (in-range results)

    def count(self, n: int) -> str:
        return f"{n} {self.one if n == 1 else self.many}"


# Most pressing kind first: within one urgency, items sort in this order.
KIND_TABLE: tuple[Kind, ...] = (
    Kind("red-flag", "Red flag", "red flag", "red flags"),
    Kind("record-unreadable", "Record cannot be read", "unreadable record", "unreadable records"),
    Kind("caution-review", "Caution to review", "caution to review", "cautions to review"),
    Kind("result-to-review", "Result out of range", "result out of range", "results out of range"),
    Kind("check-in-to-review", "Check-in to review", "check-in to review", "check-ins to review"),
    Kind("test-overdue", "Test overdue", "overdue test", "overdue tests"),
    Kind("worsening", "Worsening", "worse score", "worse scores"),
    Kind("follow-up-due", "Follow-up due", "follow-up due", "follow-ups due"),
    Kind(
        "result-in-range",
        "In-range result to sign off",
        "in-range result to sign off",
        "in-range results to sign off",
        decision=False,
        bulk_sign_off=True,
    ),
)
KINDS: tuple[str, ...] = tuple(k.key for k in KIND_TABLE)
_BY_KEY = {k.key: k for k in KIND_TABLE}


def kind_of(key: str) -> Kind:
    """The kind spelt `key`; ClinicError naming the known kinds otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ClinicError(f"kind: unknown kind {key!r} (one of {', '.join(KINDS)})") from None


def check_kinds(keys: Iterable[str] | None) -> frozenset[str] | None:
    """`keys` (kind spellings, or None for every kind) checked, as a set."""
    if keys is None:
        return None
    if isinstance(keys, str):
        raise ClinicError(f"kinds: must be a collection of kinds, not the text {keys!r}")
    chosen = frozenset(keys)
    for key in chosen:
        kind_of(key)
    return chosen
