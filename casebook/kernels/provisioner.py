"""`ForkedProvisioner`: jupyter_client starts each kernel by asking a fork server for it.

Selected by a kernelspec whose metadata names the provisioner (see `kernelspec()` in
casebook/kernels/server.py); registered as the `casebook-forked` entry point of
`jupyter_client.kernel_provisioners`. Everything jupyter_client does before the launch
(ports, connection file, environment) is `LocalProvisioner`'s; only the launch and the
process handling differ:

- the kernel is not our child: it is watched by pid (`os.kill(pid, 0)`); the fork server
  lets the system reap it;
- each kernel leads its own process group, so interrupt and kill reach the processes it
  started and never the fork server;
- `kill()` returns once the kernel is gone, so jupyter_client's 0.1 s polling after a kill
  finds it dead at once;
- when the fork server is unreachable, the kernel is started the plain way (Popen of the
  kernelspec's argv) and a warning is logged: slower, never broken.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from casebook.kernels.forkserver import request_fork

__all__ = ["ForkedProvisioner"]

_KILL_WAIT = 2.0  # seconds kill() waits for the kernel to disappear


class ForkedProvisioner(LocalProvisioner):
    """Launch kernels by forking them from a `ForkServer` (see casebook/kernels/server.py)."""

    socket_path = Unicode(
        "",
        config=True,
        help="The fork server's Unix socket (from the kernelspec's provisioner config).",
    )

    forked_pid: int | None = None
    _exit_code: int | None = None

    @property
    def has_process(self) -> bool:
        if self.forked_pid is not None:
            return True
        return super().has_process

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        km = self.parent
        connection_file = getattr(km, "connection_file", "") if km is not None else ""
        env = kwargs.get("env") or dict(os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        if self.socket_path and connection_file:
            try:
                pid = request_fork(self.socket_path, connection_file, cwd, env)
            except (OSError, ValueError) as exc:
                self.log.warning("casebook: fork server unavailable (%s); plain kernel start", exc)
            else:
                self.forked_pid = self.pid = self.pgid = pid
                self._exit_code = None
                self.cwd = cwd
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    def _alive(self) -> bool:
        assert self.forked_pid is not None  # noqa: S101 - called only for a forked kernel
        try:
            os.kill(self.forked_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - the pid was reused by another user
            return False
        return True

    async def poll(self) -> int | None:
        if self.forked_pid is None:
            return await super().poll()
        if self._alive():
            return None
        return self._exit_code if self._exit_code is not None else 0

    async def wait(self) -> int | None:
        if self.forked_pid is None:
            return await super().wait()
        while self._alive():
            await asyncio.sleep(0.01)
        code = self._exit_code if self._exit_code is not None else 0
        self.forked_pid = None
        return code

    async def send_signal(self, signum: int) -> None:
        if self.forked_pid is None:
            return await super().send_signal(signum)
        try:
            os.killpg(self.forked_pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:  # pragma: no cover - not our group any more
            os.kill(self.forked_pid, signum)

    async def kill(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().kill(restart)
        self._exit_code = -signal.SIGKILL
        await self.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + _KILL_WAIT
        while self._alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def terminate(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().terminate(restart)
        self._exit_code = -signal.SIGTERM
        await self.send_signal(signal.SIGTERM)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info["forked_pid"] = self.forked_pid
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.forked_pid = provisioner_info.get("forked_pid")
