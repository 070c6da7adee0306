"""The `casebook` command, called in-process through `casebook.cli.main` (and once for real)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from casebook.cli import main
from casebook.models import Case
from casebook.store import CaseStore, import_case

PATIENTS_CSV = (
    "patient_id,name,birth_date,sex\n007,Ada Lovelace,1980-01-02,female\n"
    "p2,Bob Brown,1975-05-05,male\n"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No store from the environment or the working directory leaks into a test."""
    monkeypatch.delenv("CASEBOOK_DB", raising=False)
    monkeypatch.delenv("CASEBOOK_USER", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def ready(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """An initialised store holding the two patients of PATIENTS_CSV; returns its URL."""
    assert main(["--db", db_url, "init"]) == 0
    csv = tmp_path / "patients.csv"
    csv.write_text(PATIENTS_CSV, encoding="utf-8")
    assert main(["--db", db_url, "--actor", "dr-who", "import", "patients", str(csv)]) == 0
    capsys.readouterr()
    return db_url


def test_init_creates_the_store_and_is_idempotent(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_url, "init"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("store ready at ")
    assert main(["--db", db_url, "init"]) == 0
    assert capsys.readouterr().out == out
    with CaseStore(db_url) as store:
        assert store.patients() == []


def test_init_hides_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", "postgresql://me:s3cret@127.0.0.1:1/none", "init"])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot open the store" in err
    assert "s3cret" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["patients"],
        ["show", "p1"],
        ["audit", "p1"],
        ["export", "p1"],
        ["import", "patients", "patients.csv"],
        ["import", "results", "results.csv"],
        ["import", "case", "case.json"],
        ["new", "p1"],
        ["new", "p1", "--execute"],
        ["letter", "referral", "p1"],
        ["flags", "p1"],
        ["worklist"],
    ],
)
def test_commands_on_a_store_never_initialised_say_run_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}"
    assert main(["--db", url, *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"casebook {argv[0]}: the store at {url} has no casebook schema")
    assert "run `casebook init`" in err
    assert list(tmp_path.iterdir()) == []  # a failed command leaves no file behind


def test_store_from_casebook_db_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CASEBOOK_DB", url)
    assert main(["init"]) == 0
    assert capsys.readouterr().out == f"store ready at {url}\n"
    assert (tmp_path / "env.db").exists()
    assert not (tmp_path / "casebook.db").exists()
    (tmp_path / "p.csv").write_text(PATIENTS_CSV, encoding="utf-8")
    assert main(["import", "patients", "p.csv"]) == 0
    assert main(["patients"]) == 0
    assert "Ada Lovelace" in capsys.readouterr().out


def test_db_option_wins_over_env_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASEBOOK_DB", f"sqlite:///{tmp_path / 'uninitialised.db'}")
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    assert main(["init", "--db", url]) == 0
    assert main(["--db", url, "patients"]) == 0
    assert main(["patients", "--db", url]) == 0
    assert "no patients yet" in capsys.readouterr().out
    assert main(["patients"]) == 1  # the environment's store was never initialised
    assert "casebook init" in capsys.readouterr().err


def test_default_store_is_casebook_db_in_the_working_directory(tmp_path: Path) -> None:
    assert main(["init"]) == 0
    assert (tmp_path / "casebook.db").exists()


def test_patients_lists_the_patients(ready: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", ready, "patients"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "name", "born", "sex", "version", "changed"]
    assert lines[2].startswith("007  Ada Lovelace  1980-01-02  female  1")
    assert lines[3].startswith("p2   Bob Brown     1975-05-05  male    1")
    assert len(lines) == 4


def test_audit_shows_who_did_what(ready: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", ready, "audit", "007"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[2].split()[3:] == ["dr-who", "create", "patient", "007"]


@pytest.mark.parametrize("command", ["show", "audit", "export"])
def test_unknown_patient_exits_1(
    ready: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main(["--db", ready, command, "nobody"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"casebook {command}: no patient 'nobody' in the store\n"


def test_show_and_export_a_case(
    db_url: str, demo_cases: list[Case], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--db", db_url, "init"])
    with CaseStore(db_url, actor="tester") as store:
        import_case(store, demo_cases[0])
        import_case(store, demo_cases[3])
        stored = store.load_case("demo-0001")
    capsys.readouterr()

    assert main(["--db", db_url, "show", "demo-0001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{stored.patient.name} (demo-0001), female, born {stored.patient.birth_date}"
    )
    assert "RED FLAGS (refer; casebook does not diagnose):" in out
    assert "Anemia (low hemoglobin)" in out
    assert "open orders: giardia_antigen (ordered" in out

    assert main(["--db", db_url, "export", "demo-0001", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["format"] == "casebook.case/1"
    assert Case.model_validate(payload["case"]) == stored


def test_demo_creates_a_store_and_prints_next_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "demo dir"
    assert main(["demo", "--patients", "3", "--dir", str(target), "--no-serve"]) == 0
    out = capsys.readouterr().out
    url = f"sqlite:///{target / 'casebook.db'}"
    assert out.startswith(f"casebook demo: 3 synthetic patients in {target}\n")
    assert "Red flags raised (refer, do not treat):\n  demo-0001: " in out
    assert f"  export CASEBOOK_DB='{url}'\n" in out  # quoted: the path has a space
    assert "  casebook show demo-0001 " in out
    assert "Next:" in out
    (workbook,) = (target / "notebooks" / "demo-0001").glob("*-demo-0001.ipynb")
    assert f"  then open demo-0001/{workbook.name} and choose Run" in out
    with CaseStore(url) as store:
        assert [p.id for p in store.patients()] == ["demo-0001", "demo-0002", "demo-0003"]

    assert main(["--db", url, "show", "demo-0001"]) == 0
    assert "RED FLAGS" in capsys.readouterr().out
    # Every demo patient's case and dashboard notebooks, built through the batch path.
    for pid in ("demo-0001", "demo-0002", "demo-0003"):
        (workbook,) = (target / "notebooks" / pid).glob(f"*-{pid}.ipynb")  # named after them
        for path in (workbook, target / "notebooks" / pid / "dashboard.ipynb"):
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
            assert nb.metadata.papermill.parameters["patient_id"] == pid
    assert (target / "notebooks" / "clinic.ipynb").is_file()  # once per batch
    assert "Notebooks in " in out and ": 7 built, 0 failed" in out
    assert "  jupyter lab " in out


def test_demo_twice_gives_a_fresh_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'd' / 'casebook.db'}"
    assert main(["demo", "--patients", "2", "--dir", "d", "--no-notebooks", "--no-serve"]) == 0
    with CaseStore(url) as store:
        first = store.load_case("demo-0002")
        fresh_log = [(e.action, e.entity, e.entity_id) for e in store.audit_log("demo-0002")]
        store.save_patient(first.patient.model_copy(update={"name": "Changed Name"}))
        assert store.get_patient("demo-0002").record_version == 2
    again = ["demo", "--patients", "2", "--dir", "d", "--no-notebooks", "--no-serve"]
    capsys.readouterr()

    assert main(again) == 1  # refused: the store holds entries
    said = capsys.readouterr().err
    assert said.startswith("casebook demo: ") and "--force replaces it" in said
    assert said.count("\n") == 1
    with CaseStore(url) as store:
        assert store.get_patient("demo-0002").name == "Changed Name"

    assert main([*again, "--force"]) == 0

    with CaseStore(url) as store:
        summaries = store.patients()
        assert [p.id for p in summaries] == ["demo-0001", "demo-0002"]
        assert [p.record_version for p in summaries] == [1, 1]
        again = store.load_case("demo-0002")
        # The same record; the after-visit summary is made anew (new id and time), same content.
        assert again.model_copy(update={"letters": []}) == first.model_copy(update={"letters": []})
        assert [x.content_hash for x in again.letters] == [x.content_hash for x in first.letters]
        assert len(again.letters) == 1

        def log(entries: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
            return [(a, e, None if e == "letter" else i) for a, e, i in entries]

        assert log(
            [(e.action, e.entity, e.entity_id) for e in store.audit_log("demo-0002")]
        ) == log(fresh_log)


def test_demo_on_a_busy_port_says_so_before_building(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["demo", "--dir", str(tmp_path / "d"), "--port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"casebook demo: port {port} on 127.0.0.1 is in use (Address already in use): "
        "stop what listens there or choose another with --port\n"
    )
    assert not (tmp_path / "d").exists()  # nothing was built


def test_demo_default_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--patients", "1", "--no-notebooks", "--no-serve"]) == 0
    assert (tmp_path / "casebook-demo" / "casebook.db").exists()
    assert "1 synthetic patients" in capsys.readouterr().out


def test_demo_needs_a_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--patients", "0", "--dir", "d"]) == 1
    assert capsys.readouterr().err == "casebook demo: --patients must be at least 1\n"


@pytest.mark.parametrize(
    "argv", [[], ["import", "pdf", "x"], ["export", "p1", "--format", "xml"], ["frobnicate"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: casebook" in capsys.readouterr().err


def test_installed_console_script(tmp_path: Path) -> None:
    exe = shutil.which("casebook") or str(Path(sys.executable).with_name("casebook"))
    assert Path(exe).exists(), "the casebook console script is not installed"
    env = {k: v for k, v in os.environ.items() if k not in ("CASEBOOK_DB", "CASEBOOK_USER")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
            check=False,
        )

    helped = run("--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: casebook")
    for command in ("init", "import", "patients", "show", "audit", "export", "demo"):
        assert command in helped.stdout

    url = f"sqlite:///{tmp_path / 'real.db'}"
    made = run("--db", url, "init")
    assert (made.returncode, made.stdout) == (0, f"store ready at {url}\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,name,birth_date,sex\na b,X,1980-01-01,male\n", encoding="utf-8")
    failed = run("--db", url, "import", "patients", str(bad))
    assert failed.returncode == 1
    assert "line 2: patient_id: is not a valid id" in failed.stderr
    assert "a b" not in failed.stderr  # the bad value itself is never echoed


def test_unreadable_input_and_unusable_dir_exit_1(
    ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: an OSError (a folder given as FILE, a file as --dir) was a traceback."""
    assert main(["--db", ready, "import", "patients", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"casebook import: {tmp_path}: Is a directory\n"
    (tmp_path / "taken").write_text("", encoding="utf-8")
    assert main(["demo", "--patients", "1", "--dir", "taken"]) == 1
    assert capsys.readouterr().err == f"casebook demo: {tmp_path / 'taken'}: File exists\n"
    assert main(["--db", ready, "import", "results", "missing.csv"]) == 1
    assert "missing.csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["access", "grant", "007", "--days", "0"], "casebook access: days: a link lasts 1 to"),
        (["access", "grant", "007", "--port", "0"], "casebook access: port: must be 1-65535"),
        (["import", "case", "nowhere.json"], "casebook import: nowhere.json: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    ready: str, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert main(["--db", ready, *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(expected)
    assert err.count("\n") == 1


def test_a_validation_error_is_one_line_naming_the_field_not_the_value(
    ready: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from casebook.models import Patient

    def refuse(*_args: object, **_kwargs: object) -> str:
        Patient.model_validate(
            {"id": "p9", "name": "Secret Name", "birth_date": "1800-01-01", "sex": "female"}
        )
        return ""

    monkeypatch.setattr("casebook.cli._report.patients_text", refuse)
    assert main(["--db", ready, "patients"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("casebook patients: birth_date: ")
    assert err.count("\n") == 1
    assert "input_value" not in err and "Secret Name" not in err


def test_a_programming_bug_is_not_reported_as_bad_input(
    ready: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> str:
        return str(1 / 0)

    monkeypatch.setattr("casebook.cli._report.patients_text", broken)
    with pytest.raises(ZeroDivisionError):
        main(["--db", ready, "patients"])


def test_a_builtin_value_error_from_a_bug_is_not_swallowed(
    ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> str:
        return str(int("not a number"))

    monkeypatch.setattr("casebook.cli._report.patients_text", broken)
    with pytest.raises(ValueError, match="invalid literal"):
        main(["--db", ready, "patients"])


def test_new_refuses_to_overwrite_a_case_notebook_without_force(
    ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nb"
    assert main(["--db", ready, "new", "p2", "--out", str(out)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == out / "p2" and path.name.endswith("-p2.ipynb")
    path.write_text(path.read_text(encoding="utf-8").replace("}", "} ", 1), encoding="utf-8")
    worked_on = path.read_bytes()  # the practitioner's edits
    assert main(["--db", ready, "new", "p2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path.parent) in captured.err
    assert path.name not in captured.err  # the file name carries the patient's name
    assert "--force" in captured.err
    assert path.read_bytes() == worked_on
    assert main(["--db", ready, "new", "p2", "--out", str(out), "--force"]) == 0
    assert path.read_bytes() != worked_on
    nbformat.validate(nbformat.read(path, as_version=4))


def test_validation_messages_name_the_field_and_line_never_the_value(
    ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    from pydantic import ValidationError

    from casebook.models import Medication, Patient
    from casebook.notebooks import ParameterError, case_parameters

    secrets = ["Zed Secretname", "a b", "1980-13-01", "1899-12-31", "alienish", "9999-01-01"]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient_id,name,birth_date,sex\n"
        "a b,Zed Secretname,1980-01-01,male\n"
        "q1,Zed Secretname,1980-13-01,male\n"
        "q2,Zed Secretname,1899-12-31,alienish\n"
        "q3,Zed Secretname,9999-01-01,male\n"
        "q3,Zed Secretname,1980-01-01,male\n",
        encoding="utf-8",
    )
    assert main(["--db", ready, "import", "patients", str(bad)]) == 1
    err = capsys.readouterr().err
    for line, field in (
        (2, "patient_id"),
        (3, "birth_date"),
        (4, "birth_date"),
        (4, "sex"),
        (5, "birth_date"),
    ):
        assert f"line {line}: {field}: " in err, err
    for value in secrets:
        assert value not in err, value
    messages = []
    for make in (
        lambda: Patient(id="a b", name="X", birth_date=date(1980, 1, 1)),
        lambda: Patient(id="p9", name="X", birth_date=date(1899, 12, 31)),
        lambda: Medication(
            drug_class="supplement", name="Secretdrug", start=date(2024, 2, 1), end=date(2024, 1, 1)
        ),
    ):
        with pytest.raises(ValidationError) as info:
            make()
        messages += [e["msg"] for e in info.value.errors()]
    with pytest.raises(ParameterError) as caught:
        case_parameters("a b", ready)
    messages.append(str(caught.value))
    text = "\n".join(messages)
    assert "patient id must be" in text and "birth date is before 1900" in text
    assert "medication: end date is before start date" in text
    for value in ("a b", "1899", "Secretdrug", "2024-01-01", "2024-02-01"):
        assert value not in text, value
