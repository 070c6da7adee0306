"""Done when (issue 9, item 3): import alarm results, see each red flag with its source in
`casebook show`, acknowledge and resolve them from the CLI and from the workbook, and find
each step in the audit log. Also the CLI's one-line refusals."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from casebook.cli import main
from casebook.store import CaseStore
from casebook.workbook.widgets.header import Header
from casebook.workbook.widgets.session import CaseSession

DAY = (date.today() - timedelta(days=5)).isoformat()
RULES = ("celiac_serology_positive", "crp_raised", "parasite_positive", "h_pylori_positive")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def alarm_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    (tmp_path / "patients.csv").write_text(
        "patient_id,name,birth_date,sex\nnu-01,Nova Test,1994-04-04,female\n", encoding="utf-8"
    )
    (tmp_path / "results.csv").write_text(
        "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"
        f"nu-01,{DAY},ttg_iga,45,U/mL,,15\n"  # three times the lab's printed upper limit
        f"nu-01,{DAY},hs_crp,14,mg/L,,\n"
        f"nu-01,{DAY},giardia_antigen,positive,,,\n"
        f"nu-01,{DAY},h_pylori_stool_antigen,positive,,,\n",
        encoding="utf-8",
    )
    for argv in (
        ("init",),
        ("import", "patients", str(tmp_path / "patients.csv")),
        ("import", "results", str(tmp_path / "results.csv")),
    ):
        assert _run(capsys, "--db", url, *argv)[0] == 0
    return url


def _shown(text: str) -> dict[str, str]:
    """Rule key -> its headline in `show`/`flags` (continued on lines indented by 4)."""
    joined = re.sub(r"\n    (?=\S)", " ", text)
    return {rule: line for line in joined.splitlines() for rule in RULES if f"] {rule}:" in line}


def test_done_when_flags_from_results_are_acknowledged_and_resolved(
    alarm_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--db", alarm_db, "--actor", "dr-lee")
    code, out, _ = _run(capsys, *db, "show", "nu-01")
    assert code == 0 and "RED FLAGS (refer; casebook does not diagnose):" in out
    lines = _shown(out)
    assert sorted(lines) == sorted(RULES)
    assert all(line.startswith("  ! [") and line.endswith("(open)") for line in lines.values())
    assert "source: Rubio-Tapia A et al. ACG clinical guideline" in out
    assert out.count("      source: ") == 4
    code, out, _ = _run(capsys, *db, "flags")
    assert code == 0 and out.startswith("nu-01 (Nova Test):") and len(_shown(out)) == 4

    # from the command line: celiac serology acknowledged then resolved; CRP referred, resolved
    steps = [
        ("ack", "celiac_serology_positive", "--note", "keep eating gluten; biopsy booked"),
        ("resolve", "celiac_serology_positive", "--outcome", "referred, biopsy done"),
        ("refer", "crp_raised", "--to", "gastroenterology"),
        ("resolve", "crp_raised", "--outcome", "calprotectin normal"),
    ]
    for step, rule, option, text in steps:
        code, out, err = _run(capsys, *db, "flag", step, "nu-01", rule, option, text)
        assert (code, err) == (0, ""), err
        assert out.startswith(f"nu-01: {rule} ") and " by dr-lee at " in out

    # from the workbook: the header's buttons, through the session and the store
    with CaseStore(alarm_db, actor="dr-kim") as store:
        header = Header(CaseSession(store, "nu-01"))
        steps_ui = header.steps
        assert steps_ui.flag.value == "parasite_positive"  # open, urgent: first
        steps_ui.note.value = "stool PCR sent"
        steps_ui.buttons["acknowledged"].click()
        steps_ui.outcome.value = "treated; repeat antigen negative"
        steps_ui.buttons["resolved"].click()
        steps_ui.flag.value = "h_pylori_positive"
        steps_ui.outcome.value = "eradication therapy by GP"
        steps_ui.buttons["resolved"].click()
        assert "⚠" not in header.flags.value  # no open flag
        assert all(s.state == "resolved" for s in store.flag_statuses("nu-01"))

    code, out, _ = _run(capsys, *db, "flags", "nu-01")
    assert all("(resolved by " in line for line in _shown(out).values())
    assert not any(line.startswith("  ! ") for line in out.splitlines())
    assert _run(capsys, *db, "flags")[1] == "no open red flags\n"
    code, out, _ = _run(capsys, *db, "audit", "nu-01")
    rows = [line.split() for line in out.splitlines() if "flag_review" in line]
    assert [(actor, action) for _n, _day, _time, actor, action, *_rest in rows] == [
        ("dr-lee", "acknowledge"),
        ("dr-lee", "resolve"),
        ("dr-lee", "refer"),
        ("dr-lee", "resolve"),
        ("dr-kim", "acknowledge"),
        ("dr-kim", "resolve"),
        ("dr-kim", "resolve"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("flag", "refer", "nu-01", "crp_raised"), "casebook flag: --to: say to whom"),
        (("flag", "resolve", "nu-01", "crp_raised"), "casebook flag: --outcome: say how"),
        (("flag", "ack", "nu-01", "crp_raised", "--to", "GP"), "casebook flag: --to: only"),
        (("flag", "ack", "nu-01", "fever"), "casebook flag: rule 'fever': not raised"),
        (("flag", "ack", "nobody", "crp_raised"), "casebook flag: no patient 'nobody'"),
        (("flags", "nobody"), "casebook flags: no patient 'nobody'"),
    ],
)
def test_refusals_are_one_line(
    alarm_db: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = _run(capsys, "--db", alarm_db, *argv)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err


def test_acknowledging_twice_is_refused(alarm_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--db", alarm_db, "flag", "ack", "nu-01", "crp_raised")[0] == 0
    code, _, err = _run(capsys, "--db", alarm_db, "flag", "ack", "nu-01", "crp_raised")
    assert code == 1
    assert err == (
        "casebook flag: rule 'crp_raised': it is acknowledged; it can be "
        "acknowledged only when open\n"
    )


def test_done_when_lab_limits_reach_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: a 62-year-old with hemoglobin just under the lab's limit and a normal
    ferritin is flagged with the BSG source; a celiac result imported without the lab's
    upper limit is stored and listed for review, never silent."""
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    born = date.today().replace(year=date.today().year - 62) - timedelta(days=30)
    (tmp_path / "patients.csv").write_text(
        f"patient_id,name,birth_date,sex\nlb-01,Lab Test,{born},male\n", encoding="utf-8"
    )
    (tmp_path / "results.csv").write_text(
        "patient_id,collected_on,test,value,unit,ref_low,ref_high\n"
        f"lb-01,{DAY},hemoglobin,13.4,g/dL,13.5,17.5\n"  # just under the lab's own limit
        f"lb-01,{DAY},ferritin,80,ng/mL,,\n"
        f"lb-01,{DAY},ttg_iga,12,U/mL,,\n",  # no upper limit from the lab
        encoding="utf-8",
    )
    for argv in (
        ("init",),
        ("import", "patients", str(tmp_path / "patients.csv")),
        ("import", "results", str(tmp_path / "results.csv")),
    ):
        assert _run(capsys, "--db", url, *argv)[0] == 0
    code, out, _ = _run(capsys, "--db", url, "show", "lb-01")
    joined = re.sub(r"\n\s+(?=\S)", " ", out)
    assert code == 0
    assert "] anemia:" in joined and "is below 13.5 (the lab's lower limit)" in joined
    assert "source: Snook J et al. BSG guidelines" in joined
    assert "iron_deficiency_anemia" not in joined  # the ferritin is normal
    assert "] celiac_serology_without_limit:" in joined and "cannot be read" in joined
