"""Hub benchmark (issue 23 item 5): a clinic on a real JupyterHub and PostgreSQL.

    python benchmarks/hub.py --db postgresql+psycopg://postgres@127.0.0.1:5432/DB
                             [--rounds 5] [--writers 10] [--saves 10]

Needs `pip install 'casebook[hub]'` and configurable-http-proxy (`.ci/run` puts it in
.cache/hub). Everything happens in a new schema of `--db`, dropped afterwards, with
database logins made for the run and dropped afterwards.

1. **Sign-in to a usable workbook**: a practitioner gets a token from the hub's REST API,
   starts their own server and waits until the hub says it is ready, then a kernel of that
   server runs the case workbook's first sections (the template's cells up to the visits
   form: open the case, header and red flags, visits). Their server is stopped between
   rounds, so every round is a cold sign-in. One untimed round first; the medians of the
   whole and of each step are printed.
2. **Save latency under load**: `--writers` practitioners, each in their own process with
   their own database login (as their own kernels would be), save edits of a note of their
   own patient at once (`--saves` each, released together); against the same saves by one
   practitioner alone. The two sides alternate (which goes first flips every round) after
   one untimed round of each; the printed figures are medians over all saves of all rounds,
   and their ratio (load / alone). The save is `CaseStore.save` of an edited record, what a
   workbook form's Save button calls. Every save of every round must be in the store.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers

from casebook.demo.synthetic import generate_cases
from casebook.hub import HubSettings, add_hub_user, init_hub
from casebook.hub.settings import read_credential
from casebook.models import Note
from casebook.notebooks import template_path
from casebook.store import CaseStore, import_cases
from tests.hub.hub_helpers import Hub, free_port, proxy_binary, start_hub
from tests.pg_roles import Clinic


def first_sections(patient_id: str) -> str:
    """The case template's code up to its visits form, for `patient_id`, reading the store
    from the server's own login ($CASEBOOK_DB, as on the hub)."""
    nb = nbformat.read(template_path("case.ipynb"), as_version=4)
    code = [f"patient_id = {patient_id!r}", 'database_url = ""']
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        code.append(cell.source)
        if "visits_section" in cell.source:
            break
    code.append('print("USABLE")')
    return "\n".join(code)


def sign_in_round(hub: Hub, user: str, code: str) -> tuple[float, float, float]:
    """Seconds to a token, to a ready server, and to the first sections run."""
    t0 = time.perf_counter()
    hub.sign_in(user)
    t1 = time.perf_counter()
    hub.start_server(user)
    t2 = time.perf_counter()
    out = hub.run(user, code)
    t3 = time.perf_counter()
    if "USABLE" not in out:
        raise SystemExit(f"the workbook's first sections failed in {user}'s kernel:\n{out}")
    hub.stop_server(user)
    return t1 - t0, t2 - t1, t3 - t2


def _writer(url: str, note: dict[str, Any], saves: int, tag: str, start: Any, out: Any) -> None:
    """One practitioner's kernel: open the store, wait for the others, save `saves` edits."""
    with CaseStore(url) as store:
        current = Note.model_validate(note)
        current = next(x for x in store.load_case(current.patient_id).notes if x.id == current.id)
        start.wait()
        times = []
        for i in range(saves):
            edited = current.model_copy(update={"text": f"{current.text} {tag}.{i}"})
            t0 = time.perf_counter()
            current = store.save(edited)
            times.append(time.perf_counter() - t0)
    out.put(times)


def save_round(urls: list[str], notes: list[Note], saves: int, tag: str) -> list[float]:
    """Each writer in its own process, all released at once; every save's seconds."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(len(urls)), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(u, n.model_dump(mode="json"), saves, tag, start, out))
        for u, n in zip(urls, notes, strict=True)
    ]
    for p in procs:
        p.start()
    times = [t for _ in procs for t in out.get(timeout=600)]
    for p in procs:
        p.join(timeout=600)
        if p.exitcode != 0:
            raise SystemExit(f"a writer failed (exit {p.exitcode})")
    return times


def _schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_hub_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_schema(base: str, schema: str) -> None:
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def run(base: str, rounds: int, writers: int, saves: int) -> None:
    jupyterhub, proxy = shutil.which("jupyterhub"), proxy_binary()
    if jupyterhub is None or proxy is None:
        raise SystemExit("needs jupyterhub (pip install 'casebook[hub]') and the proxy")
    url, schema = _schema_url(base)
    clinic = Clinic(url)
    hub: Hub | None = None
    try:
        cases = generate_cases(writers, seed=11, catalog=clinic.owner.catalog)
        import_cases(clinic.owner, cases)
        notes = [
            clinic.owner.save(Note(patient_id=c.patient.id, written_on=date.today(), text="log:"))
            for c in cases
        ]
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["CASEBOOK_AUDIT_KEYS"] = str(Path(tmp) / "audit-keys")  # go with the stores
            folder, port, suffix = Path(tmp) / "hub", free_port(), uuid.uuid4().hex[:8]
            settings = HubSettings(
                port=port,
                authenticator="dummy",
                spawner="simple",
                dashboard_port=free_port(),
                dashboard_login=f"dash_{suffix}",
            )
            init_hub(folder, settings, admin_url=url)
            clinic.made.append(settings.dashboard_login)
            names = [f"p{k}_{suffix}" for k in range(writers)]
            for name in names:
                add_hub_user(folder, url, name, "practitioner")
                clinic.made.append(name)
            urls = [read_credential(folder, n) or "" for n in names]

            hub = start_hub(jupyterhub, proxy, folder, port, Path(tmp) / "hub.log")
            code = first_sections(cases[0].patient.id)
            sign_in_round(hub, names[0], code)  # warm-up, untimed
            signs = [sign_in_round(hub, names[0], code) for _ in range(rounds)]
            hub.stop()

            save_round(urls[:1], notes[:1], saves, "warm1")  # warm-up, untimed
            save_round(urls, notes, saves, "warmN")
            alone: list[float] = []
            loaded: list[float] = []
            for r in range(rounds):
                order = [("one", 1), ("all", writers)]
                for side, n in order if r % 2 == 0 else reversed(order):
                    times = save_round(urls[:n], notes[:n], saves, f"{side}{r}")
                    (alone if n == 1 else loaded).extend(times)
            _check_saves(clinic.owner, notes, names, saves, rounds)
    finally:
        if hub is not None:
            hub.stop()
        clinic.drop_roles()
        _drop_schema(base, schema)

    token, ready, sections = (list(x) for x in zip(*signs, strict=True))
    total = [a + b + c for a, b, c in signs]
    print(f"sign-in to a usable workbook: median {statistics.median(total):.2f} s over {rounds}")
    print(
        f"  token {_ms(token):.0f} ms, server ready {statistics.median(ready):.2f} s, "
        f"first sections {statistics.median(sections):.2f} s"
    )
    print(f"save, one practitioner alone: median {_ms(alone):.1f} ms over {len(alone)} saves")
    print(
        f"save, {writers} practitioners at once: median {_ms(loaded):.1f} ms over "
        f"{len(loaded)} saves"
    )
    print(f"ratio under load / alone: {_ms(loaded) / _ms(alone):.2f}x")


def _check_saves(owner: CaseStore, notes: list[Note], names: list[str], saves: int, n: int) -> None:
    """Every save of every round is in the store, and the log names its writer: the first
    writer saved in both warm-ups and on both sides of each round, the others in the
    loaded warm-up and in each round's loaded side."""
    for k, note in enumerate(notes):
        stored = next(x for x in owner.load_case(note.patient_id).notes if x.id == note.id)
        expected = 1 + saves * (2 + 2 * n if k == 0 else 1 + n)
        actors = {e.actor for e in owner.audit_log(note.patient_id) if e.action == "update"}
        if stored.version != expected or actors != {names[k]}:
            raise SystemExit(f"note of {note.patient_id}: version {stored.version}, by {actors}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a PostgreSQL URL whose user may make roles")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--writers", type=int, default=10)
    ap.add_argument("--saves", type=int, default=10, help="saves per writer per round")
    args = ap.parse_args(argv)
    run(args.db, args.rounds, args.writers, args.saves)


if __name__ == "__main__":
    main()
