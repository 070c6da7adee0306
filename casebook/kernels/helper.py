"""One lifecycle for casebook's helper processes: the fork server and the chart service.

A helper is `python -m MODULE SOCKET [ARG ...]`, owned by the process that starts it:

- **start**: a private folder (mode 0700, from `tempfile.mkdtemp`) holds its Unix socket
  (and whatever the owner writes there first); the helper gets pipes on stdin and stdout;
- **ready**: the helper prints one line on stdout once its socket listens; the owner reads
  that line and nothing else (EOF or another line is a failed start, reported with the
  exit status; the helper's stderr says why);
- **health**: `alive` is true while the process runs;
- **stop**: the owner closes the helper's stdin (the helper exits on EOF, even if the
  owner is killed, since the pipe closes with it), waits, kills a helper that lingers,
  and removes the folder.

The helper's side of the same contract is `ignore_interrupts`, `listen`, `serve` and
`exit_now`: ignore SIGINT (Ctrl-C reaches the whole process group; the owner stops its
helpers itself), bind the socket (mode 0600), handle connections until stdin closes, then
exit at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

__all__ = [
    "HelperProcess",
    "exit_now",
    "ignore_interrupts",
    "listen",
    "owned_helper",
    "process_helper",
    "serve",
    "stop_owned_helper",
]

_STOP_WAIT = 5.0  # seconds a helper gets to exit after its stdin closes


class HelperProcess:
    """Start, wait for, watch and stop one helper process (see the module docstring).

    The fork server and the chart service are `HelperProcess`es: they name their module
    and socket, and add their own `start` around `spawn` and `read_ready`."""

    def __init__(
        self,
        module: str,
        *,
        socket_name: str,
        folder_prefix: str,
        description: str,
        error: type[Exception] = RuntimeError,
        stderr: int | IO[Any] | None = None,
    ) -> None:
        self.module = module
        self.socket_name = socket_name
        self.folder_prefix = folder_prefix
        self.description = description
        self.error = error
        self.stderr = stderr
        self.process: subprocess.Popen[str] | None = None
        self.folder: Path | None = None
        self.ready_line: str | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def socket_path(self) -> str:
        if self.folder is None:
            raise self.error(f"the {self.description} is not started")
        return str(self.folder / self.socket_name)

    def make_folder(self) -> Path:
        """The private folder (made once, before `launch`, so the owner can fill it)."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=self.folder_prefix))  # 0700
        return self.folder

    def spawn(self, args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> None:
        """Start the helper without waiting for it (a no-op if it was started)."""
        if self.process is not None:
            return
        self.make_folder()
        self.process = subprocess.Popen(  # noqa: S603 - this python, our module, no shell
            [sys.executable, "-m", self.module, self.socket_path, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=None if env is None else dict(env),
            text=True,
        )

    def read_ready(self, is_ready: Callable[[str], bool]) -> str:
        """The helper's ready line, once it serves; `error` (and the helper stopped) if it
        printed anything else or exited first."""
        if self.process is None:
            raise self.error(f"the {self.description} is not launched")
        if self.ready_line is not None:
            return self.ready_line
        stdout = self.process.stdout
        line = stdout.readline().strip() if stdout is not None else ""
        if stdout is not None:
            stdout.close()  # the helper writes nothing else there
        if not line or not is_ready(line):
            code = self.process.wait()
            self.stop()
            raise self.error(
                f"the {self.description} did not start (exit status {code}); see its standard error"
            )
        self.ready_line = line
        return line

    def stop(self) -> None:
        """Stop the helper and remove its folder (safe to call twice, or before start). One
        whose ready line was never read (launched, then not needed) is killed at once: it
        may still be importing, and would read its stdin's EOF only after that."""
        proc, ready, self.process, self.ready_line = self.process, self.ready_line, None, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # the helper exits on EOF
            try:
                proc.wait(timeout=_STOP_WAIT if ready is not None else 0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


H = TypeVar("H", bound=HelperProcess)
_owned: dict[tuple[int, str], HelperProcess] = {}
_owned_lock = threading.Lock()
_starting: dict[tuple[int, str], threading.Lock] = {}


def process_helper(name: str, start: Callable[[], H]) -> H:
    """This process's own helper called `name`: made by `start()` (which returns it serving)
    on first use, reused while it lives, stopped at exit. Thread-safe, so an event loop may
    call it through `asyncio.to_thread`; `start`'s errors propagate and nothing is kept."""
    key = (os.getpid(), name)
    with _owned_lock:
        lock = _starting.setdefault(key, threading.Lock())
    with lock:  # one start per name; helpers of other names start meanwhile
        helper = _owned.get(key)
        if helper is None or not helper.alive:
            helper = start()
            _owned[key] = helper
            atexit.register(helper.stop)
        return helper  # type: ignore[return-value]  # stored by this function as an H


def owned_helper(name: str) -> HelperProcess | None:
    """The live helper `process_helper(name, ...)` started in this process, if any."""
    helper = _owned.get((os.getpid(), name))
    return helper if helper is not None and helper.alive else None


def stop_owned_helper(name: str) -> None:
    """Stop and forget this process's helper called `name` (the next use starts a new one)."""
    with _owned_lock:
        helper = _owned.pop((os.getpid(), name), None)
    if helper is not None:
        helper.stop()


def exit_now(code: int) -> None:
    """Last thing in a helper: exit without tearing the interpreter down. A helper that
    imported pandas, altair and the rest spends seconds of CPU freeing them at exit, and
    its owner waits for it; it holds no file or state to close."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed by the owner
            stream.flush()
    os._exit(code)


def ignore_interrupts() -> None:
    """First thing in a helper: Ctrl-C in a terminal reaches the whole process group, and
    the owner stops its helpers itself (a helper printing a traceback helps nobody)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def listen(socket_path: str) -> socket.socket:
    """The helper's listening socket (mode 0600)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    return listener


def serve(listener: socket.socket, handle: Callable[[socket.socket], None]) -> None:
    """Accept connections and `handle` each (then close it) until stdin reaches EOF."""
    stdin = sys.stdin.fileno()
    try:
        while True:
            ready, _, _ = select.select([listener, stdin], [], [])
            if stdin in ready and not os.read(stdin, 4096):
                return  # the owner is gone or asked us to stop
            if listener in ready:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:  # a non-blocking listener shared with another
                    continue  # process that accepted this connection first
                with conn:
                    handle(conn)
    finally:
        listener.close()
