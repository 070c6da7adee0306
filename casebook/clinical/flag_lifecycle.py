"""The lifecycle of a red flag: open, acknowledged, referred, resolved.

Pure: the flags the record raises now (`clinical.red_flags.red_flags`) are combined with the
review steps the practitioners recorded (`FlagReview`, appended by `CaseStore.review_flag`).

- A flag with no step is open.
- A step is about the evidence the flag cited when it was taken (`evidence_on`). Newer alarm
  evidence for the same rule (a later result or answer: `flag.on` after `evidence_on`)
  re-opens it: the practitioner has not seen that evidence yet.
- A same-day flag whose evidence is older than `SAME_DAY_MAX_AGE_DAYS` days is shown as
  urgent, with the date it was answered and a request to review it, and stays open until
  acknowledged: a PHQ-9 item 9 answer from last year must not keep a case "same day" for
  ever, and must never silently disappear either. `shown_urgency` is that rule, and every
  view shows a flag's urgency through it (or through `FlagStatus.urgency`, which it sets).
- A lab flag whose test has a newer result in range (`RedFlag.superseded`) is shown as
  routine with "a newer result is in range", and stays until a practitioner resolves it:
  an abnormal result from years ago neither fires for ever nor disappears unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from casebook.catalog import Catalog
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import (
    RESULT_DISCUSS_WORDS,
    RESULT_REVIEWED_WORDS,
    Urgency,
    dated_patient_text,
)
from casebook.errors import InputError
from casebook.models import Case, FlagReview, PlanItem

__all__ = [
    "REVIEW_STEPS",
    "SAME_DAY_MAX_AGE_DAYS",
    "STATES",
    "FlagStatus",
    "case_flag_statuses",
    "check_step",
    "cited_result_words",
    "flag_statuses",
    "patient_plan_item",
    "shown_urgency",
]

SAME_DAY_MAX_AGE_DAYS = 14
"""A same-day flag whose evidence is older than this is shown as urgent, to review."""

STATES = ("open", "acknowledged", "referred", "resolved")
REVIEW_STEPS: dict[str, tuple[str, ...]] = {
    "acknowledged": ("open",),
    "referred": ("open", "acknowledged"),
    "resolved": ("open", "acknowledged", "referred"),
}
"""Each step, and the states a flag may be in to take it."""

_STATE_ORDER = {"open": 0, "acknowledged": 1, "referred": 1, "resolved": 2}


@dataclass(frozen=True)
class FlagStatus:
    """A raised flag, where it stands, and the latest step recorded for its rule."""

    flag: RedFlag
    state: str  # one of STATES
    last: FlagReview | None  # the latest step for this rule, even when newer evidence re-opened it
    urgency: Urgency  # as shown (`shown_urgency`): same-day on old evidence shows as urgent
    aged: bool = False  # same-day evidence older than SAME_DAY_MAX_AGE_DAYS

    @property
    def reopened(self) -> bool:
        """Open again: a step was recorded, then newer evidence came."""
        return self.state == "open" and self.last is not None

    @property
    def needs_contact(self) -> bool:
        """Open, urgent or same-day, and nobody has acknowledged it yet."""
        return self.state == "open" and self.urgency.needs_contact

    @property
    def age_note(self) -> str:
        """'answered on 2025-01-02, review' for a same-day flag on old evidence, else ''."""
        if not self.aged or self.flag.on is None:
            return ""
        what = "result of" if self.flag.results else "answered on"
        return f"{what} {self.flag.on.isoformat()}, review"

    def headline(self) -> str:
        """E.g. 'urgent — answered on 2025-01-02, review' for an aged same-day flag."""
        words = self.urgency.label
        if self.flag.superseded:
            return f"{words} — a newer result is in range"
        return f"{words} — {self.age_note}" if self.aged else words

    def summary(self) -> str:
        """The state in words, with who and when: 'referred to GI clinic by ann on ...'."""
        last = self.last
        if last is None:
            return "open"
        when = f"by {last.actor or 'unknown'} on {last.at:%Y-%m-%d}"
        if self.reopened:
            return f"open again: newer evidence since {last.state} {when}"
        if last.state == "referred":
            return f"referred to {last.referred_to} {when}"
        if last.state == "resolved":
            return f"resolved {when}: {last.outcome}"
        return f"acknowledged {when}" + (f": {last.note}" if last.note else "")


def _newer(flag: RedFlag, review: FlagReview) -> bool:
    """Does the flag cite evidence dated after the evidence the step was about?"""
    if flag.on is None:
        return False
    return review.evidence_on is None or flag.on > review.evidence_on


def _aged(flag: RedFlag, today: date) -> bool:
    return (
        flag.urgency == Urgency.SAME_DAY
        and flag.on is not None
        and (today - flag.on).days > SAME_DAY_MAX_AGE_DAYS
    )


def shown_urgency(flag: RedFlag, today: date) -> Urgency:
    """The urgency every view shows for `flag` on `today`: the rule's, except that a
    same-day flag on evidence older than SAME_DAY_MAX_AGE_DAYS days is urgent, and a lab
    flag with a newer result in range is routine."""
    if flag.superseded:
        return Urgency.ROUTINE
    return Urgency.URGENT if _aged(flag, today) else Urgency(flag.urgency)


def _status(flag: RedFlag, reviews: Sequence[FlagReview], today: date) -> FlagStatus:
    last = reviews[-1] if reviews else None
    state = "open" if last is None or _newer(flag, last) else last.state
    return FlagStatus(flag, state, last, shown_urgency(flag, today), _aged(flag, today))


def flag_statuses(
    flags: Iterable[RedFlag], reviews: Iterable[FlagReview], *, today: date | None = None
) -> list[FlagStatus]:
    """Each raised flag with its state: open first (most urgent first), then acknowledged
    and referred, then resolved. Reviews of rules that are not raised now are ignored."""
    today = today or date.today()
    by_rule: dict[str, list[FlagReview]] = {}
    for review in sorted(reviews, key=lambda r: (r.at, r.id)):
        by_rule.setdefault(review.rule_key, []).append(review)
    out = [_status(f, by_rule.get(f.key, []), today) for f in flags]
    return sorted(out, key=lambda s: (_STATE_ORDER[s.state], s.urgency.rank, s.flag.key))


def case_flag_statuses(
    case: Case, catalog: Catalog, *, today: date | None = None
) -> list[FlagStatus]:
    """`flag_statuses` of the flags the case raises as of `today` (nothing dated after it,
    as every view reads the record) and the steps it holds."""
    today = today or date.today()
    flags = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests, today=today)
    return flag_statuses(flags, case.flag_reviews, today=today)


def cited_result_words(result_id: str, statuses: Iterable[FlagStatus]) -> str | None:
    """What a patient reads about a result a raised red flag cites, in place of "within the
    usual range": a talk while any citing flag is not resolved, that it was looked at once
    every citing flag is resolved; None when no flag cites it."""
    citing = [s for s in statuses if result_id in s.flag.results]
    if not citing:
        return None
    if all(s.state == "resolved" for s in citing):
        return RESULT_REVIEWED_WORDS
    return RESULT_DISCUSS_WORDS


def patient_plan_item(
    item: PlanItem, statuses: Iterable[FlagStatus], *, today: date | None
) -> PlanItem:
    """The plan item as a patient reads it on `today` (None: a letter read later): its
    patient title as its name, and no "today" in its words after the day it started; a
    sentence that promised a talk "today" becomes the request to get in touch while a red
    flag still needs contact, and is left out once none does (`dated_patient_text`)."""
    contact = any(s.needs_contact for s in statuses)

    def words(text: str, *, title: bool = False) -> str:
        return dated_patient_text(
            text, written_on=item.start, today=today, needs_contact=contact, title=title
        )

    name, instructions = words(item.patient_title, title=True), words(item.instructions)
    return item.model_copy(update={"name": name, "patient_name": "", "instructions": instructions})


def check_step(
    statuses: Sequence[FlagStatus],
    rule_key: str,
    state: str,
    *,
    referred_to: str = "",
    outcome: str = "",
) -> FlagStatus:
    """The status a step `state` may be taken on, or InputError (one line) saying why not."""
    if state not in REVIEW_STEPS:
        raise InputError(f"state: {state!r} is not one of {', '.join(REVIEW_STEPS)}")
    if state == "referred" and not referred_to.strip():
        raise InputError("referred_to: a referral needs to whom the patient was referred")
    if state == "resolved" and not outcome.strip():
        raise InputError("outcome: resolving a flag needs its outcome")
    status = next((s for s in statuses if s.flag.key == rule_key), None)
    if status is None:
        raise InputError(
            f"rule {rule_key!r}: not raised for this patient now "
            "(`casebook flags PATIENT` lists the raised ones)"
        )
    if status.state not in REVIEW_STEPS[state]:
        allowed = " or ".join(REVIEW_STEPS[state])
        raise InputError(
            f"rule {rule_key!r}: it is {status.state}; it can be {state} only when {allowed}"
        )
    return status
