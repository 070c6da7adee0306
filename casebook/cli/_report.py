"""Plain-text views of the store for the terminal (`casebook patients`, `show`, `audit`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from casebook.catalog import Catalog
from casebook.clinical.cautions import case_cautions, confirmation_words, protocol_warning
from casebook.clinical.flag_lifecycle import FlagStatus, case_flag_statuses
from casebook.clinical.scoring import burden_by_visit, read_result
from casebook.clinical.substances import recorded_allergies
from casebook.format import number, range_text, text_table, wrapped
from casebook.models import LEGACY_SCREEN_QUESTIONS, SCREEN_LABELS, SCREEN_QUESTIONS, Case
from casebook.store import AuditEntry, PatientSummary
from casebook.store.audit_key import Checkpoint
from casebook.store.audit_verify import Verdict

__all__ = [
    "audit_text",
    "case_text",
    "flag_lines",
    "patients_text",
    "screen_lines",
    "verdict_line",
]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    return "\n".join(text_table(header, cells))


def _range(low: float | None, high: float | None) -> str:
    return range_text(low, high)


def patients_text(patients: Sequence[PatientSummary]) -> str:
    if not patients:
        return "no patients yet: `casebook import patients FILE.csv` adds them"
    return _table(
        ("id", "name", "born", "sex", "version", "changed"),
        [
            (
                p.id,
                p.name,
                p.birth_date,
                p.sex,
                p.record_version,
                p.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
            for p in patients
        ],
    )


def flag_lines(statuses: Sequence[FlagStatus]) -> list[str]:
    """Each flag: urgency, rule key, label and state; then reason and action; then source.
    Open ones are marked '!' (the order is the flag lifecycle's: open first, most urgent first)."""
    out = []
    for s in statuses:
        f = s.flag
        mark = "!" if s.state == "open" else "-"
        out += wrapped(f"{f.key}: {f.label} ({s.summary()})", "    ", f"  {mark} [{s.headline()}] ")
        out += wrapped(f"{f.reason.rstrip('. ')}. {f.action}", "      ")
        out += wrapped(f"source: {f.source}", "      ")
    return out


def screen_lines(case: Case) -> list[str]:
    """The alarm screen of the latest visit held (a check-in the patient sent only while no
    visit was held, said as such): what was answered yes, and what was not asked."""
    visit = case.current_visit()
    if visit is None:
        return []
    of = "the check-in the patient sent on" if visit.is_checkin else "the visit of"
    screen = visit.screen
    asked = (*SCREEN_QUESTIONS, *sorted(LEGACY_SCREEN_QUESTIONS))
    yes = [SCREEN_LABELS[n] for n in asked if getattr(screen, n) is True]
    unasked = [SCREEN_LABELS[n] for n in SCREEN_QUESTIONS if getattr(screen, n) is None]
    out = wrapped(
        f"yes: {'; '.join(yes) if yes else 'none'}",
        "    ",
        f"alarm screen of {of} {visit.visit_date}: ",
    )
    if unasked:
        out += wrapped(f"not asked: {'; '.join(unasked)}", "    ", "  ")
    return out


def case_text(case: Case, catalog: Catalog, *, today: date | None = None) -> str:
    p = case.patient
    today = today or date.today()
    out = [
        f"{p.name} ({p.id}), {p.sex}, born {p.birth_date}, age {p.age_on(today)}",
        f"record version {p.record_version}",
        "",
    ]
    statuses = case_flag_statuses(case, catalog, today=today)
    out.append("RED FLAGS (refer; casebook does not diagnose):" if statuses else "red flags: none")
    out += flag_lines(statuses)
    warning = protocol_warning(case, catalog)
    if warning:
        out.append(f"  WARNING: {warning}")
    out.append("")
    screen = screen_lines(case)
    out += [*screen, ""] if screen else []
    cautions = case_cautions(case, catalog, today)
    out.append("CAUTIONS of the plan that match this patient:" if cautions else "cautions: none")
    names = {i.id: i.name for i in case.plan}
    for m in cautions:
        words = confirmation_words(m)
        advised = f", advised by {words.advised_by}" if words.advised_by else ""
        state = (
            f"NOT CONFIRMED: {words.problem}; listed for review"
            if words.problem is not None
            else f"confirmed by {words.by}{advised} on {words.on}: {words.reason}"
        )
        out.append(
            f"  - {names.get(m.plan_item_id or '', m.template)}: {m.line()} "
            f"[source: {m.caution.source}] ({state})"
        )
    allergies = recorded_allergies(case)
    out.append(
        "allergies: " + "; ".join(f"{what} ({how})" for what, how in allergies)
        if allergies
        else "allergies: none recorded"
    )
    out.append("")
    burdens = burden_by_visit(case)
    scores = {(r.visit_id, r.instrument): r for r in case.instruments}
    shown = [k for k in ("phq9", "gad7", "pss10", "fas", "bristol") if k in catalog.instruments]
    shown += sorted({r.instrument for r in case.instruments} - set(shown))
    header = ["date", "visit", "burden"] + [
        catalog.instruments[k].short_name if k in catalog.instruments else k for k in shown
    ]
    rows = []
    for b in burdens:
        row: list[object] = [b.visit_date, b.kind, b.burden]
        for key in shown:
            r = scores.get((b.visit_id, key))
            row.append("" if r is None or r.total is None else f"{r.total} {r.band}")
        rows.append(row)
    out += ["visits:", _table(header, rows) if rows else "  none", ""]
    if case.results:
        out.append("results:")
        out.append(
            _table(
                ("collected", "test", "value", "unit", "range", "flag", "evidence"),
                [
                    (
                        r.collected_on,
                        catalog.tests[r.test].name if r.test in catalog.tests else r.test,
                        number(r.value) if r.value is not None else r.value_text,
                        r.unit,
                        _range(reading.low, reading.high),
                        reading.flag or "",
                        catalog.tests[r.test].evidence if r.test in catalog.tests else "",
                    )
                    for r in sorted(case.results, key=lambda r: (r.collected_on, r.test))
                    for reading in [read_result(r, catalog.tests.get(r.test), p.sex)]
                ],
            )
        )
        out.append("")
    pending = [o for o in case.orders if o.status in ("ordered", "collected")]
    if pending:
        out.append(
            "open orders: " + ", ".join(f"{o.test} ({o.status} {o.ordered_on})" for o in pending)
        )
        out.append("")
    if case.plan:
        out.append("plan:")
        out.append(
            _table(
                ("category", "item", "dose", "frequency", "start", "end", "status"),
                [
                    (i.category, i.name, i.dose, i.frequency, i.start, i.end, i.status)
                    for i in sorted(case.plan, key=lambda i: (i.category, i.name))
                ],
            )
        )
    if case.letters:
        out += [
            "",
            "letters:",
            _table(
                ("date", "kind", "to", "record version", "sha256", "made by"),
                [
                    (
                        x.letter_date,
                        x.kind.replace("_", " "),
                        x.recipient.splitlines()[0],
                        x.record_version,
                        x.content_hash[:12],
                        x.created_by,
                    )
                    for x in sorted(case.letters, key=lambda x: (x.letter_date, x.id))
                ],
            ),
        ]
    return "\n".join(out).rstrip() + "\n"


def audit_text(entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return "no audit entries"
    return _table(
        ("#", "at (UTC)", "actor", "action", "entity", "id"),
        [
            (
                e.id,
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                e.entity,
                e.entity_id or "",
            )
            for e in entries
        ],
    )


def verdict_line(verdict: Verdict, made: Checkpoint | None = None) -> str:
    """One line for `casebook audit --verify` (or `--checkpoint`, `made` the new one)."""
    line = f"audit log intact: {verdict.rows} row(s), head {verdict.head}"
    if made is not None:
        return f"{line}; checkpoint signed: {made.rows} row(s) up to id {made.upto_id}"
    point = verdict.checkpoint
    if point is None:
        return f"{line}; no checkpoint yet (casebook audit --checkpoint)"
    return (
        f"{line}; last checkpoint {point.at} covers {point.rows} row(s), "
        f"{verdict.after_checkpoint} after it"
    )
