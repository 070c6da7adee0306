"""The kernelspecs: the `casebook` one case notebooks name (installed by `casebook init`)
and the `casebook-forked` one a fork server writes; the names they go by.

A leaf of casebook/kernels/: it imports no other kernels module, so the server, the client
and the provisioner can all take their names from here.

It is a plain ipykernel command with the `casebook-forked` provisioner in its metadata. In
a Jupyter server (JupyterLab, Voilà) the provisioner starts one fork server for that server
process on the first kernel, and every later kernel (another patient's notebook, a restart)
is forked from it with pandas, altair, ipywidgets and casebook already imported; each kernel
talks over IPC from a private folder. Where the provisioner cannot fork, the same argv
starts a plain kernel: slower, never broken.

The spec is written where jupyter itself prefers: into the environment's own Jupyter folder
(`sys.prefix/share/jupyter/kernels/casebook`) in a virtual or conda environment, else into
the user's (`jupyter --data-dir`, which honours `JUPYTER_DATA_DIR`). casebook's own kernel
managers know the spec without it being installed (see `CasebookKernelSpecManager`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "KERNEL_NAME",
    "PROVISIONER_NAME",
    "WORKBOOK_KERNEL",
    "install_kernelspec",
    "kernel_dir",
    "kernelspec",
    "kernelspec_json",
    "plain_kernel_name",
    "workbook_kernelspec",
]

WORKBOOK_KERNEL = "casebook"
"""The kernelspec name case notebooks carry in their metadata."""

KERNEL_NAME = "casebook-forked"
"""The kernelspec name that selects forked kernels (in the folder a `ForkServer` writes)."""

PROVISIONER_NAME = "casebook-forked"
"""The `jupyter_client.kernel_provisioners` entry point of `ForkedProvisioner`."""

_DISPLAY_NAME = "casebook (Python 3)"


def kernelspec_json(display_name: str, provisioner: dict[str, Any]) -> dict[str, Any]:
    """A kernel.json for this Python whose metadata names `provisioner`
    ({"provisioner_name": ..., "config": {...}})."""
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"kernel_provisioner": provisioner},
    }


def kernelspec(socket_path: str) -> dict[str, Any]:
    """A kernel.json that forks from the fork server at `socket_path`.

    `argv` is a plain ipykernel command: the provisioner uses it when the server is gone.
    """
    return kernelspec_json(
        "Python 3 (casebook, forked)",
        {"provisioner_name": PROVISIONER_NAME, "config": {"socket_path": socket_path}},
    )


def workbook_kernelspec() -> dict[str, Any]:
    """The `casebook` kernel.json: forked by the server's own fork server (no socket given)."""
    return kernelspec_json(_DISPLAY_NAME, {"provisioner_name": PROVISIONER_NAME, "config": {}})


def kernel_dir() -> Path:
    """Where `install_kernelspec` writes, by jupyter_core's own rule: the environment's
    Jupyter folder in a virtual or conda environment (or with `JUPYTER_PREFER_ENV_PATH`
    set), else the user's data folder."""
    from jupyter_core.paths import ENV_JUPYTER_PATH, jupyter_data_dir, prefer_environment_over_user

    base = ENV_JUPYTER_PATH[0] if prefer_environment_over_user() else jupyter_data_dir()
    return Path(base) / "kernels" / WORKBOOK_KERNEL


def install_kernelspec(folder: Path | None = None) -> tuple[Path, bool]:
    """Write the `casebook` kernelspec (at `folder`, default `kernel_dir()`); returns the
    folder and whether anything changed. Rewrites a spec that points at another Python."""
    folder = folder or kernel_dir()
    path = folder / "kernel.json"
    wanted = workbook_kernelspec()
    try:
        if json.loads(path.read_text(encoding="utf-8")) == wanted:
            return folder, False
    except (OSError, ValueError):
        pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".kernel.json.tmp")
    tmp.write_text(json.dumps(wanted, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return folder, True


def plain_kernel_name(notebook: Path) -> str:
    """The kernel to run `notebook` in without forking: its own kernelspec, except that the
    `casebook` kernel (which forks) becomes ipykernel's plain `python3`."""
    try:
        name = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return "python3"
    return "python3" if not isinstance(name, str) or name == WORKBOOK_KERNEL else name
