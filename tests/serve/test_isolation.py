"""Nothing from the request reaches a kernel; a kernel starts clean; bad credentials throttle.

A probe notebook (served instead of the dashboard) prints, escaped, what its kernel can see:
its parameters, its environment and its working directory.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from serve_helpers import Server, start_server

from casebook.serve.render import kernel_environment

pytestmark = pytest.mark.slow

MARK = "probe-marker-7f3a"
PROBE = """\
import html, os
from IPython.display import HTML
seen = {"patient_id": patient_id, "database_url": database_url, "cwd": os.getcwd(),
        "pid": os.getpid(),
        "files": sorted(os.listdir(".")), "env": dict(os.environ),
        "names": sorted(k for k in globals() if not k.startswith("_"))}
HTML("<pre id='probe'>" + html.escape(repr(seen)) + "</pre>")
"""


@pytest.fixture(scope="module")
def probe_server(serve_store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("probe")
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('patient_id: str = "nobody"\ndatabase_url: str = ""')
    params.metadata.tags = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(PROBE),
        nbformat.v4.new_code_cell(
            f"import sys\nprint('{MARK}-stderr', file=sys.stderr)\n"
            f"raise RuntimeError('{MARK}-secret')"
        ),
        nbformat.v4.new_code_cell(f"print('{MARK}-stdout')\n1 / 0"),
    ]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    srv = start_server(
        serve_store.url, folder, "--notebook", str(path), "--bad-credentials-per-minute", "3"
    )
    yield srv
    srv.stop()


def _seen(body: str) -> dict:  # type: ignore[type-arg]
    match = re.search(r"<pre id='probe'>(.*?)</pre>", body, re.S)
    assert match, body[:2000]
    return ast.literal_eval(html.unescape(match.group(1)))  # type: ignore[no-any-return]


def test_query_string_and_headers_never_reach_the_kernel(probe_server: Server, serve_store) -> None:
    a, b = serve_store.patients[:2]
    token = probe_server.token(a)
    evil = {
        "X-Probe": MARK,
        "User-Agent": MARK,
        "Referer": f"http://{MARK}/",
        "X-Forwarded-For": MARK,
        "Accept-Language": MARK,
    }
    opened = probe_server.request(f"/dashboard?token={token}&x={MARK}&patient_id={b}", headers=evil)
    assert opened.status == 200
    page = probe_server.request(
        f"/dashboard?q={MARK}&patient_id={b}&template=lab&theme=dark"
        f"&database_url=sqlite:///{MARK}.db",
        cookie=opened.session,
        headers=evil,
    )
    assert page.status == 200, page.body[:2000]
    seen = _seen(page.body)
    assert seen["patient_id"] == a
    assert seen["database_url"] == serve_store.url
    assert MARK not in page.body and token not in page.body
    env = seen["env"]
    for name in (
        "QUERY_STRING",
        "SCRIPT_NAME",
        "PATH_INFO",
        "SERVER_NAME",
        "SERVER_PORT",
        "VOILA_REQUEST_URL",
        "VOILA_BASE_URL",
        "VOILA_SERVER_URL",
        "VOILA_APP_PORT",
        "CASEBOOK_DB",
        "PGPASSWORD",
    ):
        assert name not in env, name
    assert not [k for k in env if k.startswith("HTTP_")]
    # A fresh, private working directory: not the server's folder, no store file in it.
    assert Path(seen["cwd"]) != Path(serve_store.folder)
    assert "casebook.db" not in seen["files"]
    # The kernel knows only what the notebook defines.
    assert {"patient_id", "database_url"} <= set(seen["names"])


def test_failing_cells_show_one_kind_message_and_no_traceback(
    probe_server: Server, serve_store
) -> None:
    page = probe_server.request("/dashboard", cookie=probe_server.session(serve_store.patients[3]))
    assert page.status == 200
    assert "<pre id='probe'>" in page.body  # the cells before the failure are shown
    assert page.body.count('class="cb-card cb-problem"') == 1
    for leak in (
        f"{MARK}-secret",
        f"{MARK}-stderr",
        f"{MARK}-stdout",
        "Traceback",
        "RuntimeError",
        "ZeroDivisionError",
    ):
        assert leak not in page.body, leak
    assert page.body.rstrip().endswith("</html>")


def test_each_view_gets_a_new_kernel_process(probe_server: Server, serve_store) -> None:
    token = probe_server.session(serve_store.patients[2])
    pids, kernels = set(), set()
    for _ in range(2):
        page = probe_server.request("/dashboard", cookie=token)
        assert page.status == 200
        seen = _seen(page.body)
        pids.add(seen["pid"])
        kernels.add(seen["env"].get("VOILA_KERNEL_ID"))
    assert len(pids) == 2 and probe_server.proc.pid not in pids
    assert len(kernels) == 2 and None not in kernels


def test_bad_credentials_from_one_address_are_throttled(probe_server: Server) -> None:
    codes = [probe_server.request(f"/dashboard?token={'z' * 43}").status for _ in range(6)]
    assert codes[0] == 403
    assert codes[-1] == 429, codes
    assert probe_server.request("/dashboard").status == 429  # no credentials count too


def test_kernel_environment_drops_request_values_and_passes_the_password() -> None:
    base = {
        "PATH": "/bin",
        "QUERY_STRING": "x",
        "VOILA_REQUEST_URL": "u",
        "HTTP_X": "h",
        "CASEBOOK_DB": "postgresql+psycopg://u:old@h/db",
        "CASEBOOK_CATALOG_DIR": "/c",
        "PGPASSWORD": "stale",
    }
    env = kernel_environment("postgresql+psycopg://u:s3cret@h/db", base)
    assert env == {"PATH": "/bin", "CASEBOOK_CATALOG_DIR": "/c", "PGPASSWORD": "s3cret"}
    assert "PGPASSWORD" not in kernel_environment("sqlite:////tmp/x.db", base)
    inherited = {**base, "CASEBOOK_CHART_SOCKET": "/elsewhere"}
    assert "CASEBOOK_CHART_SOCKET" not in kernel_environment("sqlite://", inherited)
    chosen = kernel_environment("sqlite://", inherited, chart_socket="/run/charts.sock")
    assert chosen["CASEBOOK_CHART_SOCKET"] == "/run/charts.sock"
