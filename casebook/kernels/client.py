"""A kernel manager whose client is ready as soon as the kernel is.

jupyter_client's `wait_for_ready` ends with a fixed wait: it drains IOPub until 0.2 s pass
with no message, on every kernel start. `ReadyKernelClient.wait_for_ready` keeps the same
guarantees (a `kernel_info_reply` on shell, and proof that IOPub is connected) and stops
as soon as the kernel's `idle` status for that request arrives on IOPub. It uses only the
public client API (`kernel_info`, the channels' `get_msg`, `is_alive`).

Pass `kernel_manager_class=CasebookKernelManager` to papermill/nbclient (any kernelspec,
forked or plain); a Voilà or Jupyter server can set it as its `kernel_manager_class`.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client import protocol_version_info
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

__all__ = ["CasebookKernelManager", "ReadyKernelClient"]

_IOPUB_WAIT = 1.0  # seconds to see the idle status before asking again


class ReadyKernelClient(AsyncKernelClient):  # type: ignore[misc]
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
                raise RuntimeError("Kernel died before replying to kernel_info")
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


class CasebookKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """`AsyncKernelManager` handing out `ReadyKernelClient`s."""

    client_class = DottedObjectName("casebook.kernels.client.ReadyKernelClient")
    client_factory = Type(klass=ReadyKernelClient, default_value=ReadyKernelClient)
