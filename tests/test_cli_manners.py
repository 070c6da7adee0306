"""Command-line manners: every option explained, mistyped commands answered, plain English."""

from __future__ import annotations

import argparse

import pytest

from casebook.cli import main
from casebook.cli._main import _parser


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _undocumented(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_command_has_help() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"new", "show", "serve", "access"} <= set(commands.choices)
    assert _undocumented(parser, "casebook") == []


def test_the_walk_finds_an_option_without_help() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands.choices["show"].add_argument("--bare")
    assert _undocumented(parser, "casebook") == ["casebook show --bare"]


@pytest.mark.parametrize(
    ("typed", "line"),
    [
        ("shwo", "casebook: unknown command 'shwo' (did you mean 'show'?)"),
        ("exprot", "casebook: unknown command 'exprot' (did you mean 'export'?)"),
        ("zzzz", "casebook: unknown command 'zzzz'"),
    ],
)
def test_a_mistyped_command_gets_a_suggestion(
    typed: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([typed, "P1"])
    assert exited.value.code == 2
    usage, said = capsys.readouterr().err.strip().splitlines()
    assert usage.startswith("usage: casebook")
    assert said == line


def test_a_one_day_link_says_day(
    sqlite_url: str,
    demo_cases,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from casebook.store import CaseStore, import_cases

    with CaseStore(sqlite_url, create=True, actor="tester") as store:
        import_cases(store, demo_cases[:1])
    pid = demo_cases[0].patient.id
    assert main(["--db", sqlite_url, "access", "grant", pid, "--days", "1"]) == 0
    assert f"(a new link for {pid}, valid for 1 day; " in capsys.readouterr().err


def _parsers(
    parser: argparse.ArgumentParser, path: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _parsers(sub, f"{path} {name}")
    return found


def test_no_parser_takes_an_abbreviated_option() -> None:
    parsers = _parsers(_parser(), "casebook")
    assert {"casebook batch", "casebook letter referral"} <= {path for path, _ in parsers}
    assert [path for path, p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["batch", "--htm"], "casebook batch: unknown option '--htm' (did you mean '--html'?)"),
        (
            ["new", "P1", "--forc"],
            "casebook new: unknown option '--forc' (did you mean '--force'?)",
        ),
        (
            ["letter", "referral", "P1", "--too=x"],
            "casebook letter referral: unknown option '--too' (did you mean '--to'?)",
        ),
        (["new", "P1", "--zzz"], "casebook new: unknown option '--zzz'"),
    ],
)
def test_a_mistyped_option_is_refused_with_a_suggestion(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == line


def test_terminal_views_fit_100_columns(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the demo's 12 patients (its seed): 240 to 498 characters wide before."""
    from casebook.demo.synthetic import generate_cases
    from casebook.store import CaseStore, import_cases

    with CaseStore(sqlite_url, create=True, actor="tester") as store:
        cases = generate_cases(12, seed=1, catalog=store.catalog)
        import_cases(store, cases)
    pid = cases[0].patient.id
    for argv in (
        ["patients"],
        ["show", pid],
        ["flags"],
        ["flags", pid],
        ["worklist"],
        ["outcomes"],
        ["outcomes", "--by", "template"],
        ["audit", pid],
    ):
        assert main(["--db", sqlite_url, *argv]) == 0
        out = capsys.readouterr().out
        assert out.strip(), argv
        wide = [line for line in out.splitlines() if len(line) > 100]
        assert wide == [], f"casebook {' '.join(argv)}: {wide[0]!r}"
        assert ".." not in out.replace("...", ""), argv  # no double full stop
