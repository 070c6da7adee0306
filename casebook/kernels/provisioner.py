"""`ForkedProvisioner`: jupyter_client starts each kernel by asking a fork server for it.

Selected by a kernelspec whose metadata names the provisioner (see `kernelspec()` in
casebook/kernels/server.py); registered as the `casebook-forked` entry point of
`jupyter_client.kernel_provisioners`. Everything jupyter_client does before the launch
(ports, connection file, environment) is `LocalProvisioner`'s; only the launch and the
process handling differ:

- the kernel gets the arguments jupyter_client appended to the kernelspec's command
  (`extra_arguments`), as a plain kernel would: nbclient's in-memory history among them;
- the kernel is not our child: it is watched by pid (`os.kill(pid, 0)`); the fork server
  lets the system reap it;
- each kernel leads its own process group, so interrupt and kill reach the processes it
  started and never the fork server;
- `kill()` returns once the kernel is gone, so jupyter_client's 0.1 s polling after a kill
  finds it dead at once;
- when the fork server is unreachable, the kernel is started the plain way (Popen of the
  kernelspec's argv) and a warning is logged: slower, never broken.

With no `socket_path` (the `casebook` kernelspec that `casebook init` installs, see
casebook/kernels/spec.py) the provisioner forks from its own process's fork server and
gives the kernel its process's chart service (a warm vl-convert). Both start in the
background on the first kernel, which starts the plain way meanwhile: in JupyterLab the
first notebook never waits for them, and every later kernel and restart is forked.

A kernel whose manager chose TCP (a Jupyter server's) is moved to IPC: its sockets live in
a private folder (mode 0700) removed with the kernel, so there are no ports to collide and
no "running over TCP" warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, Unicode

from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.kernels.forkserver import request_fork

__all__ = ["ForkedProvisioner"]

_KILL_WAIT = 2.0  # seconds kill() waits for the kernel to disappear


_warming: dict[int, list[threading.Thread]] = {}
_failed: set[int] = set()
_warming_lock = threading.Lock()


def _warm_in_background(log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """Start this process's fork server and chart service in daemon threads, unless they are
    starting now. A helper that cannot start is logged and not tried again in this process
    (its kernels start the plain way); one that was stopped is started again."""
    from casebook.kernels.chart_service import process_chart_service
    from casebook.kernels.server import process_fork_server

    pid = os.getpid()
    with _warming_lock:
        if pid in _failed or any(t.is_alive() for t in _warming.get(pid, [])):
            return

        def start(what: str, starter: Callable[[], object]) -> None:
            try:
                starter()
            except Exception as exc:  # noqa: BLE001 - a helper that fails is logged, not fatal
                _failed.add(pid)
                log.warning("casebook: no %s (%s); kernels start the plain way", what, exc)

        threads = [
            threading.Thread(
                target=start, args=(what, starter), daemon=True, name=f"casebook {what} start"
            )
            for what, starter in (
                ("fork server", process_fork_server),
                ("chart service", process_chart_service),
            )
        ]
        _warming[pid] = threads
        for thread in threads:
            thread.start()


class ForkedProvisioner(LocalProvisioner):
    """Launch kernels by forking them from a `ForkServer` (see casebook/kernels/server.py)."""

    socket_path = Unicode(
        "",
        config=True,
        help="The fork server's Unix socket (from the kernelspec's provisioner config).",
    )

    ipc = Bool(
        True,
        config=True,
        help="Move a kernel its manager put on TCP to IPC sockets in a private folder.",
    )

    forked_pid: int | None = None
    _exit_code: int | None = None
    _ipc_folder: str | None = None

    @property
    def has_process(self) -> bool:
        if self.forked_pid is not None:
            return True
        return super().has_process

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if self.ipc and km is not None and getattr(km, "transport", "ipc") == "tcp":
            from casebook.kernels.client import private_folder

            self._ipc_folder = private_folder()
            km.transport = "ipc"
            km.ip = str(Path(self._ipc_folder) / "kernel")
            km.cache_ports = False
        return await super().pre_launch(**kwargs)

    def _own_servers(self) -> tuple[str | None, str | None]:
        """This process's fork server and chart service sockets, if they serve already;
        if not, they start in the background (once a process) and this kernel starts plain
        and draws its own charts: the first notebook of a session never waits for them."""
        from casebook.kernels.chart_service import own_chart_service
        from casebook.kernels.server import own_fork_server

        forks, charts = own_fork_server(), own_chart_service()
        if forks is None or charts is None:
            _warm_in_background(self.log)
        return (forks.socket_path if forks else None, charts.socket_path if charts else None)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        km = self.parent
        connection_file = getattr(km, "connection_file", "") if km is not None else ""
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        socket_path: str | None = self.socket_path
        if not socket_path and connection_file:
            socket_path, charts = self._own_servers()
            if charts:
                env[CHART_SOCKET_ENV] = charts
                kwargs["env"] = env
        if socket_path:
            try:
                # off the event loop: the server's other requests go on while it forks
                pid = await asyncio.to_thread(
                    request_fork, socket_path, connection_file, cwd, env, argv=self._extra(cmd)
                )
            except (OSError, ValueError) as exc:
                self.log.warning("casebook: fork server unavailable (%s); plain kernel start", exc)
            else:
                self.forked_pid = self.pid = self.pgid = pid
                self._exit_code = None
                self.cwd = cwd
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    def _extra(self, cmd: list[str]) -> list[str]:
        """The arguments jupyter_client appended to the kernelspec's argv (its
        `extra_arguments`: nbclient's in-memory history, say): a forked kernel gets them as
        a plain one would."""
        spec = self.kernel_spec
        return list(cmd[len(spec.argv) :]) if spec is not None else []

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if not restart and self._ipc_folder is not None:
            shutil.rmtree(self._ipc_folder, ignore_errors=True)
            self._ipc_folder = None

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
