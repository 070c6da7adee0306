"""The check-in pages as HTML, through the one Jinja environment (autoescaped).

Plain pages: no script, the stylesheet inline (the dashboard's and the form's, allowed by
hash in the Content-Security-Policy the server sends with `STYLE_HASH`), radio buttons in
fieldsets with legends, so the form works by keyboard alone, on a phone, and zoomed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence
from importlib.resources import files

from markupsafe import Markup

from casebook.checkins._form import FREE_TEXT_MAX, Draft, Question, Section
from casebook.clinical.vocabulary import GET_IN_TOUCH
from casebook.dashboard import STYLESHEET
from casebook.templating import environment

__all__ = ["STYLE_HASH", "form_page", "message_page", "safety_page"]

_CSS = (
    STYLESHEET.read_text(encoding="utf-8")
    + "\n"
    + files("casebook.checkins").joinpath("static/checkin.css").read_text(encoding="utf-8")
)
STYLE_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
"""The base64 SHA-256 of the inline stylesheet, for `style-src 'sha256-...'`."""
_STYLE = Markup(f"<style>{_CSS}</style>")  # noqa: S704  # package file, no input


def _render(name: str, **values: object) -> str:
    return (
        environment("casebook.checkins", "trim")
        .get_template(name)
        .render(style=_STYLE, question=_question, **values)
    )


@functools.lru_cache(maxsize=4096)
def _question(question: Question, chosen: str | None) -> Markup:
    """One question's fieldset with the option `chosen` ticked, rendered (autoescaped) once
    per question and answer: a form page is mostly these, and the catalog's wording does
    not change while a server runs. Bounded: the catalog's questions times their options."""
    html = environment("casebook.checkins", "trim").get_template("question.html.j2")
    return Markup(html.render(q=question, chosen=chosen))  # noqa: S704  # autoescaped output


@functools.lru_cache(maxsize=1024)
def _section(section: Section, chosen: tuple[str | None, ...]) -> Markup:
    """One section of the form with the options `chosen` (one per question) ticked,
    rendered (autoescaped) once per section and answers: the page is mostly these, and
    most pages show a section unanswered or as saved. Bounded like `_question`."""
    html = environment("casebook.checkins", "trim").get_template("section.html.j2")
    return Markup(html.render(section=section, chosen=chosen, question=_question))  # noqa: S704  # autoescaped output


def form_page(
    sections: Sequence[Section],
    draft: Draft,
    *,
    action: str,
    xsrf: str,
    phone: str,
    error: str = "",
) -> str:
    """The form, answers so far ticked, with `error` (one line) on top when given."""
    return _render(
        "form.html.j2",
        title="Before your visit",
        sections=[
            _section(s, tuple(draft.answered(q.name) for q in s.questions)) for s in sections
        ],
        draft=draft,
        action=action,
        xsrf=xsrf,
        phone=phone,
        error=error,
        free_text_max=FREE_TEXT_MAX,
    )


def message_page(
    title: str, paragraphs: Sequence[str], *, link: str = "", link_text: str = ""
) -> str:
    """A short page of plain paragraphs, with one link if given."""
    return _message_page(title, tuple(paragraphs), link, link_text)


@functools.lru_cache(maxsize=64)
def _message_page(title: str, paragraphs: tuple[str, ...], link: str, link_text: str) -> str:
    """`message_page`, rendered once per text: each is one of the server's own messages
    (a thank-you, a refusal), so the set is small; bounded all the same."""
    return _render(
        "message.html.j2", title=title, paragraphs=paragraphs, link=link, link_text=link_text
    )


def safety_page(
    *, clinic: str, phone: str, self_harm: bool = True, alarms: Sequence[str] = ()
) -> str:
    """What a patient reads at once after an answer that raised a same-day flag: calm
    words on what to do now (about thoughts of self-harm, and about each alarm question
    answered yes, given in the patient's words), the clinic's phone when it is set,
    emergency services, and no promise of a call at a given time."""
    return _render(
        "safety.html.j2",
        title="Thank you",
        get_in_touch=GET_IN_TOUCH,
        clinic=clinic or "the clinic",
        phone=phone,
        self_harm=self_harm,
        alarms=alarms,
    )
