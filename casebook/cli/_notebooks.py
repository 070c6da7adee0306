"""Commands that write notebooks: new, demo, batch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casebook.cli._common import AddCommand, ensure_kernel

__all__ = ["cmd_batch", "cmd_demo", "cmd_new", "register"]


def cmd_demo(args: argparse.Namespace) -> int:
    from casebook.demo import build_demo, build_demo_notebooks, demo_text

    if not args.no_serve:  # a busy port is said now, not after a minute of building
        from casebook.serve.server import check_port_free

        check_port_free("127.0.0.1", args.port)
    result = build_demo(args.dir, patients=args.patients, seed=args.seed, force=args.force)
    if not args.no_notebooks:
        ensure_kernel()
        print(f"building {len(result.patient_ids)} patients' notebooks ...", file=sys.stderr)
        build_demo_notebooks(result)
    sys.stdout.write(demo_text(result))
    failed = result.notebooks is not None and result.notebooks.counts["failed"] > 0
    if failed or args.no_serve:
        return 1 if failed else 0
    from casebook.serve import base_url, grant, run
    from casebook.store import CaseStore

    base = base_url("127.0.0.1", args.port)
    with CaseStore(result.url, actor="casebook-demo") as store:
        links = [(pid, grant(store, pid, 30, base_url=base)) for pid in result.patient_ids]

    def show_links(_: str) -> None:  # once the server accepts connections
        print("\nPatient dashboards, one private link each (Ctrl-C stops the server):")
        for pid, url in links:
            print(f"  {pid}: {url}")
        sys.stdout.flush()

    return run(result.url, host="127.0.0.1", port=args.port, on_ready=show_links)


def cmd_batch(args: argparse.Namespace) -> int:
    from casebook.notebooks import BatchOptions, parse_since, run_batch

    options = BatchOptions(
        database_url=args.db or "",  # run_batch resolves it (SQLAlchemy only if needed)
        out=Path(args.out),
        patients=tuple(args.patient),
        since=parse_since(args.since) if args.since else None,
        from_csv=Path(args.from_csv) if args.from_csv else None,
        templates=[Path(t) for t in args.template] or None,
        html=args.html,
        force=args.force,
        workers=args.workers,
        executor=args.executor,
        scheduler=args.scheduler,
        cell_timeout=args.cell_timeout,
        kernel=args.kernel,
    )
    report = run_batch(options)
    sys.stdout.write(report.summary_text())
    if args.report:
        report.write(Path(args.report))
    return report.exit_code


def cmd_new(args: argparse.Namespace) -> int:
    if not args.execute:  # only json and sqlite3: no papermill, SQLAlchemy or pandas
        from casebook.notebooks import prepare_case_notebook, template_path
        from casebook.workbook import TEMPLATE

        fast = prepare_case_notebook(
            args.patient, args.db, args.out, template_path(TEMPLATE), force=args.force
        )
        if fast is not None:
            ensure_kernel()
            print(fast)
            return 0
    from casebook.notebooks import NotebookFailed
    from casebook.store import resolve_url
    from casebook.workbook import case_notebook

    try:
        path = case_notebook(
            args.patient, resolve_url(args.db), args.out, execute=args.execute, force=args.force
        )
    except NotebookFailed as exc:
        print(f"casebook new: {exc}", file=sys.stderr)
        return 1
    ensure_kernel()
    print(path)
    return 0


def register(add: AddCommand) -> None:
    p = add(
        "new",
        cmd_new,
        "write DIR/PATIENT/NAME-PATIENT.ipynb, the practitioner's case workbook (named "
        "after the patient)",
    )
    p.add_argument("patient", help="the patient's id")
    p.add_argument("--execute", action="store_true", help="also run it now, outputs saved")
    p.add_argument(
        "--force", action="store_true", help="overwrite an existing case notebook (default: refuse)"
    )
    p.add_argument(
        "--out", default="notebooks", metavar="DIR", help="output folder (default: notebooks)"
    )
    p = add("demo", cmd_demo, "create a demo store of synthetic patients")
    p.add_argument(
        "--patients", type=int, default=12, metavar="N", help="how many patients (default 12)"
    )
    p.add_argument(
        "--dir",
        default="casebook-demo",
        metavar="DIR",
        help="folder for the store and notebooks (default casebook-demo)",
    )
    p.add_argument(
        "--seed", type=int, default=1, help="random seed: the same seed, the same patients"
    )
    p.add_argument("--no-serve", action="store_true", help="do not start the dashboard server")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing demo store in DIR, with its entries and links (default: refuse)",
    )
    p.add_argument("--port", type=int, default=8866, help="dashboard server port (default 8866)")
    p.add_argument(
        "--no-notebooks",
        action="store_true",
        help="only the store: skip building the case and dashboard notebooks",
    )
    p = add("batch", cmd_batch, "build executed notebooks for many patients, in parallel")
    p.add_argument(
        "--patient",
        action="append",
        default=[],
        metavar="ID",
        help="only this patient (repeatable; default: all patients)",
    )
    p.add_argument("--since", metavar="DATE", help="only patients whose record changed since")
    p.add_argument(
        "--from",
        dest="from_csv",
        metavar="FILE.csv",
        help="only the patients in this CSV file's patient_id column",
    )
    p.add_argument(
        "--out",
        default="notebooks",
        metavar="DIR",
        help="output folder: DIR/<patient>/<template>.ipynb (default: notebooks)",
    )
    p.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="PATH",
        help="template to build (repeatable; default: templates/case.ipynb and "
        "templates/dashboard.ipynb, whichever exist)",
    )
    p.add_argument(
        "--html", action="store_true", help="also write a standalone HTML copy with the code hidden"
    )
    p.add_argument("--force", action="store_true", help="rebuild notebooks that are current")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: the number of cores)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local worker processes, or a Dask cluster (--scheduler) (default local)",
    )
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="the Dask scheduler")
    p.add_argument(
        "--cell-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="per-cell timeout; a cell with no reply by then is a stall (default 120)",
    )
    p.add_argument(
        "--kernel",
        choices=("forked", "plain"),
        default="forked",
        help="forked: fresh kernels forked from a pre-imported process (fast); "
        "plain: a new Python process per kernel",
    )
    p.add_argument("--report", metavar="FILE.json", help="write the per-patient report here")
