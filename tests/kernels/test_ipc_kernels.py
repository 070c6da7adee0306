"""casebook's kernels talk over IPC from a private folder: no TCP port can collide."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casebook.kernels import (
    KERNEL_NAME,
    ForkServer,
    KernelDiedError,
    died_before_reply,
    kernel_manager_class,
)

CONCURRENT = 12


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    with ForkServer(preload=("ipywidgets",)) as running:
        yield running


async def _start_and_ask(km_class: type[Any], cwd: Path) -> dict[str, Any]:
    """Start one kernel, have it report its pid, and describe its connection."""
    km = km_class(kernel_name=KERNEL_NAME)
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    try:
        folder = Path(km.connection_file).parent
        info = json.loads(Path(km.connection_file).read_text())
        await kc.wait_for_ready(timeout=120)
        reply = await kc.execute_interactive(
            "import os; pid = os.getpid()", timeout=120, user_expressions={"pid": "pid"}
        )
        pid = int(reply["content"]["user_expressions"]["pid"]["data"]["text/plain"])
        return {
            "info": info,
            "folder": folder,
            "mode": stat.S_IMODE(folder.stat().st_mode),
            "pid": pid,
            "forked_pid": km.provisioner.forked_pid,
        }
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


def test_many_concurrent_forked_kernels_all_reply_over_ipc(
    server: ForkServer, tmp_path: Path
) -> None:
    km_class = kernel_manager_class(server.jupyter_path)

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(_start_and_ask(km_class, tmp_path) for _ in range(CONCURRENT))
        )

    kernels = asyncio.run(many())
    pids = {k["pid"] for k in kernels}
    assert len(pids) == CONCURRENT  # every kernel replied, each its own process
    assert all(k["forked_pid"] == k["pid"] for k in kernels)  # forked, no plain fallback
    for k in kernels:
        info = k["info"]
        assert info["transport"] == "ipc"
        assert info["ip"] == str(k["folder"] / "kernel-ipc")  # sockets beside the file
        assert k["mode"] & 0o777 == 0o700  # private (jupyter_client adds the sticky bit)
    folders = {k["folder"] for k in kernels}
    assert len(folders) == CONCURRENT  # one private folder per kernel
    assert not any(folder.exists() for folder in folders)  # removed with the kernel
    assert (
        "JUPYTER_PATH" not in os.environ or server.jupyter_path not in os.environ["JUPYTER_PATH"]
    )  # found through the kernel manager's arguments alone


def test_a_kernel_that_dies_before_replying_says_so(tmp_path: Path) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "dies"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "raise SystemExit(3)", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "dies", "language": "python"})
    )
    km = kernel_manager_class(str(tmp_path / "jupyter"))(kernel_name="dies")

    async def start() -> None:
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    with pytest.raises(KernelDiedError) as caught:
        asyncio.run(start())
    assert died_before_reply(caught.value)
    assert died_before_reply(RuntimeError("Kernel died before replying to kernel_info"))
    assert not died_before_reply(RuntimeError("Kernel didn't respond in 60 seconds"))


def test_dashboard_kernels_use_ipc_beside_their_connection_file(tmp_path: Path) -> None:
    from casebook.serve.render import DashboardKernelManager

    km = DashboardKernelManager(connection_file=str(tmp_path / "kernel-abc.json"))
    assert km.transport == "ipc"
    assert km.ip == str(tmp_path / "kernel-abc-ipc")
    assert not km.cache_ports  # no TCP port is reserved for it


def test_every_casebook_module_the_fork_server_preloads_exists() -> None:
    # The fork server skips a missing module without a word (a kernel must still start), so
    # a module that moved would quietly stop being preloaded and every kernel get slower.
    import importlib
    import importlib.util

    from casebook.kernels.server import DEFAULT_PRELOAD

    names = [entry.partition(":")[0] for entry in DEFAULT_PRELOAD]
    missing = [n for n in names if n.startswith("casebook") and importlib.util.find_spec(n) is None]
    assert not missing, f"DEFAULT_PRELOAD names modules that do not exist: {missing}"
    warms = [entry.split(":") for entry in DEFAULT_PRELOAD if ":" in entry]
    assert warms  # the catalog and the dashboard's templates
    for module, function in warms:
        assert callable(getattr(importlib.import_module(module), function)), (module, function)
