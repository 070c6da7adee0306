"""Check-ins benchmark: the check-in form and its submission through `casebook serve`,
against a minimal tornado handler that serves the same page bytes and stores the same row
(the answers as JSON, one INSERT) without validation, CSRF, audit or scoring.

    python benchmarks/checkins.py [--db sqlite|postgresql|both] [--rounds 5] [--per-round 40]

Both servers run as their own process on the same machine and the same database (a fresh
SQLite file, or the PostgreSQL of $CASEBOOK_TEST_DATABASE_URL, in a schema of its own).
Each round times, one request at a time, `--per-round` form pages (GET with the session
cookie) and `--per-round` submissions (POST of a complete PHQ-9, GAD-7, Bristol and
symptom form, each to its own check-in) on each side, the sides alternating; then 4 client
threads send `--per-round` * 4 submissions and the rate a minute is taken. Both sides are
warmed first; medians over rounds are compared. Beside each p50 it reports the server's
CPU time per request (user + system of the server process over the round, from /proc; on a
loaded machine it varies less than the wall time) and the load average at the start and
end. Aims (issue 22): form page p50 under 0.15 s, submission p50 under 0.2 s, at least
1,000 submissions a minute, within 2x of the minimal handler.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

INSTRUMENTS = ["phq9", "gad7", "symptoms", "bristol"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

MINIMAL = r"""
import sys, json, uuid
import sqlalchemy as sa
import tornado.ioloop, tornado.web

url, port, page = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
engine = sa.create_engine(url)
rows = sa.Table("bench_minimal", sa.MetaData(), sa.Column("id", sa.String(32), primary_key=True),
                sa.Column("answers", sa.JSON, nullable=False))
rows.metadata.create_all(engine)

class Form(tornado.web.RequestHandler):
    def get(self, _id):
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)
    def post(self, _id):
        fields = {k: v[0].decode() for k, v in self.request.body_arguments.items()}
        with engine.begin() as conn:
            conn.execute(rows.insert(), {"id": uuid.uuid4().hex, "answers": fields})
        self.finish("thanks")

app = tornado.web.Application([(r"/checkin/([0-9a-f]{32})", Form),
                               (r"/static/dashboard\.css", Form)])
app.listen(port, "127.0.0.1")
tornado.ioloop.IOLoop.current().start()
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    port: int, path: str, method: str = "GET", cookie: str = "", body: bytes | None = None
) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = dict(FORM) if body is not None else {}
    if cookie:
        headers["Cookie"] = f"casebook_session={cookie}"
    try:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        text = res.read().decode("utf-8", "replace")
        jar = res.headers.get("Set-Cookie") or ""
        session = jar.split(";", 1)[0].split("=", 1)[1] if "casebook_session=" in jar else ""
        return res.status, text, session
    finally:
        conn.close()


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("a server exited before it answered")
        try:
            _request(port, "/static/dashboard.css")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("a server did not answer in time")


@contextmanager
def _server(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait(port, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers() -> list[tuple[str, str]]:
    from casebook.catalog import default_catalog
    from casebook.checkins import form_sections

    return [
        (q.name, q.options[0][0])
        for s in form_sections(default_catalog(), INSTRUMENTS)
        for q in s.questions
    ]


class Casebook:
    """Check-ins sent and opened ahead of time; each submission goes to its own."""

    def __init__(self, url: str, port: int) -> None:
        self.url, self.port = url, port
        self.answers = _answers()

    def opened(self, count: int) -> list[tuple[str, str, str]]:
        """(check-in id, session, CSRF token) of `count` fresh check-ins."""
        from casebook.models import Patient
        from casebook.serve.checkin_links import send_checkin
        from casebook.store import CaseStore

        out = []
        with CaseStore(self.url, actor="benchmark") as store:
            for _ in range(count):
                pid = f"bench-{secrets.token_hex(6)}"
                store.add_patient(Patient(id=pid, name="Bench Person", birth_date=date(1980, 1, 1)))
                link, checkin = send_checkin(
                    store, pid, INSTRUMENTS, base_url=f"http://127.0.0.1:{self.port}"
                )
                _, _, session = _request(self.port, link.split(str(self.port), 1)[1])
                _, page, _ = _request(self.port, f"/checkin/{checkin.id}", cookie=session)
                xsrf = re.search(r'name="_xsrf" value="([0-9a-f]{64})"', page)
                if xsrf is None:
                    raise SystemExit("the check-in form did not open")
                out.append((checkin.id, session, xsrf.group(1)))
        return out

    def page(self, opened: tuple[str, str, str]) -> None:
        status, _, _ = _request(self.port, f"/checkin/{opened[0]}", cookie=opened[1])
        if status != 200:
            raise SystemExit(f"form page answered {status}")

    def submit(self, opened: tuple[str, str, str]) -> None:
        body = urllib.parse.urlencode(
            [("_xsrf", opened[2]), *self.answers, ("action", "submit")]
        ).encode()
        status, _, _ = _request(
            self.port, f"/checkin/{opened[0]}", "POST", cookie=opened[1], body=body
        )
        if status != 200:
            raise SystemExit(f"submission answered {status}")


class Minimal:
    def __init__(self, port: int) -> None:
        self.port = port
        self.answers = _answers()

    def opened(self, count: int) -> list[tuple[str, str, str]]:
        return [(secrets.token_hex(16), "", "") for _ in range(count)]

    def page(self, opened: tuple[str, str, str]) -> None:
        _request(self.port, f"/checkin/{opened[0]}")

    def submit(self, opened: tuple[str, str, str]) -> None:
        body = urllib.parse.urlencode([*self.answers, ("action", "submit")]).encode()
        _request(self.port, f"/checkin/{opened[0]}", "POST", body=body)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) the process `pid` used so far; NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _times(
    call: Callable[[tuple[str, str, str]], None], items: list[tuple[str, str, str]], pid: int
) -> tuple[list[float], float]:
    """Each call's wall time, and the server's CPU time per call."""
    out = []
    cpu = _cpu(pid)
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append(time.perf_counter() - start)
    return out, (_cpu(pid) - cpu) / len(items)


def _rate(side: Casebook | Minimal, per_round: int) -> float:
    items = side.opened(per_round * 4)
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(side.submit, items))
    return len(items) / (time.perf_counter() - start) * 60


@contextmanager
def _store_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh store: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'casebook.db'}"
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = os.environ.get("CASEBOOK_TEST_DATABASE_URL")
    if not base:
        raise SystemExit("postgresql: set CASEBOOK_TEST_DATABASE_URL")
    schema = f"bench_{secrets.token_hex(8)}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def run(kind: str, rounds: int, per_round: int) -> None:
    from casebook.store import CaseStore

    folder = Path(tempfile.mkdtemp(prefix="cb-bench-checkins-"))
    os.environ["CASEBOOK_AUDIT_KEYS"] = str(folder / "audit-keys")  # go with the stores
    load = os.getloadavg()[0]
    with _store_url(kind, folder) as url:
        CaseStore(url, create=True, actor="benchmark").close()
        results = _measure(url, folder, rounds, per_round)
    _report(kind, rounds, per_round, results, (load, os.getloadavg()[0]))


def _measure(
    url: str, folder: Path, rounds: int, per_round: int
) -> dict[str, dict[str, list[float]]]:
    ours_port, floor_port = _port(), _port()
    serve = [sys.executable, "-m", "casebook.serve", "--db", url, "--port", str(ours_port)]
    serve += ["--no-fork", "--no-shared-charts", "--bad-credentials-per-minute", "100000"]
    with _server(serve, ours_port) as ours_proc:
        ours = Casebook(url, ours_port)
        sample = ours.opened(1)[0]
        _, page, _ = _request(ours_port, f"/checkin/{sample[0]}", cookie=sample[1])
        (folder / "page.html").write_text(page, encoding="utf-8")
        (folder / "minimal.py").write_text(MINIMAL, encoding="utf-8")
        minimal = [sys.executable, str(folder / "minimal.py"), url, str(floor_port)]
        with _server([*minimal, str(folder / "page.html")], floor_port) as floor_proc:
            floor = Minimal(floor_port)
            keys = ("page", "page_cpu", "submit", "submit_cpu", "rate")
            results: dict[str, dict[str, list[float]]] = {
                name: {k: [] for k in keys} for name in ("casebook", "minimal")
            }
            for rnd in range(rounds + 1):  # round 0 warms both sides and is not kept
                order = [("casebook", ours, ours_proc.pid), ("minimal", floor, floor_proc.pid)]
                for name, side, pid in order if rnd % 2 else order[::-1]:
                    items = side.opened(per_round)
                    pages, page_cpu = _times(side.page, items, pid)
                    submits, submit_cpu = _times(side.submit, items, pid)
                    rate = _rate(side, per_round)
                    if rnd:
                        results[name]["page"].append(statistics.median(pages))
                        results[name]["page_cpu"].append(page_cpu)
                        results[name]["submit"].append(statistics.median(submits))
                        results[name]["submit_cpu"].append(submit_cpu)
                        results[name]["rate"].append(rate)
    return results


def _report(
    kind: str,
    rounds: int,
    per_round: int,
    results: dict[str, dict[str, list[float]]],
    load: tuple[float, float],
) -> None:
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    c, m = med["casebook"], med["minimal"]
    print(
        f"{kind}: {rounds} rounds of {per_round} (medians of per-round p50s; "
        f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end)"
    )
    for label, key, unit, scale in (
        ("form page p50", "page", "ms", 1000.0),
        ("  server CPU", "page_cpu", "ms", 1000.0),
        ("submission p50", "submit", "ms", 1000.0),
        ("  server CPU", "submit_cpu", "ms", 1000.0),
        ("4 clients", "rate", "/min", 1.0),
    ):
        ratio = c[key] / m[key] if key != "rate" else m[key] / c[key]
        print(
            f"  {label:15} casebook {c[key] * scale:8.2f} {unit:4}  "
            f"minimal {m[key] * scale:8.2f} {unit:4}  ratio {ratio:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=40)
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.rounds, args.per_round)


if __name__ == "__main__":
    main()
