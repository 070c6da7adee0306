"""`casebook.demo`: a fresh store of seeded synthetic patients, and the next steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebook.demo import build_demo, demo_text
from casebook.demo.synthetic import generate_cases
from casebook.store import CaseStore


def test_build_demo_writes_the_seeded_cases(tmp_path: Path) -> None:
    result = build_demo(tmp_path / "demo", patients=3, seed=4)

    assert result.directory == (tmp_path / "demo").resolve()
    assert result.url == f"sqlite:///{result.directory / 'casebook.db'}"
    assert result.patient_ids == ["demo-0001", "demo-0002", "demo-0003"]
    expected = generate_cases(3, seed=4)
    with CaseStore(result.url) as store:
        assert [p.id for p in store.patients()] == result.patient_ids
        for case in expected:
            stored = store.load_case(case.patient.id)
            assert stored.patient == case.patient
            for coll in (
                "visits",
                "history",
                "symptoms",
                "instruments",
                "orders",
                "results",
                "plan",
                "notes",
            ):
                assert sorted(r.id for r in getattr(stored, coll)) == sorted(
                    r.id for r in getattr(case, coll)
                ), coll
    assert set(result.flags) == set(result.patient_ids)
    labels = {f.label for f in result.flags["demo-0001"]}
    assert {"Unintentional weight loss", "Anemia (low hemoglobin)"} <= labels


def test_build_demo_is_fresh_each_time(tmp_path: Path) -> None:
    first = build_demo(tmp_path, patients=2)
    with CaseStore(first.url) as store:
        p = store.get_patient("demo-0001")
        store.save_patient(p.model_copy(update={"name": "Someone Else"}))
    (tmp_path / "casebook.db-wal").write_bytes(b"stale")  # a leftover of a crashed session

    second = build_demo(tmp_path, patients=2, force=True)

    assert second.patient_ids == first.patient_ids
    with CaseStore(second.url) as store:
        summaries = store.patients()
        assert [s.record_version for s in summaries] == [1, 1]
        assert store.get_patient("demo-0001").name != "Someone Else"
        assert store.get_patient("demo-0001").version == 1


def test_build_demo_refuses_no_patients(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        build_demo(tmp_path / "d", patients=0)
    assert not (tmp_path / "d").exists()


def test_demo_text_lists_flags_and_next_steps(tmp_path: Path) -> None:
    result = build_demo(tmp_path / "it's here", patients=2)
    text = demo_text(result)
    lines = text.splitlines()

    assert lines[0] == f"casebook demo: 2 synthetic patients in {result.directory}"
    assert "no real patient" in lines[1]
    assert "Red flags raised (refer, do not treat):" in lines
    flagged = [line for line in lines if line.startswith("  demo-0001: ")]
    assert len(flagged) == 1 and "Anemia (low hemoglobin)" in flagged[0]
    # the URL is quoted for the shell (the folder name has a quote and a space)
    assert "  export CASEBOOK_DB='sqlite:///" in text
    assert "'\"'\"'s here/casebook.db'" in text
    for command in (
        "casebook patients",
        "casebook show demo-0001",
        "casebook export demo-0001 --format json",
        "casebook audit demo-0001",
    ):
        assert any(line.strip().startswith(command) for line in lines), command
    assert text.endswith("\n")


def test_the_demo_works_without_pdf_letters(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """A machine without Pango (WeasyPrint) still gets a demo; it says why there is no PDF."""
    import casebook.letters
    from casebook.demo import build_demo
    from casebook.letters import LetterError
    from casebook.store import CaseStore

    def no_pdf(*_: object, **__: object) -> None:
        raise LetterError("PDF letters need Pango")

    monkeypatch.setattr(casebook.letters, "save_letter", no_pdf)
    result = build_demo(tmp_path / "d", patients=2)
    assert "no after-visit summaries (PDF letters need Pango)" in capsys.readouterr().err
    with CaseStore(result.url) as store:
        assert [store.load_case(pid).letters for pid in result.patient_ids] == [[], []]
