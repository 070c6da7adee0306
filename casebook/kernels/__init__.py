"""Fresh kernels fast: each kernel is forked from a process that already imported its libraries.

Every notebook still runs in its own new kernel process (no state is shared between
patients), but the imports (ipykernel, pandas, numpy, altair, ipywidgets, casebook) are
paid once per fork server instead of once per kernel.

Use from any jupyter_client user (papermill, nbclient, a Voilà server) in three steps:

```python
from casebook.kernels import ForkServer, KERNEL_NAME, use_forked_kernels

kernel_name = use_forked_kernels()   # starts this process's fork server once, sets JUPYTER_PATH
papermill.execute_notebook(src, dst, kernel_name=kernel_name)
```

or, to own the server's lifetime (e.g. a web server), `with ForkServer() as server:` and
put `server.jupyter_path` first on `JUPYTER_PATH` before jupyter_client looks up kernelspecs.
The kernelspec names the `casebook-forked` provisioner (`ForkedProvisioner`, registered as a
`jupyter_client.kernel_provisioners` entry point); it falls back to a plain kernel start when
the server is gone. Fork a kernel only after deciding whose notebook it runs: the server
never runs patient code, and a kernel learns nothing from it but imported libraries.

Forked kernels inherit `OPENBLAS_NUM_THREADS=1` (numpy's thread pool cannot exist before a
fork) and their numpy random state is reseeded.
"""

from __future__ import annotations

from casebook.kernels.server import (
    DEFAULT_PRELOAD,
    KERNEL_NAME,
    PROVISIONER_NAME,
    ForkServer,
    ForkServerError,
    kernelspec,
    serving_jupyter_path,
    use_forked_kernels,
)

__all__ = [
    "DEFAULT_PRELOAD",
    "KERNEL_NAME",
    "PROVISIONER_NAME",
    "ForkServer",
    "ForkServerError",
    "ForkedProvisioner",
    "kernelspec",
    "serving_jupyter_path",
    "use_forked_kernels",
]


def __getattr__(name: str) -> object:
    # jupyter_client is imported only by those who launch kernels.
    if name == "ForkedProvisioner":
        from casebook.kernels.provisioner import ForkedProvisioner

        return ForkedProvisioner
    raise AttributeError(name)
