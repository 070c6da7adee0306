"""Form fields made from the case models: one widget, its label and its error message.

A field's widget is chosen from the model's annotation (a choice for a `Literal`, a date
picker for a date, yes/no/not-asked for an optional bool, a text box otherwise), so a
form never restates what the model already knows. Numbers are typed as text, so that an
empty box means "not recorded" and a bad number gets its message beside the field.
Validation is the model's: `Fields.build` turns a pydantic error into messages placed
beside the fields it names.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Union, get_args, get_origin

import ipywidgets as W
from pydantic import BaseModel, ValidationError

from casebook.errors import CasebookError
from casebook.format import number
from casebook.workbook.widgets._html import esc, pretty

__all__ = [
    "LABEL_WIDTH",
    "Field",
    "FieldErrors",
    "Fields",
    "Look",
    "Quiet",
    "defaults",
    "errors_by_field",
    "field_for",
]

LABEL_WIDTH = "150px"
_MULTILINE = frozenset({"notes", "instructions", "rationale", "summary", "text"})


class FieldErrors(CasebookError, ValueError):
    """Values a form cannot save; `.errors` maps field name ('' for the form) to message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k or 'form'}: {v}" for k, v in self.errors.items()))


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    """A pydantic error as {field: message}; errors of the whole model go under ''."""
    found: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        names = [p for p in err["loc"] if isinstance(p, str)]
        message = err["msg"].removeprefix("Value error, ")
        found.setdefault(names[-1] if names else "", []).append(message)
    return {name: "; ".join(messages) for name, messages in found.items()}


class Quiet:
    """True while a form shows saved values, so that its observers ignore those changes."""

    def __init__(self) -> None:
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> Quiet:
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1


class Look:
    """Layouts and styles shared by the widgets of one notebook.

    Every ipywidget otherwise brings its own Layout and Style models, which roughly triples
    the models a form sends to the browser; widgets that look alike share them here."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, ...], W.Widget] = {}

    def layout(self, **kwargs: str) -> W.Layout:
        key = ("layout", *sorted(kwargs.items()))
        if key not in self._made:
            self._made[key] = W.Layout(**kwargs)
        return self._made[key]

    def style(self, widget: type[W.Widget], **kwargs: str) -> W.Widget:
        kind = widget.class_traits()["style"].klass
        key = ("style", kind, *sorted(kwargs.items()))
        if key not in self._made:
            self._made[key] = kind(**kwargs)
        return self._made[key]

    def make(
        self,
        widget: type[W.Widget],
        *,
        layout: dict[str, str] | None = None,
        style: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """`widget(**kwargs)` with a shared layout and (where it has one) a shared style."""
        if "style" in widget.class_traits():
            kwargs["style"] = self.style(widget, **(style or {}))
        return widget(layout=self.layout(**(layout or {})), **kwargs)

    def row(self, children: list[W.Widget]) -> W.HBox:
        return self.make(W.HBox, children=children, layout={"align_items": "center"})

    def column(self, children: list[W.Widget]) -> W.VBox:
        return self.make(W.VBox, children=children)


@dataclass
class Field:
    """One widget (its description is the label) and the error shown beside it."""

    name: str
    label: str
    widget: W.ValueWidget
    parse: Callable[[Any], Any]  # widget value -> model value; ValueError names the problem
    show: Callable[[Any], Any]  # model value -> widget value
    look: Look

    def __post_init__(self) -> None:
        self.error: W.HTML | None = None  # made on the first error, to keep forms light
        self.row = self.look.row([self.widget])

    @property
    def value(self) -> Any:
        return self.parse(self.widget.value)

    @value.setter
    def value(self, value: Any) -> None:
        self.widget.value = self.show(value)

    def peek(self) -> Any:
        """The value if it parses, else None (for forms that react to a choice)."""
        try:
            return self.value
        except ValueError:
            return None

    def set_error(self, message: str) -> None:
        if self.error is None:
            if not message:
                return
            self.error = self.look.make(W.HTML, layout={"margin": "0 0 0 8px"})
            self.row.children = (*self.row.children, self.error)
        self.error.value = f'<span style="color:#b00020">✖ {esc(message)}</span>' if message else ""


def _same(value: Any) -> Any:
    return value


def _choice(
    name: str,
    label: str,
    widget: W.ValueWidget,
    choices: list[tuple[str, Any]],
    required: bool,
    look: Look,
) -> Field:
    """A choice whose values may include None ('not asked'): ipywidgets reads a None value as
    'nothing selected', so the widget holds each choice's position and the field maps it."""
    values = [v for _, v in choices]
    widget.options = [(text, str(i)) for i, (text, _) in enumerate(choices)]
    widget.index = 0

    def parse(position: str | None) -> Any:
        value = values[int(position)] if position is not None else None
        if value is None and required:
            raise ValueError("choose one")
        return value

    def show(value: Any) -> str:
        for i, known in enumerate(values):
            if known is value or (known == value and type(known) is type(value)):
                return str(i)
        raise ValueError(f"{value!r} is not a choice of {name}")

    return Field(name, label, widget, parse, show, look)


def _text(value: Any) -> Any:
    if isinstance(value, float):
        return number(value)  # 30.0 reads "30"
    return "" if value is None else str(value)


def _number(kind: type, optional: bool) -> Callable[[str], int | float | None]:
    def parse(raw: str) -> int | float | None:
        text = raw.strip().replace(",", ".") if isinstance(raw, str) else raw
        if text in ("", None):
            if optional:
                return None
            raise ValueError("a number is required")
        try:
            return kind(text) if kind is float else int(str(text))
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{raw!r} is not {what}") from None

    return parse


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) < len(get_args(annotation)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return annotation, False


def field_for(
    model: type[BaseModel],
    name: str,
    look: Look,
    *,
    label: str | None = None,
    options: Sequence[tuple[str, Any]] | None = None,
    width: str = "420px",
    label_width: str = LABEL_WIDTH,
) -> Field:
    """A field for `model.name`, its widget chosen from the annotation (`options` overrides).
    `width` is the whole field's, label included."""
    info = model.model_fields[name]
    annotation, optional = _strip_optional(info.annotation)
    label = label or pretty(name).capitalize()
    common: dict[str, Any] = {"description": label}
    style = {"description_width": label_width}

    def made(widget: type[W.Widget], field_width: str = width, **kwargs: Any) -> Any:
        return look.make(widget, layout={"width": field_width}, style=style, **common, **kwargs)

    if options is not None or get_origin(annotation) is Literal:
        choices = (
            list(options)
            if options is not None
            else [(pretty(str(v)), v) for v in get_args(annotation)]
        )
        required = info.is_required() and not optional
        if (optional or required) and all(v is not None for _, v in choices):
            choices.insert(0, ("— choose —" if required else "—", None))
        return _choice(name, label, made(W.Dropdown), choices, required, look)
    if annotation is bool:
        choices = (
            [("not asked", None), ("no", False), ("yes", True)]
            if optional
            else [("no", False), ("yes", True)]
        )
        # Wide enough for "not asked" in the selected button's bold type (90px clipped it
        # to "not ask…"): about 9px a character and the button's padding.
        longest = max(len(text) for text, _ in choices)
        widget = look.make(
            W.ToggleButtons,
            **common,
            layout={"width": "auto"},
            style=style | {"button_width": f"{max(90, 9 * longest + 30)}px"},
        )
        return _choice(name, label, widget, choices, False, look)
    if annotation is date:
        widget = made(W.DatePicker, f"calc({label_width} + 170px)")
        if optional:
            return Field(name, label, widget, _same, _same, look)

        def required_date(value: date | None) -> date:
            if value is None:
                raise ValueError("a date is required")
            return value

        return Field(name, label, widget, required_date, _same, look)
    if annotation in (int, float):
        widget = made(W.Text, f"calc({label_width} + 120px)")
        return Field(name, label, widget, _number(annotation, optional), _text, look)
    if name in _MULTILINE:
        widget = made(W.Textarea, f"calc({label_width} + 520px)", rows=3)
    else:
        widget = made(W.Text)
    return Field(name, label, widget, _text, _text, look)


def defaults(model: type[BaseModel], names: Sequence[str]) -> dict[str, Any]:
    """What a new record of `model` starts with: the model's defaults, None where required."""
    out: dict[str, Any] = {}
    for name in names:
        info = model.model_fields[name]
        out[name] = None if info.is_required() else info.get_default(call_default_factory=True)
    return out


class Fields:
    """The fields of one form: read them, load them, show errors beside them."""

    def __init__(self, *fields: Field) -> None:
        self._fields = {f.name: f for f in fields}
        self.loading = Quiet()

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields.values())

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    @property
    def rows(self) -> list[W.Widget]:
        return [f.row for f in self._fields.values()]

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the user changes any field (not while `load` runs)."""

        def changed(_: Any) -> None:
            if not self.loading:
                callback()

        for f in self._fields.values():
            f.widget.observe(changed, "value")

    def load(self, values: Mapping[str, Any]) -> None:
        """Show these values (missing names keep theirs) and clear every error."""
        with self.loading:
            for name, value in values.items():
                if name in self._fields:
                    self._fields[name].value = value
        self.clear_errors()

    def _read(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, f in self._fields.items():
            try:
                values[name] = f.value
            except ValueError as exc:
                values[name], errors[name] = None, str(exc)
        return values, errors

    def values(self) -> dict[str, Any]:
        """The parsed values; FieldErrors (also shown beside the fields) for bad ones."""
        values, errors = self._read()
        self.show(errors)
        if errors:
            raise FieldErrors(errors)
        return values

    def build(self, make: Callable[[dict[str, Any]], Any], *, whole: str = "") -> Any:
        """`make(values)`. Every problem is shown beside its field at once: values that do
        not parse, then the model's own errors (errors of the whole model, such as a date
        span, go beside the field `whole`), and raised as FieldErrors (errors of no field
        here go under '')."""
        values, errors = self._read()
        result = None
        try:
            result = make(values)
        except ValidationError as exc:
            found = errors_by_field(exc)
            if whole and "" in found:
                found[whole] = found.pop("")
            errors = found | errors  # a value that did not parse says why first
        except FieldErrors as exc:
            errors = exc.errors | errors
        except Exception:
            if not errors:
                raise
        self.show(errors)
        if errors:
            raise FieldErrors(self._general(errors))
        return result

    def show(self, errors: Mapping[str, str]) -> dict[str, str]:
        """Put each message beside its field; returns the messages of no field here."""
        for name, f in self._fields.items():
            f.set_error(errors.get(name, ""))
        return {k: v for k, v in errors.items() if k not in self._fields}

    def _general(self, errors: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, message in errors.items():
            key, text = (
                (name, message)
                if name in self._fields or not name
                else ("", f"{pretty(name)}: {message}")
            )
            out[key] = f"{out[key]}; {text}" if key in out else text
        return out

    def clear_errors(self) -> None:
        for f in self._fields.values():
            f.set_error("")
