"""A kernel manager whose client is ready as soon as the kernel is.

jupyter_client's `wait_for_ready` ends with a fixed wait: it drains IOPub until 0.2 s pass
with no message, on every kernel start. `ReadyKernelClient.wait_for_ready` keeps the same
guarantees (a `kernel_info_reply` on shell, and proof that IOPub is connected) and stops
as soon as the kernel's `idle` status for that request arrives on IOPub. It uses only the
public client API (`kernel_info`, the channels' `get_msg`, `is_alive`).

Kernels started by `CasebookKernelManager` talk over IPC (Unix sockets), not TCP: their
sockets and connection file live in a private folder (mode 0700) made for each kernel and
removed with it. Two kernel managers can then never pick the same port (with TCP, a port
one manager chose could be taken by another kernel before this one bound it: "Address
already in use", "Kernel died before replying to kernel_info"), and the traffic never
leaves the machine, so ipykernel has no reason to warn that TCP is unencrypted.

Pass `kernel_manager_class=CasebookKernelManager` to papermill/nbclient (any kernelspec,
forked or plain), or `kernel_manager_class(jupyter_path)` to also find the kernelspecs of
a folder (a fork server's) without touching `JUPYTER_PATH`. A kernel that dies before its
first reply raises `KernelDiedError` (`died_before_reply` also recognises jupyter_client's
own message), so a caller can retry it once in a fresh kernel.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client import protocol_version_info
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, DottedObjectName, List, Type, Unicode, default

from casebook.kernels.server import own_kernel_dirs
from casebook.kernels.spec import KERNEL_NAME, WORKBOOK_KERNEL, workbook_kernelspec

__all__ = [
    "CasebookKernelManager",
    "CasebookKernelSpecManager",
    "KernelDiedError",
    "ReadyKernelClient",
    "died_before_reply",
    "ipc_transport",
    "kernel_manager_class",
    "private_folder",
]

_IOPUB_WAIT = 1.0  # seconds to see the idle status before asking again
_DIED = "Kernel died before replying to kernel_info"  # jupyter_client's words, kept
_MAX_SOCKET_DIR = 64  # a Unix socket path holds at most 107 bytes: keep the folder short


class KernelDiedError(RuntimeError):
    """The kernel process ended before it answered its first `kernel_info_request`."""


def died_before_reply(exc: BaseException) -> bool:
    """Whether `exc` says a kernel died before its first reply (casebook's client or
    jupyter_client's): such a start may be retried once in a fresh kernel."""
    return isinstance(exc, KernelDiedError) or (
        isinstance(exc, RuntimeError) and str(exc).startswith(_DIED)
    )


def ipc_transport() -> CaselessStrEnum[str]:
    """A kernel manager's `transport` trait whose default is IPC."""
    return CaselessStrEnum(
        ["tcp", "ipc"],
        default_value="ipc",
        config=True,
        help="ZMQ transport of the kernel's sockets (IPC: Unix sockets beside the "
        "connection file, no ports to collide)",
    )


def private_folder() -> str:
    """A new private folder (mode 0700) with a path short enough for IPC sockets."""
    base = tempfile.gettempdir()
    # a short path for IPC sockets; mkdtemp below makes a private 0700 folder inside it
    if len(base) > _MAX_SOCKET_DIR and os.path.isdir("/tmp"):  # noqa: S108
        base = "/tmp"  # noqa: S108
    return tempfile.mkdtemp(prefix="cbk-", dir=base)  # 0700


class CasebookKernelSpecManager(KernelSpecManager):
    """A kernelspec manager that looks in `extra_kernel_dirs` first, then where jupyter
    does (a server's kernelspecs reach it as an argument, not through `JUPYTER_PATH`)."""

    extra_kernel_dirs = List(
        Unicode(),
        config=True,
        help="Kernelspec folders searched before the usual ones (e.g. a fork server's)",
    )

    @default("kernel_dirs")
    def _kernel_dirs_with_extras(self) -> list[str]:
        return [*self.extra_kernel_dirs, *KernelSpecManager._kernel_dirs_default(self)]

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        """As jupyter finds it; the `casebook` workbook kernel is known even where
        `casebook init` did not install it (a notebook names it; papermill must run it)."""
        try:
            return super().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            if kernel_name.lower() != WORKBOOK_KERNEL:
                raise
            return KernelSpec(resource_dir="", **workbook_kernelspec())


class ReadyKernelClient(AsyncKernelClient):
    """An async kernel client whose `wait_for_ready` has no fixed wait."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if (
                reply is not None
                and reply["msg_type"] == "kernel_info_reply"
                and await self._idle_seen(msg_id)
            ):
                major = int(reply["content"]["protocol_version"].split(".")[0])
                if major != protocol_version_info[0]:
                    self.session.adapt_version = major
                return
            if not await self.is_alive():
                raise KernelDiedError(_DIED)
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _idle_seen(self, msg_id: str) -> bool:
        """Read IOPub until the kernel reports idle for `msg_id` (IOPub is connected)."""
        end = time.monotonic() + _IOPUB_WAIT
        while (left := end - time.monotonic()) > 0:
            try:
                msg: dict[str, Any] = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (
                msg["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
        return False


class CasebookKernelManager(AsyncKernelManager):
    """`AsyncKernelManager` handing out `ReadyKernelClient`s, for kernels on IPC transport
    whose connection file and sockets live in a private folder removed with the kernel."""

    client_class = DottedObjectName("casebook.kernels.client.ReadyKernelClient")
    client_factory = Type(klass=ReadyKernelClient, default_value=ReadyKernelClient)
    transport = ipc_transport()
    kernel_spec_dirs = List(
        Unicode(),
        config=True,
        help="Kernelspec folders searched before the usual ones (e.g. a fork server's)",
    )
    _private: str | None = None

    @property
    def ipykernel(self) -> bool:
        """Whether the kernel is ipykernel: jupyter_client knows only the `python3` names;
        casebook's kernelspecs run ipykernel too. nbclient reads this to give the kernel
        an in-memory history (`--HistoryManager.hist_file=:memory:`): without it, every
        kernel of a batch wrote its cells, the injected patient id among them, into the
        user's history file, through a saving thread of its own."""
        return bool(super().ipykernel) or self.kernel_name in (KERNEL_NAME, WORKBOOK_KERNEL)

    @default("kernel_spec_manager")
    def _spec_manager_with_extras(self) -> KernelSpecManager:
        extra = [*self.kernel_spec_dirs, *own_kernel_dirs()]
        return CasebookKernelSpecManager(data_dir=self.data_dir, extra_kernel_dirs=extra)

    @default("connection_file")
    def _private_connection_file(self) -> str:
        self._private = private_folder()
        return str(Path(self._private) / "kernel.json")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    cleanup_resources = _async_cleanup_resources


@functools.cache
def kernel_manager_class(jupyter_path: str | None = None) -> type[CasebookKernelManager]:
    """`CasebookKernelManager`, finding first the kernelspecs under `jupyter_path`/kernels
    (e.g. a `ForkServer`'s `jupyter_path`, passed to another process as a string)."""
    if not jupyter_path:
        return CasebookKernelManager
    folder = os.path.join(jupyter_path, "kernels")
    trait = List(
        Unicode(),
        default_value=[folder],
        config=True,
        help="Kernelspec folders searched before the usual ones",
    )
    return type("ForkedKernelManager", (CasebookKernelManager,), {"kernel_spec_dirs": trait})
