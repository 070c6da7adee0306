"""A process that imports the kernel's libraries once, then forks one fresh kernel per request.

Run as `python -m casebook.kernels.forkserver SOCKET [MODULE ...]` by `ForkServer`
(casebook/kernels/server.py), never by hand. The server

- imports ipykernel and the preload modules (calling the warm-up function an entry
  `module:function` names), then refuses to serve if the process holds
  a second OS thread (forking a threaded process can deadlock the child); it never creates
  a zmq context, and `OPENBLAS_NUM_THREADS=1` keeps numpy's thread pool out;
- listens on a Unix socket (in a 0700 folder made by its owner) for one JSON line per
  request: `{"connection_file": ..., "cwd": ..., "env": {...}, "argv": [...]}`, answers
  `{"pid": N}` (`argv`, optional: the extra arguments a plain kernel's command line would
  carry after the kernelspec's own, e.g. nbclient's `--HistoryManager.hist_file=:memory:`);
- ignores SIGCHLD so the kernels it forks are reaped by the system as they exit, and
  ignores SIGINT (its owner stops it by closing its standard input, or by SIGTERM);
- never runs patient code: it only imports libraries and forks. Each child starts a new
  session (its own process group), restores the default signal handlers, takes the
  requested environment and working directory (the catalog loaded ahead is dropped if
  that environment names another clinic catalog folder), reseeds numpy, starts an IPython kernel
  on the connection file and registers the ipywidgets comm target; it answers the
  request itself once its sockets are bound.

A kernel ends when the server exits (ipykernel's parent poller) and when the process that
asked for it is gone (a watcher thread in the kernel), so a killed client leaks none.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Mapping, Sequence

from casebook.kernels.helper import exit_now, ignore_interrupts, listen, serve

__all__ = ["READY", "main", "request_fork", "thread_count"]

READY = "casebook-forkserver ready"
_MAX_REQUEST = 1 << 20
_KERNEL_MODULES = (  # what IPKernelApp.initialize would import in every child
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.comm",
    "ipykernel.debugger",
    "ipykernel.eventloops",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
)


def thread_count() -> int:
    """OS threads of this process (Linux), else Python's count."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover - not Linux
        import threading

        return threading.active_count()


def request_fork(
    socket_path: str,
    connection_file: str,
    cwd: str,
    env: Mapping[str, str],
    timeout: float = 30,
    argv: Sequence[str] = (),
) -> int:
    """Ask the server at `socket_path` for a kernel; returns its pid. Raises OSError.
    `argv`: the kernel's extra command-line arguments (as a plain kernel would get them)."""
    payload = json.dumps(
        {
            "connection_file": connection_file,
            "cwd": cwd,
            "env": dict(env),
            "owner": os.getpid(),
            "argv": list(argv),
        }
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(payload.encode() + b"\n")
        reply = _read_line(conn)
    answer = json.loads(reply) if reply else {}
    if "pid" not in answer:
        raise OSError(f"fork server refused: {answer.get('error', 'no answer')}")
    return int(answer["pid"])


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.strip()


def _preload(modules: Sequence[str]) -> list[str]:
    """Import `modules`; casebook modules that do not exist yet are skipped, not fatal.
    An entry `module:function` also calls `function()` once imported: work every kernel
    would otherwise repeat (the catalog, the dashboard's compiled templates), done once."""
    skipped = []
    for entry in modules:
        name, _, warm = entry.partition(":")
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not name.startswith("casebook.") or exc.name != name:
                raise
            skipped.append(entry)
            continue
        if warm:
            getattr(module, warm)()
    return skipped


def _forget_stale(server_env: Mapping[str, str], env: Mapping[str, str]) -> None:
    """Drop what the server loaded ahead that this kernel's environment changes: the
    catalog, when the kernel names another clinic folder than the server did."""
    catalog = sys.modules.get("casebook.catalog")
    if catalog is not None and server_env.get(catalog.ENV_VAR) != env.get(catalog.ENV_VAR):
        catalog.default_catalog.cache_clear()


def _handle(listener: socket.socket, conn: socket.socket) -> None:
    try:
        conn.settimeout(10)
        request = json.loads(_read_line(conn))
        cf, cwd, env = request["connection_file"], request["cwd"], request["env"]
        owner = request.get("owner", 0)
        argv = request.get("argv", [])
        if not (isinstance(cf, str) and isinstance(cwd, str) and isinstance(env, dict)):
            raise ValueError("bad request")
        if not isinstance(owner, int) or isinstance(owner, bool):
            raise ValueError("bad owner")
        if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
            raise ValueError("bad argv")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _reply(conn, {"error": f"{type(exc).__name__}: {exc}"})
        return
    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 1
        try:
            listener.close()
            _become_kernel(cf, cwd, env, server_pid, conn, owner, argv)
            code = 0
        except BaseException:  # noqa: BLE001 - the child must reach os._exit, whatever
            traceback.print_exc()
        finally:
            os._exit(code)
    # The child answers once its sockets are bound, so the client's first connect succeeds
    # (no zmq reconnect interval to wait out); a child that dies first answers nothing.


def _reply(conn: socket.socket, answer: dict[str, object]) -> bool:
    try:
        conn.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:
        return False  # the client gave up
    return True


def _watch_owner(owner: int) -> None:
    """End this kernel when the process that asked for it is gone (as a plain kernel ends
    with its launcher), even if the fork server lives on."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - the pid now belongs to another user
            os._exit(1)


def _become_kernel(
    connection_file: str,
    cwd: str,
    env: dict[str, str],
    server_pid: int,
    conn: socket.socket,
    owner: int = 0,
    argv: Sequence[str] = (),
) -> None:
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    server_env = dict(os.environ)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    os.environ.pop("JPY_PARENT_PID", None)
    os.chdir(cwd)
    _forget_stale(server_env, os.environ)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # every child would otherwise share one state
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel_launcher", "-f", connection_file, *argv]
    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file, f"--IPKernelApp.parent_handle={server_pid}", *argv])
    if "ipywidgets" in sys.modules:
        # ipywidgets registers its comm target at import only when a kernel exists;
        # it was imported before this kernel did.
        sys.modules["ipywidgets"].register_comm_target()
    answered = _reply(conn, {"pid": os.getpid()})
    conn.close()
    if not answered:
        raise SystemExit("the client that asked for this kernel is gone")
    if owner > 1:
        import threading

        threading.Thread(target=_watch_owner, args=(owner,), daemon=True).start()
    app.start()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m casebook.kernels.forkserver SOCKET [MODULE ...]", file=sys.stderr)
        return 2
    socket_path, modules = args[0], [*_KERNEL_MODULES, *args[1:]]
    ignore_interrupts()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    from casebook.kernels.imports import import_jsonschema_quickly

    import_jsonschema_quickly()
    skipped = _preload(modules)
    threads = thread_count()
    if threads != 1:
        print(
            f"casebook fork server: {threads} threads after imports; refusing to fork",
            file=sys.stderr,
        )
        return 3
    listener = listen(socket_path)
    print(json.dumps({"ready": READY, "skipped": skipped}), flush=True)
    os.dup2(2, 1)  # nobody reads the owner's pipe after this line: never let a kernel fill it
    serve(listener, lambda conn: _handle(listener, conn))
    return 0


if __name__ == "__main__":
    exit_now(main())
