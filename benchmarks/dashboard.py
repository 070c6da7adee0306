"""Patient dashboards: time from opening the link to the charts being visible, against stock
Voilà serving the same notebook in the same run; and dashboard views a minute per server.

    python benchmarks/dashboard.py                # 5 runs each, 60 s of throughput
    python benchmarks/dashboard.py --runs 9 --throughput-seconds 120 --ablation

Both servers run the same template (templates/dashboard.ipynb) for the same demo patient:
`casebook serve` gets it through a patient link (token, cookie); with its render cache (the
default) a record that has not changed is served from memory after its first view, without
the cache (`CASEBOOK_RENDER_CACHE_MB=0`) one kernel is forked per view; stock `voila` gets
a copy with the same parameter values written in, no preheating. Headless
Chromium (Debian's) opens each page in a fresh context; the clock stops when every chart
image on the page is decoded. Requests to other hosts are aborted for both (stock Voilà asks
a CDN for Font Awesome) and counted. `--ablation` adds `casebook serve` without each of its
two speed-ups (forked kernels; one shared, warm chart engine) to show what each is worth.
The server's own log gives where a view's time goes (kernel start, cells).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers

from casebook.demo import build_demo
from casebook.notebooks import case_parameters, template_path
from casebook.serve import grant
from casebook.serve.render import prepare_notebook
from casebook.store import CaseStore
from tests.page_checks import CHROMIUM, CHROMIUM_ARGS

CHARTS_DRAWN = """(n) => {
  const imgs = [...document.querySelectorAll('figure.cb-chart img')];
  return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, proc: subprocess.Popen[bytes], path: str, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server on port {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server on port {port} did not answer")


def start(
    cmd: list[str], port: int, folder: Path, name: str, probe: str, env: dict[str, str]
) -> subprocess.Popen:
    log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the server's life
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
    )
    wait_http(port, proc, probe)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def time_page(browser, url: str, charts: int, base: str) -> tuple[float, int, int]:
    """Seconds from navigation to every chart decoded; charts seen; foreign requests."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    foreign = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        parts = urlsplit(r.request.url)
        if parts.scheme != "data" and f"{parts.scheme}://{parts.netloc}" != base:
            foreign.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    page = context.new_page()
    begin = time.perf_counter()
    page.goto(url, wait_until="commit")
    if not charts:  # the first view of the run: let the page finish to count its charts
        page.wait_for_selector("footer.cb-footer", timeout=180_000)
    page.wait_for_function(CHARTS_DRAWN, arg=charts, timeout=180_000, polling=20)
    seconds = time.perf_counter() - begin
    seen = page.eval_on_selector_all("figure.cb-chart img", "i => i.length")
    context.close()
    return seconds, seen, len(foreign)


def server_split(log: Path, views: slice) -> str:
    rows = re.findall(
        r"view rendered in ([\d.]+) s \(prepared ([\d.]+) s, kernel ready "
        r"([\d.]+) s, cells ([\d.]+) s\)",
        log.read_text(errors="replace"),
    )[views]
    if not rows:
        return "no views logged"
    total, prepared, kernel, cells = (
        statistics.median(float(r[i]) for r in rows) for i in range(4)
    )
    return (
        f"{total:.2f} s = prepare {prepared:.2f} + kernel start {kernel:.2f} + "
        f"cells {cells:.2f} ({len(rows)} views)"
    )


def open_session(port: int, token: str) -> str:
    """Open a patient link as a browser does; the session cookie it sets (the cookie holds a
    session id, never the token)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/dashboard?token={token}")
    res = conn.getresponse()
    res.read()
    conn.close()
    cookie = (res.getheader("Set-Cookie") or "").split(";")[0]
    if res.status != 200 or not cookie:
        raise SystemExit(f"opening a link gave HTTP {res.status} and no session cookie")
    return cookie


def throughput(
    port: int, tokens: list[str], seconds: float, workers: int
) -> tuple[int, int, float]:
    """Views completed in `seconds` by `workers` clients, how many were cache hits, time."""
    done, failed, hits = [], [], []
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        cookie = open_session(port, tokens[i % len(tokens)])
        while time.monotonic() < stop_at:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", "/dashboard", headers={"Cookie": cookie})
            res = conn.getresponse()
            body = res.read()
            conn.close()
            whole = res.status == 200 and b'<footer class="cb-footer">' in body
            (done if whole else failed).append(res.status)
            if 'desc="cache"' in (res.getheader("Server-Timing") or ""):
                hits.append(1)

    begin = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - begin
    if failed:
        print(f"  throughput: {len(failed)} views failed: {sorted(set(failed))}")
    return len(done), len(hits), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--throughput-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also casebook serve without forked kernels / shared charts",
    )
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="casebook-bench-dash-"))
    os.environ["CASEBOOK_AUDIT_KEYS"] = str(folder / "audit-keys")  # go with the stores
    demo = build_demo(folder / "demo", patients=args.patients, seed=1)
    pid = demo.patient_ids[0]
    # Stock Voilà's copy: the same template with the same values in its injected cell.
    template = nbformat.read(template_path("dashboard.ipynb"), as_version=4)
    for cell in template.cells:
        cell.metadata.setdefault("tags", [])
    template.metadata.setdefault("papermill", {})
    nbformat.write(
        prepare_notebook(template, case_parameters(pid, demo.url)), folder / "dashboard.ipynb"
    )
    limits = ["--views-per-minute", "100000", "--burst", "100000"]
    servers: dict[str, tuple[int, list[str], str]] = {}
    envs: dict[str, dict[str, str]] = {
        "casebook serve, no cache": {"CASEBOOK_RENDER_CACHE_MB": "0"}
    }
    variants: dict[str, list[str]] = {
        "casebook serve (cache hit)": [],
        "casebook serve, no cache": [],
    }
    if args.ablation:
        variants["casebook serve, stock kernels"] = ["--no-fork"]
        variants["casebook serve, own chart engine"] = ["--no-shared-charts"]
        envs.update({name: envs["casebook serve, no cache"] for name in list(variants)[2:]})
    for name, flags in variants.items():
        port = free_port()
        servers[name] = (
            port,
            [
                sys.executable,
                "-m",
                "casebook.serve",
                "--db",
                demo.url,
                "--port",
                str(port),
                *limits,
                *flags,
            ],
            "/static/dashboard.css",
        )
    stock = free_port()
    servers["stock voila (no preheat)"] = (
        stock,
        [
            sys.executable,
            "-m",
            "voila",
            str(folder / "dashboard.ipynb"),
            "--no-browser",
            f"--port={stock}",
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",
        ],
        "/voila/static/",
    )

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    results: dict[str, list[float]] = {}
    procs = {
        name: start(cmd, port, folder, f"server-{port}", probe, envs.get(name, {}))
        for name, (port, cmd, probe) in servers.items()
    }
    try:
        with CaseStore(demo.url, actor="benchmark") as store:
            links = {
                name: grant(store, pid, 1, base_url=f"http://127.0.0.1:{port}")
                for name, (port, *_rest) in servers.items()
                if "casebook" in name
            }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            charts = 0
            for run in range(args.runs + 1):  # run 0 warms each server up, not counted
                for name, (port, *_rest) in servers.items():
                    base = f"http://127.0.0.1:{port}"
                    url = links.get(name, f"{base}/")
                    seconds, seen, foreign = time_page(browser, url, charts, base)
                    charts = charts or seen
                    if run:
                        results.setdefault(name, []).append(seconds)
                    else:
                        print(
                            f"  {name}: {seen} charts, {foreign} requests to other hosts "
                            f"aborted (warm-up view {seconds:.2f} s)"
                        )
            browser.close()
        print(
            f"\nlink opened -> all {charts} charts visible, headless Chromium "
            f"({args.runs} runs, p50 / best):"
        )
        stock_median = statistics.median(results["stock voila (no preheat)"])
        for name, times in results.items():
            med = statistics.median(times)
            print(
                f"  {name:34s} {med:6.2f} s / {min(times):5.2f} s   "
                f"{stock_median / med:4.1f}x vs stock"
            )
        print(
            f"\nviews a minute, one server, {args.workers} clients, "
            f"{args.throughput_seconds:.0f} s:"
        )
        for name, (port, *_rest) in servers.items():
            if "casebook" not in name:
                continue
            with CaseStore(demo.url, actor="benchmark") as store:
                tokens = [grant(store, p, 1).split("token=")[1] for p in demo.patient_ids]
            n, hits, elapsed = throughput(port, tokens, args.throughput_seconds, args.workers)
            print(
                f"  {name:34s} {n:5d} views in {elapsed:5.1f} s = {60 * n / elapsed:7.1f} "
                f"views/min ({hits} from the cache)"
            )
        for title, views in (
            ("one view at a time", slice(1, args.runs + 1)),
            (f"{args.workers} clients at once", slice(args.runs + 1, None)),
        ):
            print(f"\nwhere a view's time goes on the server, {title} (medians):")
            for name, (port, *_rest) in servers.items():
                if "casebook" in name:
                    log = folder / f"server-{port}.log"
                    print(f"  {name:34s} {server_split(log, views)}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
