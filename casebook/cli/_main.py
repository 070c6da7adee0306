"""The `casebook` command. Thin: it parses arguments and calls library functions.

Exit codes: 0 done, 1 bad input or a store error (the message says what), 2 usage.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from casebook import __version__
from casebook.errors import CasebookError

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["main"]

# Each module adds its commands with `register(add)`; a new command group is one line here.
_COMMAND_MODULES = (
    "_records",
    "_notebooks",
    "_serve",
    "_flags",
    "_clinic",
    "_letters",
    "_users",
    "_hub",
    "_checkins",
)


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a mistyped command or option, and no abbreviated
    options: `--htm` is an unknown option, never silently `--html`. Sub-command parsers are
    made by this class too, so the rule holds on every one of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it by namespace type
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        unknown = next((e for e in extras if e.startswith("-") and len(e) > 1), None)
        if unknown is not None:
            typed = unknown.split("=", 1)[0]
            known = [o for o in self._option_string_actions if o.startswith("--")]
            close = difflib.get_close_matches(typed, known, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.print_usage(sys.stderr)
            self.exit(2, f"{self.prog}: unknown option {typed!r}{hint}\n")
        return parsed, extras

    def _check_value(self, action: argparse.Action, value: object) -> None:
        choices = action.choices
        if (
            isinstance(action, argparse._SubParsersAction)
            and isinstance(choices, dict)
            and value not in choices
        ):
            close = difflib.get_close_matches(str(value), list(choices), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.print_usage(sys.stderr)
            self.exit(2, f"{self.prog}: unknown command {value!r}{hint}\n")
        super()._check_value(action, value)


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $CASEBOOK_DB, else sqlite:///casebook.db)",
    )
    common.add_argument(
        "--actor",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who is making changes, for the audit log (default: $CASEBOOK_USER, else the "
        "login name); SQLite is single-practitioner: on PostgreSQL with users the database "
        "records the connection's login instead",
    )
    parser = _Parser(
        prog="casebook",
        parents=[common],
        description="A clinical case workbook on Jupyter. It documents and supports "
        "decisions; it never diagnoses.",
    )
    parser.add_argument("--version", action="version", version=f"casebook {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    for name in _COMMAND_MODULES:
        importlib.import_module(f"casebook.cli.{name}").register(add)
    return parser


def _validation_line(exc: ValidationError) -> str:
    """One line for a pydantic error: the first offending field and why, never its value."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return f"{exc.title}: invalid"
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or exc.title
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field}: {first['msg']}{more}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.db = getattr(args, "db", None)
    args.actor = getattr(args, "actor", None)
    try:
        return int(args.func(args))
    except CasebookError as exc:  # bad input or state: one line, exit 1
        print(f"casebook {args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `casebook export X | head`
        return 0
    except OSError as exc:  # e.g. a folder given as FILE, or an unwritable --dir
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"casebook {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not _is_validation_error(exc):
            raise
        # a model refused a value the command built
        print(f"casebook {args.command}: {_validation_line(exc)}", file=sys.stderr)
        return 1


def _is_validation_error(exc: Exception) -> TypeGuard[ValidationError]:
    """A pydantic error, checked without importing pydantic (`casebook new` does not)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(exc, pydantic.ValidationError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
