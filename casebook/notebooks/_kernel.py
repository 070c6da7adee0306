"""How a batch job's kernel is started: its kernelspec folders and its environment travel
as the kernel manager's own settings, never through this process's `os.environ`.

`kernel_settings(kernel_dirs, env)` gives the keyword arguments for papermill/nbclient:
`kernel_manager_class=BatchKernelManager` and a traitlets `config` that nbclient hands to
the manager it creates. The manager looks kernelspecs up in `kernel_spec_dirs` first (a
fork server's `casebook-forked` spec) and starts the kernel with `extra_env` added to its
environment (e.g. `PGPASSWORD`, so that no notebook ever holds the password).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from traitlets import Dict, Unicode
from traitlets.config import Config

from casebook.kernels.client import CasebookKernelManager

__all__ = ["BatchKernelManager", "kernel_settings"]


class BatchKernelManager(CasebookKernelManager):
    """A `CasebookKernelManager` (kernelspec folders via its `kernel_spec_dirs`) with extra
    kernel environment."""

    extra_env = Dict(
        value_trait=Unicode(),
        help="variables added to the kernel's environment (not to this process's)",
    ).tag(config=True)

    # jupyter_client types start_kernel as KernelManager's sync wrapper; here it is async
    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]  # see above
        if self.extra_env:
            kw["env"] = {**kw.get("env", os.environ), **self.extra_env}
        await super().start_kernel(**kw)


def kernel_settings(
    kernel_dirs: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """papermill/nbclient keyword arguments that start kernels through `BatchKernelManager`."""
    config = Config()
    config.BatchKernelManager.kernel_spec_dirs = list(kernel_dirs)
    config.BatchKernelManager.extra_env = dict(env or {})
    return {"kernel_manager_class": BatchKernelManager, "config": config}
