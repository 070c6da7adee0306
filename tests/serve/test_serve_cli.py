"""`casebook access grant|revoke` and `casebook serve`."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from serve_helpers import free_port

from casebook.cli import main
from casebook.models import Case
from casebook.serve import AccessRefused, check_token
from casebook.store import CaseStore, import_cases
from casebook.store import tables as t


@pytest.fixture
def url(sqlite_url: str, demo_cases: list[Case]) -> str:
    with CaseStore(sqlite_url, create=True, actor="tester") as store:
        import_cases(store, demo_cases[:2])
    return sqlite_url


def test_grant_prints_a_working_link_and_revoke_ends_it(url: str, demo_cases, capsys) -> None:
    pid = demo_cases[0].patient.id
    assert (
        main(
            [
                "--db",
                url,
                "--actor",
                "dr-a",
                "access",
                "grant",
                pid,
                "--days",
                "7",
                "--host",
                "clinic.local",
                "--port",
                "9000",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    match = re.fullmatch(r"http://clinic\.local:9000/dashboard\?token=([A-Za-z0-9_-]{43})\n", out)
    assert match, out
    assert "valid for 7 days" in err
    with CaseStore(url) as store:
        assert check_token(store, match.group(1)).patient_id == pid
        assert store.audit_log(pid)[-1].actor == "dr-a"
    assert main(["--db", url, "access", "revoke", pid]) == 0
    assert capsys.readouterr().out == f"revoked 1 link(s) of {pid}; open pages stop working now\n"
    with CaseStore(url) as store, pytest.raises(AccessRefused):
        check_token(store, match.group(1))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["access", "grant", "demo-0001", "--days", "0"], "days: a link lasts 1 to 365 whole days"),
        (["access", "grant", "demo-0001", "--days", "400"], "days: a link lasts 1 to 365"),
        (["access", "grant", "nobody"], "no patient 'nobody'"),
        (["access", "revoke", "nobody"], "no patient 'nobody'"),
        (["access", "grant", "demo-0001", "--port", "0"], "port: must be 1-65535"),
    ],
)
def test_bad_input_is_a_clear_error(url: str, capsys, argv: list[str], message: str) -> None:
    assert main(["--db", url, *argv]) == 1
    assert message in capsys.readouterr().err


def _access_rows(url: str) -> int:
    with CaseStore(url) as store, store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(t.access_tokens)).scalar_one()
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "https://clinic.example.org"],
        ["--host", "clinic.example.org/dashboard"],
        ["--host", "clinic example"],
        ["--host", "clinic.example.org:443"],
        ["--host", ""],
        ["--public-url", "clinic.example.org"],
        ["--public-url", "ftp://clinic.example.org"],
        ["--public-url", "https://"],
        ["--public-url", "https://clinic.example.org/casebook"],
        ["--public-url", "https://clinic.example.org/?next=1"],
        ["--public-url", "https://clinic.example.org#top"],
        ["--public-url", "https://clinic example.org"],
        ["--public-url", "https://user@clinic.example.org"],
        ["--public-url", "https://clinic.example.org:99999"],
    ],
)
def test_a_bad_address_is_refused_before_a_token_is_stored(
    url: str, capsys, argv: list[str]
) -> None:
    assert main(["--db", url, "access", "grant", "demo-0001", *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("casebook access: "), err
    assert ("--host" if argv[0] == "--host" else "--public-url") in err
    assert "Traceback" not in err
    assert _access_rows(url) == 0


def test_a_public_url_makes_https_links(url: str, capsys, monkeypatch) -> None:
    argv = ["--db", url, "access", "grant", "demo-0001", "--host", "0.0.0.0"]  # noqa: S104
    assert main([*argv, "--public-url", "https://Clinic.example.org/"]) == 0
    assert re.fullmatch(
        r"https://Clinic\.example\.org/dashboard\?token=[A-Za-z0-9_-]{43}\n",
        capsys.readouterr().out,
    )
    monkeypatch.setenv("CASEBOOK_PUBLIC_URL", "https://clinic.example.org:8443")
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("https://clinic.example.org:8443/dashboard?token=")
    monkeypatch.setenv("CASEBOOK_PUBLIC_URL", "https://clinic.example.org/x?y")
    assert main(argv) == 1
    assert "CASEBOOK_PUBLIC_URL: must have no" in capsys.readouterr().err
    assert _access_rows(url) == 2


def test_serve_refuses_a_store_without_schema(tmp_path, capsys) -> None:
    empty = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--db", empty, "serve", "--port", str(free_port())]) == 1
    assert "casebook init" in capsys.readouterr().err


def test_serve_on_a_busy_port_says_so_in_one_line_before_starting(
    url: str, capsys, monkeypatch
) -> None:
    import casebook.serve.server as server

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was built although its port is busy")

    monkeypatch.setattr(server, "build_app", never)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--db", url, "serve", "--port", str(port)]) == 1
    said = capsys.readouterr().err
    assert said == (
        f"casebook serve: port {port} on 127.0.0.1 is in use (Address already in use): "
        "stop what listens there or choose another with --port\n"
    )


@pytest.mark.slow
def test_casebook_serve_starts_and_ctrl_c_stops_it_with_its_kernels(
    url: str, demo_cases, tmp_path
) -> None:
    import http.client

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "casebook.cli", "--db", url, "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 180
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/dashboard")
                status = conn.getresponse().status
                conn.close()
                break
            except OSError:
                time.sleep(0.2)
        assert status == 401, log.read_text()
        import psutil

        family = psutil.Process(proc.pid).children(recursive=True)
        assert family, "the fork server runs under the dashboard server"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()
        _gone, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, alive
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _connect_at_first(argv: list[str], cwd, pattern: str) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """Start `argv`, read its output until a line matches `pattern` (group 1: a URL path
    on 127.0.0.1:PORT), then at once GET that path; (the line, the HTTP status)."""
    import http.client
    import threading

    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, text=True
    )
    timer = threading.Timer(300, proc.kill)  # a hung start fails the test, never the suite
    timer.start()
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=60)
                try:  # no retry: the printed link must work the moment it is shown
                    conn.request("GET", match.group(2))
                    return line, conn.getresponse().status
                finally:
                    conn.close()
        raise AssertionError("no link was printed:\n" + "".join(seen))
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.slow
def test_serve_prints_its_address_only_once_it_accepts_connections(url: str, tmp_path) -> None:
    port = free_port()
    line, status = _connect_at_first(
        [sys.executable, "-m", "casebook.cli", "--db", url, "serve", "--port", str(port)],
        tmp_path,
        r"dashboards at http://127\.0\.0\.1:(\d+)(/dashboard)",
    )
    assert f":{port}/dashboard" in line
    assert status == 401  # answered (no credentials), not refused


@pytest.mark.slow
def test_demo_prints_links_only_once_they_open(tmp_path) -> None:
    port = free_port()
    line, status = _connect_at_first(
        [
            sys.executable,
            "-m",
            "casebook.cli",
            "demo",
            "--patients",
            "1",
            "--no-notebooks",
            "--dir",
            str(tmp_path / "demo"),
            "--port",
            str(port),
        ],
        tmp_path,
        r"^  \S+: http://127\.0\.0\.1:(\d+)(/dashboard\?token=[A-Za-z0-9_-]{43})$",
    )
    assert status == 200, line  # the link opened (its session started)
