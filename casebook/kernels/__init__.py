"""Fresh kernels fast: each kernel is forked from a process that already imported its libraries.

Every notebook still runs in its own new kernel process (no state is shared between
patients), but the imports (ipykernel, pandas, numpy, altair, ipywidgets, casebook) are
paid once per fork server instead of once per kernel.

Use from any jupyter_client user (papermill, nbclient, a Voilà server):

```python
from casebook.kernels import CasebookKernelManager, use_forked_kernels

kernel_name = use_forked_kernels()  # starts this process's fork server once
papermill.execute_notebook(
    src, dst, kernel_name=kernel_name, kernel_manager_class=CasebookKernelManager
)
```

or, to own the server's lifetime, `with ForkServer() as server:` and pass
`kernel_manager_class=kernel_manager_class(server.jupyter_path)` (in any process); a
Jupyter/Voilà server uses
`CasebookKernelSpecManager` with `extra_kernel_dirs=[server.kernels_dir]`. Kernelspecs reach
jupyter_client as arguments: nothing here changes `os.environ`.
The kernelspec names the `casebook-forked` provisioner (`ForkedProvisioner`, registered as a
`jupyter_client.kernel_provisioners` entry point); it falls back to a plain kernel start when
the server is gone. Fork a kernel only after deciding whose notebook it runs: the server
never runs patient code, and a kernel learns nothing from it but imported libraries.

Kernels started by `CasebookKernelManager` use IPC transport, with their connection file
and sockets in a private folder: no TCP port to collide with another kernel's.

Forked kernels inherit `OPENBLAS_NUM_THREADS=1` (numpy's thread pool cannot exist before a
fork) and their numpy random state is reseeded.
"""

from __future__ import annotations

from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.kernels.server import (
    DEFAULT_PRELOAD,
    ForkServer,
    ForkServerError,
    own_kernel_dirs,
    serving_jupyter_path,
    use_forked_kernels,
)
from casebook.kernels.spec import KERNEL_NAME, PROVISIONER_NAME, kernelspec

__all__ = [
    "CHART_SOCKET_ENV",
    "DEFAULT_PRELOAD",
    "KERNEL_NAME",
    "PROVISIONER_NAME",
    "CasebookKernelManager",
    "CasebookKernelSpecManager",
    "ForkServer",
    "ForkServerError",
    "ForkedProvisioner",
    "KernelDiedError",
    "died_before_reply",
    "kernel_manager_class",
    "kernelspec",
    "own_kernel_dirs",
    "serving_jupyter_path",
    "use_forked_kernels",
]

# jupyter_client is imported only by those who launch kernels.
_LAZY = {
    "CasebookKernelManager": "casebook.kernels.client",
    "CasebookKernelSpecManager": "casebook.kernels.client",
    "KernelDiedError": "casebook.kernels.client",
    "died_before_reply": "casebook.kernels.client",
    "kernel_manager_class": "casebook.kernels.client",
    "ForkedProvisioner": "casebook.kernels.provisioner",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
