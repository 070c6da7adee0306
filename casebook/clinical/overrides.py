"""What a caution confirmation must say to let a plan item go ahead. Pure: no I/O.

The rule, one place:
- every confirmation gives a reason with real words, not a token ("." "ok" "n/a" "yes"
  "agreed" "confirmed" ...): an interaction or a population caution needs at least
  `LIGHT_WORDS` words (for example "INR checked weekly");
- a contraindication needs a reason of at least `CONTRA_WORDS` words that says why (for
  example "Obstetrician reviewed: benefit outweighs risk, stop at 12 weeks") and the name of
  who advised going ahead (`advised_by`);
- each caution is confirmed on its own: two confirmations of one item may not share the
  same reason, so one typed reason cannot confirm every caution at once.
"""

from __future__ import annotations

import functools
import re

from casebook.models import CautionConfirmation

__all__ = [
    "CONTRA_WORDS",
    "LIGHT_WORDS",
    "TOKENS",
    "confirmation_problem",
    "duplicate_reason",
    "reason_problem",
]

LIGHT_WORDS = 2
CONTRA_WORDS = 5
TOKENS = frozenset(
    {
        "ok",
        "okay",
        "k",
        "yes",
        "y",
        "no",
        "na",
        "n a",
        "none",
        "fine",
        "done",
        "noted",
        "agreed",
        "agree",
        "confirmed",
        "confirm",
        "checked",
        "reviewed",
        "approved",
        "accepted",
        "acknowledged",
        "aware",
        "as discussed",
        "see notes",
        "see above",
        "per protocol",
        "go ahead",
        "test",
        "xxx",
        "tbc",
        "tbd",
    }
)
_WORD = re.compile(r"[^\W\d_]{2,}|\d+", re.UNICODE)


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def reason_problem(text: str, min_words: int = LIGHT_WORDS) -> str | None:
    """Why `text` is not a reason (a token, or fewer than `min_words` words), or None."""
    words = _words(text)
    if not [w for w in words if w not in TOKENS] or " ".join(words) in TOKENS:
        return f"{text.strip()[:40]!r} is a token, not a reason"
    if len(words) < min_words:
        return f"the reason needs at least {min_words} words saying why"
    return None


def confirmation_problem(kind: str, confirmation: CautionConfirmation) -> str | None:
    """Why `confirmation` does not confirm a caution of `kind`, or None when it does."""
    if kind != "contraindication":
        return reason_problem(confirmation.reason, LIGHT_WORDS)
    problem = reason_problem(confirmation.reason, CONTRA_WORDS)
    if problem is not None:
        return f"{problem} (a contraindication override)"
    if not confirmation.advised_by.strip():
        return "a contraindication override needs advised_by: who advised going ahead"
    return None


def duplicate_reason(confirmations: list[CautionConfirmation]) -> str | None:
    """The key of a confirmation that repeats an earlier one's reason word for word."""
    seen: set[str] = set()
    for c in confirmations:
        said = " ".join(_words(c.reason))
        if said in seen:
            return c.key
        seen.add(said)
    return None
