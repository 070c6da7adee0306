"""The check-in form as data: its sections and questions from the catalog, and the answers a
patient posts, checked and turned into the records the case keeps.

Pure: the catalog is passed in. Wording, order, options and licences are the catalog's
instrument files (the ones the workbook uses); "symptoms" is the catalog's symptom
inventory, asked as a severity (0-4, in the patient's words) and a frequency each.

A posted form is a list of (name, value) pairs; each name is `INSTRUMENT.ITEM`
(`phq9.9`), `symptoms.KEY.severity` / `symptoms.KEY.frequency`, or `free_text`. Anything
else (an unknown name, a value given twice, an answer that is not one of the options) is
refused with `CheckinInputError` naming the field, and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from casebook.catalog import Catalog
from casebook.clinical.scoring import score_instrument
from casebook.clinical.vocabulary import SCREEN_PATIENT_QUESTIONS, severity_words
from casebook.errors import CasebookError
from casebook.models import (
    CHECKIN,
    PATIENT_SCREEN_QUESTIONS,
    AlarmScreen,
    InstrumentResponse,
    SymptomRating,
    Visit,
    new_id,
)

__all__ = [
    "ALARMS",
    "FREE_TEXT_MAX",
    "SYMPTOMS",
    "Answers",
    "CheckinInputError",
    "Draft",
    "Question",
    "Section",
    "check_instruments",
    "checkin_records",
    "form_sections",
    "parse_answers",
    "scores",
]

SYMPTOMS = "symptoms"
"""The instrument key that stands for the catalog's symptom inventory."""
ALARMS = "alarms"
"""The instrument key that stands for the alarm screen's yes/no questions (in the
patient's words), recorded on the check-in visit's screen as the workbook records them."""
_YES_NO = (("yes", "Yes"), ("no", "No"))
FREE_TEXT_MAX = 2000
"""The most characters the "anything else" box keeps."""
_FREQUENCIES: tuple[str, ...] = get_args(SymptomRating.model_fields["frequency"].annotation)
_FREQUENCY_WORDS = {
    "never": "Never",
    "monthly": "About once a month",
    "weekly": "About once a week",
    "several_weekly": "Several times a week",
    "daily": "Every day",
}

Answers = dict[str, dict[str, Any]]
"""Per instrument key, item id -> answer (an int; for symptoms, KEY.severity -> int and
KEY.frequency -> the frequency word)."""


class CheckinInputError(CasebookError, ValueError):
    """A posted check-in field that cannot be used; the message names the field only."""


@dataclass(frozen=True)
class Question:
    name: str  # the form field name
    text: str
    options: tuple[tuple[str, str], ...]  # (value, label)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    licence: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Draft:
    answers: Answers
    free_text: str

    def answered(self, name: str) -> str | None:
        """The value posted for field `name` (as text), or None."""
        key, _, item = name.partition(".")
        value = self.answers.get(key, {}).get(item)
        return None if value is None else str(value)


def check_instruments(catalog: Catalog, keys: Iterable[str]) -> tuple[str, ...]:
    """`keys` in order without repeats, each an instrument of the catalog or "symptoms";
    CheckinInputError naming the first unknown one."""
    chosen = tuple(dict.fromkeys(k.strip() for k in keys if k.strip()))
    if not chosen:
        raise CheckinInputError("instruments: name at least one (e.g. phq9,gad7,symptoms)")
    known = (*catalog.instruments, SYMPTOMS, ALARMS)
    for key in chosen:
        if key not in known:
            raise CheckinInputError(f"instruments: {key!r} is not one of {', '.join(known)}")
    return chosen


def _symptom_section(catalog: Catalog) -> Section:
    words = severity_words(patient=True)
    severity = tuple((str(i), f"{i}: {w}") for i, w in enumerate(words))
    frequency = tuple((f, _FREQUENCY_WORDS[f]) for f in _FREQUENCIES)
    questions: list[Question] = []
    for s in catalog.symptoms:
        questions.append(Question(f"{SYMPTOMS}.{s.key}.severity", s.patient_label, severity))
        questions.append(
            Question(f"{SYMPTOMS}.{s.key}.frequency", f"How often: {s.patient_label}", frequency)
        )
    return Section(
        SYMPTOMS,
        "Your symptoms",
        "Over the past 2 weeks, how strong has each of these been, and how often?",
        "The clinic's own symptom list.",
        tuple(questions),
    )


def _alarm_section() -> Section:
    questions = tuple(
        Question(f"{ALARMS}.{name}", SCREEN_PATIENT_QUESTIONS[name], _YES_NO)
        for name in PATIENT_SCREEN_QUESTIONS
    )
    return Section(
        ALARMS,
        "A few more questions",
        "Over the past few weeks:",
        "The clinic's own questions.",
        questions,
    )


def form_sections(catalog: Catalog, instruments: Sequence[str]) -> list[Section]:
    """The sections of a check-in asking `instruments`, in that order."""
    sections = []
    for key in check_instruments(catalog, instruments):
        if key == SYMPTOMS:
            sections.append(_symptom_section(catalog))
            continue
        if key == ALARMS:
            sections.append(_alarm_section())
            continue
        ins = catalog.instruments[key]
        options = tuple((str(o.value), o.label) for o in ins.options)
        questions = tuple(Question(f"{key}.{item.id}", item.text, options) for item in ins.items)
        sections.append(Section(key, ins.name, ins.period, ins.licence, questions))
    return sections


def parse_answers(
    catalog: Catalog,
    instruments: Sequence[str],
    fields: Sequence[tuple[str, str]],
    *,
    complete: bool,
) -> Draft:
    """The answers in posted `fields`; with `complete`, every question must be answered."""
    sections = form_sections(catalog, instruments)
    allowed = {q.name: q for s in sections for q in s.questions}
    answers: Answers = {s.key: {} for s in sections}
    free_text = ""
    seen: set[str] = set()
    for name, value in fields:
        if name in ("_xsrf", "action"):
            continue
        if name in seen:
            raise CheckinInputError(f"{name[:64]}: given more than once")
        seen.add(name)
        if name == "free_text":
            if len(value) > FREE_TEXT_MAX:
                raise CheckinInputError(f"free_text: at most {FREE_TEXT_MAX} characters")
            if "\x00" in value:
                raise CheckinInputError("free_text: contains a NUL character")
            free_text = value.replace("\r\n", "\n")
            continue
        question = allowed.get(name)
        if question is None:
            raise CheckinInputError(f"{name[:64]!r}: not a question of this check-in")
        if value == "":
            continue  # left blank
        if value not in {v for v, _ in question.options}:
            raise CheckinInputError(f"{name}: not one of the answers offered")
        key, _, item = name.partition(".")
        kept_as_text = key == ALARMS or item.endswith(".frequency")
        answers[key][item] = value if kept_as_text else int(value)
    if complete:
        missing = [n for n in allowed if n not in seen or Draft(answers, "").answered(n) is None]
        if missing:
            raise CheckinInputError(
                f"{missing[0]}: please answer every question ({len(missing)} left)"
            )
    return Draft(answers, free_text.strip())


def scores(catalog: Catalog, answers: Answers) -> dict[str, Any]:
    """Per scored instrument among `answers`: its Score (complete answers only)."""
    return {
        key: score_instrument(catalog.instruments[key], given)
        for key, given in answers.items()
        if key in catalog.instruments and len(given) == len(catalog.instruments[key].items)
    }


def checkin_records(
    patient_id: str, answers: Answers, *, on: date, checkin_id: str
) -> tuple[Visit, list[InstrumentResponse | SymptomRating]]:
    """The check-in visit (dated `on`) and the records of complete `answers` on it."""
    screen = {name: given == "yes" for name, given in answers.get(ALARMS, {}).items()}
    visit = Visit(
        patient_id=patient_id,
        kind=CHECKIN,
        visit_date=on,
        screen=AlarmScreen(**screen),
        summary=f"Check-in {checkin_id}: answers reported by the patient through their link.",
    )
    records: list[InstrumentResponse | SymptomRating] = []
    for key, given in answers.items():
        if key == ALARMS:
            continue  # on the visit's screen
        if key != SYMPTOMS:
            records.append(
                InstrumentResponse(
                    id=new_id(),
                    patient_id=patient_id,
                    visit_id=visit.id,
                    instrument=key,
                    answers={k: int(v) for k, v in given.items()},
                )
            )
            continue
        for symptom in sorted({k.split(".")[0] for k in given}):
            records.append(
                SymptomRating(
                    patient_id=patient_id,
                    visit_id=visit.id,
                    symptom=symptom,
                    severity=int(given[f"{symptom}.severity"]),
                    frequency=given[f"{symptom}.frequency"],
                )
            )
    return visit, records
