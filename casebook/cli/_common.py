"""What every command module shares: the store from the common options, input files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from casebook.errors import InputError

if TYPE_CHECKING:  # the store (SQLAlchemy, Alembic) loads only for commands that use it
    from casebook.store import CaseStore

__all__ = ["AddCommand", "day_arg", "ensure_kernel", "open_store", "read_input"]


class AddCommand(Protocol):
    """Adds a sub-command: `add(name, func, help)` returns its parser for the arguments."""

    def __call__(
        self, name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser: ...


def open_store(args: argparse.Namespace, *, create: bool = False) -> CaseStore:
    """The store named by `--db` (else $CASEBOOK_DB), acting as `--actor`."""
    from casebook.store import CaseStore

    return CaseStore(args.db, actor=args.actor, create=create)


def day_arg(name: str, text: str | None) -> date | None:
    """The date an option gave as YYYY-MM-DD (None if not given); InputError naming it."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None


def ensure_kernel(*, always_say: bool = False) -> None:
    """Install the `casebook` kernelspec that case notebooks name, if it is missing or
    points at another Python; say where on stderr (always, with `always_say`). A folder
    that cannot be written is a warning, not a failure: the notebook still opens with
    another kernel."""
    from casebook.kernels.spec import install_kernelspec, kernel_dir

    try:
        folder, changed = install_kernelspec()
    except OSError as exc:
        print(
            f"casebook: could not install the 'casebook' Jupyter kernel at {kernel_dir()}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return
    if changed or always_say:
        print(
            f"Jupyter kernel 'casebook' (fast start for case notebooks) at {folder}",
            file=sys.stderr,
        )
