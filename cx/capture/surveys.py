"""Survey definitions: versioned YAML files under ``data/surveys/<id>/v<N>.yaml``, their
validation, the questions a respondent sees given the answers so far, the checking of a
submitted form, and the data-contract row an answer becomes.

A definition is never edited in place: :func:`save` writes version N+1 (answers keep the version
they were given on). Conditions are parsed into :class:`Condition` (a field, one of six
operators, a number or a word) and compared in Python; user text is never evaluated, and texts
only know two placeholders, ``{agency}`` and ``{first_name}``.
"""

from __future__ import annotations

import operator
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from cx.core.atomic import fsync_dir
from cx.core.data import CHANNELS
from cx.core.roles import DATA_ADMINS
from cx.core.users import User

LANGUAGES = ("es", "fr", "en", "ru")
"""The languages a survey may be offered in (the survey pages have their buttons in these)."""
LANGUAGE_NAMES = {"es": "Español", "fr": "Français", "en": "English", "ru": "Русский"}
"""Each language in its own words, for language pickers."""
CADENCES = ("quarter", "month", "week")
"""How answers are cut into waves: ``2026-Q4``, ``2026-12`` or ISO week ``2026-W49``."""
KINDS = ("nps", "csat", "attribute", "comment", "text", "choice", "callback", "phone", "slot")
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
OUTCOMES = ("promoter", "passive", "detractor", "callback")
STATUSES = ("draft", "live")
SCALES = {"nps": (0, 10), "csat": (1, 5), "attribute": (0, 10)}
"""The answer range of each scale question."""
FIXED_IDS = {
    "nps": "nps",
    "csat": "csat",
    "comment": "comment",
    "callback": "callback",
    "phone": "phone",
    "slot": "callback_slot",
}
"""Kinds whose form field name is fixed by the HTTP contract."""
PLACEHOLDERS = ("agency", "first_name")
SAMPLE_VALUES = {"agency": "Madrid", "first_name": "Ana"}
"""The placeholder values of the designer's preview."""
DEFAULT_FILE = Path(__file__).parent.parent / "config" / "surveys" / "default.yaml"
MAX_TEXT = 2000
"""Longest survey text (question, intro, thank-you) an analyst may write, per language."""
SYSTEM_USER = "cx"
"""``updated_by`` of the default survey written on first start."""

_SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ATTR_ID = re.compile(r"^attr_[a-z0-9_]+$")
_FOLLOWUP_ID = re.compile(r"^followup_[a-z0-9_]+$")
_WORD = re.compile(r"^[a-z0-9_]+$")
_VERSION_FILE = re.compile(r"^v([1-9]\d*)\.yaml$")
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([<>=!]+)\s*(.*?)\s*$")
_BRACES = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER = re.compile(r"(,\s*|\s+)?\{(agency|first_name)\}")
_PHONE = re.compile(r"^\+?[0-9 ()\-]+$")


class SurveyError(ValueError):
    """A survey definition is wrong or absent: one line naming the file, the field and the value."""


class SurveyForbidden(SurveyError, PermissionError):
    """The acting user may not edit survey definitions (only data admins may)."""


class AnswerError(ValueError):
    """One bad field of a submitted survey form (the page refuses the form and stores nothing)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


REFUSED = (SurveyError, SurveyForbidden)
"""What a designer's save may be refused with; the screen shows the line and nothing is saved."""


@dataclass(frozen=True)
class Choice:
    """One option of a choice or slot question: the submitted value and its label per language."""

    value: str
    label: Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    """``field op value`` on an answer of an earlier step, e.g. ``attr_cleanliness <= 4``."""

    field: str
    op: str
    value: int | str

    def holds(self, answers: Mapping[str, Any]) -> bool:
        """Whether the answers meet the condition; a missing or blank answer never does.

        >>> Condition("nps", "<=", 6).holds({"nps": "4"}), Condition("nps", "<=", 6).holds({})
        (True, False)
        """
        given = answers.get(self.field)
        if given is None or (isinstance(given, str) and not given.strip()):
            return False
        compare = OPS.get(self.op)
        if compare is None:
            return False
        if isinstance(self.value, int):
            try:
                number = int(str(given).strip())
            except ValueError:
                return False
            return compare(number, self.value)
        if self.op not in ("==", "!="):
            return False
        return compare(str(given).strip(), self.value)

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value}"


@dataclass(frozen=True)
class Question:
    """One question; ``id`` is its form field name (``nps``, ``attr_<id>``, ``followup_<id>``…)."""

    id: str
    kind: str
    text: Mapping[str, str]
    choices: tuple[Choice, ...] = ()
    when: tuple[Condition, ...] = ()
    required: bool = False
    max_length: int = 2000
    low: Mapping[str, str] = field(default_factory=dict)
    high: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One screen of the survey: the questions of one form (only the visible ones are shown)."""

    questions: tuple[Question, ...]
    title: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Survey:
    """One version of a survey definition."""

    id: str
    version: int
    name: str
    languages: tuple[str, ...]
    default_language: str
    cadence: str = "quarter"
    touchpoint: str | None = None
    intro: Mapping[str, str]
    steps: tuple[Step, ...]
    thanks: Mapping[str, Mapping[str, str]]
    review_url: str | None = None
    status: str = "live"
    updated_by: str = ""
    updated_at: str = ""

    def questions(self) -> list[Question]:
        """Every question of every step, in order."""
        return [q for step in self.steps for q in step.questions]


# ---------------------------------------------------------------- parsing


class _Invalid(Exception):
    """A bad field, raised while parsing and turned into one :class:`SurveyError` line."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where = where
        self.message = message


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _keys(
    node: object, where: str, allowed: Sequence[str], required: Sequence[str]
) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _Invalid(where or "survey", f"expected a mapping, got {_show(node)}")
    for key in node:
        if key not in allowed:
            raise _Invalid(
                f"{where}.{key}" if where else str(key),
                f"unknown key; allowed: {', '.join(allowed)}",
            )
    for key in required:
        if key not in node:
            raise _Invalid(f"{where}.{key}" if where else key, "missing")
    return node


def _str(
    node: object, where: str, *, pattern: re.Pattern[str] | None = None, max_len: int = 120
) -> str:
    if not isinstance(node, str) or not node.strip():
        raise _Invalid(where, f"expected a text, got {_show(node)}")
    if len(node) > max_len:
        raise _Invalid(where, f"longer than {max_len} characters")
    if pattern is not None and not pattern.match(node):
        raise _Invalid(where, f"{_show(node)} does not match {pattern.pattern}")
    return node


def _texts(
    node: object, where: str, languages: Sequence[str], *, optional: bool = False
) -> dict[str, str]:
    """A text per language: every offered language, no other, placeholders checked."""
    if node is None and optional:
        return {}
    if not isinstance(node, dict):
        raise _Invalid(where, f"expected one text per language ({', '.join(languages)})")
    for lang in node:
        if lang not in languages:
            raise _Invalid(
                f"{where}.{lang}", f"unknown language; the survey offers {', '.join(languages)}"
            )
    out: dict[str, str] = {}
    for lang in languages:
        if lang not in node:
            raise _Invalid(where, f"missing the {lang!r} text")
        text = _str(node[lang], f"{where}.{lang}", max_len=MAX_TEXT)
        for name in _BRACES.findall(text):
            if name not in PLACEHOLDERS:
                raise _Invalid(
                    f"{where}.{lang}",
                    f"unknown placeholder {{{name}}}; use {{agency}} or {{first_name}}",
                )
        out[lang] = text
    return out


def _condition(text: object, where: str, asked: Mapping[str, Question]) -> Condition:
    if not isinstance(text, str):
        raise _Invalid(
            where, f"expected a condition like 'attr_cleanliness <= 4', got {_show(text)}"
        )
    m = _CONDITION.match(text)
    if not m or not m[3]:
        raise _Invalid(where, f"{_show(text)} is not a condition like 'attr_cleanliness <= 4'")
    name, op, raw = m[1], m[2], m[3]
    if op not in OPS:
        raise _Invalid(where, f"unknown operator {op!r}; use {', '.join(OPS)}")
    source = asked.get(name)
    if source is None:
        raise _Invalid(where, f"unknown field {name!r} (not asked in an earlier step)")
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        raw = raw[1:-1]
    if source.kind in SCALES:
        if not re.fullmatch(r"-?\d{1,3}", raw):
            raise _Invalid(where, f"{name} is a score: compare it with a whole number, not {raw!r}")
        return Condition(name, op, int(raw))
    if source.kind in ("choice", "slot", "callback"):
        allowed = (
            ("yes", "no") if source.kind == "callback" else tuple(c.value for c in source.choices)
        )
        if op not in ("==", "!="):
            raise _Invalid(where, f"{name} is a choice: use == or !=, not {op!r}")
        if raw not in allowed:
            raise _Invalid(where, f"{raw!r} is not a choice of {name} ({', '.join(allowed)})")
        return Condition(name, op, raw)
    raise _Invalid(where, f"{name} is free text: conditions test scores, choices and callback only")


def _question(
    node: object, where: str, languages: Sequence[str], asked: Mapping[str, Question]
) -> Question:
    q = _keys(
        node,
        where,
        ("id", "kind", "text", "choices", "when", "required", "max_length", "low", "high"),
        ("id", "kind", "text"),
    )
    kind = q["kind"]
    if kind not in KINDS:
        raise _Invalid(f"{where}.kind", f"unknown kind {_show(kind)}; kinds: {', '.join(KINDS)}")
    qid = _str(q["id"], f"{where}.id", max_len=60)
    if kind in FIXED_IDS and qid != FIXED_IDS[kind]:
        raise _Invalid(
            f"{where}.id", f"a {kind} question has the id {FIXED_IDS[kind]!r}, not {qid!r}"
        )
    if kind == "attribute" and not _ATTR_ID.match(qid):
        raise _Invalid(f"{where}.id", f"{qid!r} does not match ^attr_[a-z0-9_]+$")
    if kind in ("text", "choice") and not _FOLLOWUP_ID.match(qid):
        raise _Invalid(f"{where}.id", f"{qid!r} does not match ^followup_[a-z0-9_]+$")
    choices: list[Choice] = []
    if kind in ("choice", "slot"):
        raw = q.get("choices")
        if not isinstance(raw, list) or len(raw) < 2:
            raise _Invalid(f"{where}.choices", "a choice question needs at least two choices")
        for j, c in enumerate(raw):
            cw = f"{where}.choices[{j}]"
            c = _keys(c, cw, ("value", "label"), ("value", "label"))
            value = c["value"]
            if not isinstance(value, str) or not _WORD.match(value) or len(value) > 40:
                raise _Invalid(f"{cw}.value", f"{_show(value)} is not a word of a-z, 0-9 and _")
            if value in {x.value for x in choices}:
                raise _Invalid(f"{cw}.value", f"{value!r} is given twice")
            choices.append(Choice(value, _texts(c["label"], f"{cw}.label", languages)))
    elif "choices" in q:
        raise _Invalid(
            f"{where}.choices", f"only choice and slot questions have choices, not {kind}"
        )
    when_raw = q.get("when", [])
    when_list = [when_raw] if isinstance(when_raw, str) else when_raw
    if not isinstance(when_list, list):
        raise _Invalid(f"{where}.when", "expected a condition or a list of conditions")
    when = tuple(
        _condition(c, f"{where}.when" if len(when_list) == 1 else f"{where}.when[{k}]", asked)
        for k, c in enumerate(when_list)
    )
    required = q.get("required", False)
    if not isinstance(required, bool):
        raise _Invalid(f"{where}.required", f"expected true or false, got {_show(required)}")
    max_length = q.get("max_length", 2000)
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not 1 <= max_length <= 10_000
    ):
        raise _Invalid(
            f"{where}.max_length", f"expected a number from 1 to 10000, got {_show(max_length)}"
        )
    for end in ("low", "high"):
        if end in q and kind not in SCALES:
            raise _Invalid(f"{where}.{end}", f"only score questions have end labels, not {kind}")
    return Question(
        id=qid,
        kind=kind,
        text=_texts(q["text"], f"{where}.text", languages),
        choices=tuple(choices),
        when=when,
        required=required,
        max_length=max_length,
        low=_texts(q.get("low"), f"{where}.low", languages, optional=True),
        high=_texts(q.get("high"), f"{where}.high", languages, optional=True),
    )


_TOP = (
    "id",
    "version",
    "name",
    "languages",
    "default_language",
    "cadence",
    "touchpoint",
    "status",
    "review_url",
    "updated_by",
    "updated_at",
    "intro",
    "steps",
    "thanks",
)


def _survey(node: object) -> Survey:
    top = _keys(node, "", _TOP, ("id", "name", "languages", "intro", "steps", "thanks"))
    sid = _str(top["id"], "id", pattern=_SURVEY_ID, max_len=40)
    version = top.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Invalid("version", f"expected a whole number from 1, got {_show(version)}")
    name = _str(top["name"], "name")
    langs = top["languages"]
    if not isinstance(langs, list) or not langs:
        raise _Invalid("languages", f"expected a list of languages among {', '.join(LANGUAGES)}")
    for lang in langs:
        if lang not in LANGUAGES:
            raise _Invalid(
                "languages", f"{_show(lang)} is not offered; languages: {', '.join(LANGUAGES)}"
            )
    if len(set(langs)) != len(langs):
        raise _Invalid("languages", "a language is listed twice")
    languages = tuple(langs)
    default_language = top.get("default_language", languages[0])
    if default_language not in languages:
        raise _Invalid("default_language", f"{_show(default_language)} is not among languages")
    cadence = top.get("cadence", "quarter")
    if cadence not in CADENCES:
        raise _Invalid("cadence", f"{_show(cadence)} is not one of {', '.join(CADENCES)}")
    touchpoint = top.get("touchpoint")
    if touchpoint is not None:
        touchpoint = _str(touchpoint, "touchpoint", pattern=_WORD, max_len=40)
    status = top.get("status", "live")
    if status not in STATUSES:
        raise _Invalid("status", f"{_show(status)} is not one of {', '.join(STATUSES)}")
    review_url = top.get("review_url")
    if review_url is not None:
        review_url = _str(review_url, "review_url", max_len=500)
        parts = urlsplit(review_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or re.search(r"[\s<>\"'`]", review_url)
        ):
            raise _Invalid("review_url", f"{_show(review_url)} is not an http(s) address")
    updated_by = top.get("updated_by", "")
    if not isinstance(updated_by, str):
        raise _Invalid("updated_by", f"expected a username, got {_show(updated_by)}")
    updated_at = top.get("updated_at", "")
    if isinstance(updated_at, datetime):  # YAML reads an unquoted timestamp as one
        updated_at = updated_at.isoformat()
    if not isinstance(updated_at, str):
        raise _Invalid("updated_at", f"expected an ISO date and time, got {_show(updated_at)}")
    if updated_at:
        try:
            datetime.fromisoformat(updated_at)
        except ValueError:
            raise _Invalid(
                "updated_at", f"{_show(updated_at)} is not an ISO date and time"
            ) from None

    raw_steps = top["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _Invalid("steps", "expected a list of steps")
    asked: dict[str, Question] = {}
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        sw = f"steps[{i}]"
        st = _keys(raw, sw, ("title", "questions"), ("questions",))
        raw_qs = st["questions"]
        if not isinstance(raw_qs, list) or not raw_qs:
            raise _Invalid(f"{sw}.questions", "expected a list of questions")
        questions: list[Question] = []
        for j, rq in enumerate(raw_qs):
            q = _question(rq, f"{sw}.questions[{j}]", languages, asked)
            if q.id in asked or q.id in {x.id for x in questions}:
                raise _Invalid(f"{sw}.questions[{j}].id", f"{q.id!r} is asked twice")
            questions.append(q)
        asked.update({q.id: q for q in questions})  # later steps may test these answers
        steps.append(
            Step(tuple(questions), _texts(st.get("title"), f"{sw}.title", languages, optional=True))
        )
    nps = asked.get("nps")
    if nps is None or not nps.required or nps.when:
        raise _Invalid("steps", "a survey asks a required nps question, shown to everyone")

    raw_thanks = top["thanks"]
    needed = [o for o in OUTCOMES if o != "callback" or "callback" in asked]
    if not isinstance(raw_thanks, dict):
        raise _Invalid("thanks", f"expected a text per outcome ({', '.join(needed)})")
    for key in raw_thanks:
        if key not in OUTCOMES:
            raise _Invalid(f"thanks.{key}", f"unknown outcome; outcomes: {', '.join(OUTCOMES)}")
    for key in needed:
        if key not in raw_thanks:
            raise _Invalid("thanks", f"missing the {key!r} thank-you text")
    thanks = {
        o: _texts(raw_thanks[o], f"thanks.{o}", languages) for o in OUTCOMES if o in raw_thanks
    }
    return Survey(
        id=sid,
        version=version,
        name=name,
        languages=languages,
        default_language=default_language,
        cadence=cadence,
        touchpoint=touchpoint,
        intro=_texts(top["intro"], "intro", languages),
        steps=tuple(steps),
        thanks=thanks,
        review_url=review_url,
        status=status,
        updated_by=updated_by,
        updated_at=updated_at,
    )


def parse(text: str, *, source: str) -> Survey:
    """A survey from its YAML text; :class:`SurveyError` naming ``source`` and the bad field.

    >>> parse("id: x", source="x.yaml")
    Traceback (most recent call last):
    ...
    cx.capture.surveys.SurveyError: x.yaml: name: missing
    """
    try:
        node = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SurveyError(f"{source}: {where}: {problem}") from None
    try:
        return _survey(node)
    except _Invalid as exc:
        raise SurveyError(f"{source}: {exc.where}: {exc.message}") from None


def _question_out(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.id, "kind": q.kind}
    if q.when:
        out["when"] = str(q.when[0]) if len(q.when) == 1 else [str(c) for c in q.when]
    if q.required:
        out["required"] = True
    if q.max_length != 2000:
        out["max_length"] = q.max_length
    out["text"] = dict(q.text)
    if q.low:
        out["low"] = dict(q.low)
    if q.high:
        out["high"] = dict(q.high)
    if q.choices:
        out["choices"] = [{"value": c.value, "label": dict(c.label)} for c in q.choices]
    return out


def dump(survey: Survey) -> str:
    """The YAML text of a survey (:func:`parse` gives it back unchanged)."""
    doc: dict[str, Any] = {
        "id": survey.id,
        "version": survey.version,
        "name": survey.name,
        "status": survey.status,
        "languages": list(survey.languages),
        "default_language": survey.default_language,
        "cadence": survey.cadence,
        "touchpoint": survey.touchpoint,
        "review_url": survey.review_url,
        "updated_by": survey.updated_by,
        "updated_at": survey.updated_at,
        "intro": dict(survey.intro),
        "steps": [
            {
                **({"title": dict(s.title)} if s.title else {}),
                "questions": [_question_out(q) for q in s.questions],
            }
            for s in survey.steps
        ],
        "thanks": {o: dict(t) for o, t in survey.thanks.items()},
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=4096)


# ---------------------------------------------------------------- files


def surveys_dir(root: Path) -> Path:
    """Where survey definitions live: ``<data>/surveys/<id>/v<N>.yaml``."""
    return Path(root) / "surveys"


def _folder(root: Path, survey_id: str) -> Path:
    if not isinstance(survey_id, str) or not _SURVEY_ID.match(survey_id):
        raise SurveyError(f"surveys: {_show(survey_id)} is not a survey id (a-z, 0-9, _ and -)")
    return surveys_dir(root) / survey_id


def versions(root: Path, survey_id: str) -> list[int]:
    """The stored versions of a survey, oldest first (empty when there is none)."""
    folder = _folder(root, survey_id)
    if not folder.is_dir():
        return []
    return sorted(int(m[1]) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name)))


def load(root: Path, survey_id: str, version: int | None = None) -> Survey:
    """One version of a survey (the latest when ``version`` is None); SurveyError when absent."""
    stored = versions(root, survey_id)
    if not stored:
        raise SurveyError(f"surveys/{survey_id}: no such survey")
    n = stored[-1] if version is None else version
    source = f"surveys/{survey_id}/v{n}.yaml"
    if n not in stored:
        raise SurveyError(f"{source}: no such version (versions: {', '.join(map(str, stored))})")
    survey = parse(
        (_folder(root, survey_id) / f"v{n}.yaml").read_text(encoding="utf-8"), source=source
    )
    if survey.id != survey_id:
        raise SurveyError(f"{source}: id: {survey.id!r} differs from its folder {survey_id!r}")
    return replace(survey, version=n)  # the file name is the version answers refer to


def live(root: Path, survey_id: str) -> Survey:
    """The latest version whose status is ``live`` (what the survey pages serve)."""
    for n in reversed(versions(root, survey_id)):
        survey = load(root, survey_id, n)
        if survey.status == "live":
            return survey
    raise SurveyError(f"surveys/{survey_id}: no live version")


def list_surveys(root: Path) -> list[Survey]:
    """The latest version of every stored survey, by id."""
    folder = surveys_dir(root)
    if not folder.is_dir():
        return []
    ids = sorted(p.name for p in folder.iterdir() if p.is_dir() and _SURVEY_ID.match(p.name))
    return [load(root, sid) for sid in ids if versions(root, sid)]


def _publish(root: Path, survey: Survey, *, first: int, exact: bool) -> Survey:
    """Write ``survey`` as version ``first`` or, unless ``exact``, the next free one.

    The whole file is written and fsynced under a temporary name, then hard-linked to
    ``v<N>.yaml``: the link fails when that version exists, so a version is never overwritten and
    two concurrent saves get two versions. Raises FileExistsError when ``exact`` and taken."""
    folder = _folder(root, survey.id)
    folder.mkdir(parents=True, exist_ok=True)
    n = first
    while True:
        stamped = replace(survey, version=n)
        fd, tmp = tempfile.mkstemp(prefix=f".v{n}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(dump(stamped))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, folder / f"v{n}.yaml")
            except FileExistsError:
                if exact:
                    raise
                n = max(n, *versions(root, survey.id)) + 1
                continue
        finally:
            os.unlink(tmp)
        fsync_dir(folder)
        return stamped


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save(root: Path, survey: Survey, *, by: User) -> Survey:
    """Store ``survey`` as a new version (latest + 1) made by ``by``, a data admin of the world
    scope (a survey serves every agency); returns it.

    Earlier versions are never touched: answers keep the version they were given on."""
    if not by.has(*DATA_ADMINS):
        raise SurveyForbidden(
            f"surveys/{survey.id}: {by.username} may not edit surveys (roles: {', '.join(DATA_ADMINS)})"
        )
    if not by.scope.is_world:  # a survey serves every agency: it is everyone's to change
        raise SurveyForbidden(
            f"surveys/{survey.id}: {by.username} may not edit surveys: a survey serves every "
            f"agency and their scope is {by.scope}; a data admin of the world scope edits them"
        )
    stamped = replace(survey, updated_by=by.username, updated_at=_now())
    checked = parse(
        dump(stamped), source=f"surveys/{survey.id}"
    )  # a survey built in code is checked too
    stored = versions(root, checked.id)
    return _publish(root, checked, first=(stored[-1] if stored else 0) + 1, exact=False)


def parse_edit(text: str, survey_id: str) -> Survey:
    """The designer's edited YAML of ``survey_id``, checked (a new version keeps the survey's id)."""
    survey = parse(text, source=f"surveys/{survey_id} (edited)")
    if survey.id != survey_id:
        raise SurveyError(
            f"surveys/{survey_id} (edited): id: a new version keeps the id {survey_id!r}, not "
            f"{survey.id!r}; start another survey with 'New survey from the default'"
        )
    return survey


def create(root: Path, survey_id: str, *, by: User, name: str | None = None) -> Survey:
    """A new survey ``survey_id``: version 1, a copy of the default; refused when the id is taken."""
    if versions(root, survey_id):
        raise SurveyError(f"surveys/{survey_id}: already exists; edit it instead")
    base = default_survey()
    return save(root, replace(base, id=survey_id, name=name or base.name, status="draft"), by=by)


def default_survey() -> Survey:
    """The built-in survey (``cx/config/surveys/default.yaml``, id ``experience``)."""
    return parse(DEFAULT_FILE.read_text(encoding="utf-8"), source="cx/config/surveys/default.yaml")


def ensure_default(root: Path) -> Survey:
    """Write version 1 of the default survey when the data folder holds none; the latest of the
    default (or, when it was removed, the first survey)."""
    stored = list_surveys(root)
    if not stored:
        survey = replace(default_survey(), updated_by=SYSTEM_USER, updated_at=_now())
        try:
            return _publish(root, survey, first=1, exact=True)
        except FileExistsError:  # another process wrote it first
            return load(root, survey.id)
    return next((s for s in stored if s.id == "experience"), stored[0])


# ---------------------------------------------------------------- answering


def visible(step: Step, answers: Mapping[str, Any]) -> list[Question]:
    """The questions of ``step`` shown given the answers so far (all their conditions hold)."""
    return [q for q in step.questions if all(c.holds(answers) for c in q.when)]


def next_step(survey: Survey, after: int, answers: Mapping[str, Any]) -> int | None:
    """The index of the next step after ``after`` (-1: the first) showing a question; None: done."""
    for i in range(max(after + 1, 0), len(survey.steps)):
        if visible(survey.steps[i], answers):
            return i
    return None


def _phone(value: str) -> str | None:
    if len(value) > 40 or not _PHONE.match(value):
        return None
    digits = re.sub(r"\D", "", value)
    if not 6 <= len(digits) <= 20:
        return None
    return ("+" if value.startswith("+") else "") + digits


def _clean_one(q: Question, value: str) -> Any:
    if q.kind in SCALES:
        lo, hi = SCALES[q.kind]
        if not re.fullmatch(r"\d{1,2}", value) or not lo <= int(value) <= hi:
            raise AnswerError(q.id, f"must be a whole number from {lo} to {hi}")
        return int(value)
    if q.kind in ("comment", "text"):
        if len(value) > q.max_length:
            raise AnswerError(q.id, f"longer than {q.max_length} characters")
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
            raise AnswerError(q.id, "contains control characters")
        return value.replace("\r\n", "\n")
    if q.kind in ("choice", "slot"):
        if value not in {c.value for c in q.choices}:
            raise AnswerError(q.id, "not one of the offered choices")
        return value
    if q.kind == "callback":
        if value not in ("yes", "no"):
            raise AnswerError(q.id, "must be yes or no")
        return value
    if q.kind == "phone":
        phone = _phone(value)
        if phone is None:
            raise AnswerError(
                q.id, "not a phone number (6 to 20 digits; spaces, +, - and () allowed)"
            )
        return phone
    raise AnswerError(q.id, f"unknown question kind {q.kind!r}")


def clean(questions: Sequence[Question], form: Mapping[str, str]) -> dict[str, Any]:
    """The checked answers to ``questions`` from a submitted form: ints for scores, stripped text,
    offered choices, ``yes``/``no``, a normalised phone number. A missing required answer or a bad
    value is an :class:`AnswerError`; an absent optional answer and fields of no question are left out.

    >>> clean([Question("nps", "nps", {"en": "?"}, required=True)], {"nps": " 9 ", "csrf": "x"})
    {'nps': 9}
    """
    out: dict[str, Any] = {}
    for q in questions:
        raw = form.get(q.id)
        if raw is not None and not isinstance(raw, str):
            raise AnswerError(q.id, "one value expected")
        value = (raw or "").strip()
        if not value:
            if q.required:
                raise AnswerError(q.id, "an answer is required")
            continue
        out[q.id] = _clean_one(q, value)
    return out


def outcome(answers: Mapping[str, Any]) -> str:
    """``callback`` when a call back was asked for, else promoter (nps 9–10), passive (7–8) or
    detractor (0–6); passive when there is no score.

    >>> outcome({"nps": 9}), outcome({"nps": 4, "callback": "yes"}), outcome({"nps": "6"})
    ('promoter', 'callback', 'detractor')
    """
    if answers.get("callback") == "yes":
        return "callback"
    try:
        nps = int(answers["nps"])
    except (KeyError, TypeError, ValueError):
        return "passive"
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with ``{agency}`` and ``{first_name}`` filled in; anything else stays as written
    (no format spec, no attribute access). A blank first name takes its leading comma or space
    with it. The result is plain text: the caller escapes it for HTML or Markdown.

    >>> render("Thank you, {first_name}! {agency.__class__} {agency}", {"agency": "Madrid"})
    'Thank you! {agency.__class__} Madrid'
    """

    def fill(m: re.Match[str]) -> str:
        value = str(values.get(m[2]) or "").strip()
        if not value and m[2] == "first_name":
            return ""
        return (m[1] or "") + value

    return _PLACEHOLDER.sub(fill, text)


def pick(texts: Mapping[str, str], language: str, default: str = "en") -> str:
    """The text in ``language``, else in ``default``, else the first one ('' when none)."""
    if language in texts:
        return texts[language]
    if default in texts:
        return texts[default]
    return next(iter(texts.values()), "")


def language_for(survey: Survey, requested: str | None, accept_language: str | None) -> str:
    """The language to show: ``requested`` when offered, else the best offered one of the
    browser's ``Accept-Language``, else the survey's default.

    >>> s = default_survey()
    >>> language_for(s, None, "de-CH, fr;q=0.8, en;q=0.9"), language_for(s, "ru", "fr")
    ('en', 'ru')
    """
    if requested:
        lang = requested.strip().lower().split("-")[0]
        if lang in survey.languages:
            return lang
    ranked: list[tuple[float, int, str]] = []
    for k, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        lang = tag.strip().lower().split("-")[0]
        if q > 0 and lang in survey.languages:
            ranked.append((-q, k, lang))
    return min(ranked)[2] if ranked else survey.default_language


def thank_you(
    survey: Survey, answers: Mapping[str, Any], language: str, values: Mapping[str, str]
) -> str:
    """The thank-you text of the answers' outcome, in ``language``, placeholders filled in."""
    texts = survey.thanks.get(outcome(answers)) or survey.thanks["passive"]
    return render(pick(texts, language, survey.default_language), values)


def asks_review(survey: Survey, answers: Mapping[str, Any]) -> bool:
    """Whether the thank-you page invites a public review (promoters, when the survey has a link)."""
    return survey.review_url is not None and outcome(answers) == "promoter"


# ---------------------------------------------------------------- preview

_PROFILES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("promoter", {"nps": 10, "csat": 5, "attribute": 9, "callback": "no"}),
    ("passive", {"nps": 8, "csat": 4, "attribute": 7, "callback": "no"}),
    ("detractor", {"nps": 3, "csat": 2, "attribute": 6, "callback": "no"}),
    ("detractor with callback", {"nps": 2, "csat": 1, "attribute": 5, "callback": "yes"}),
)
_SAMPLE_PHONE = "+34 600 123 456"


def _sample(q: Question, profile: Mapping[str, Any], forced: Mapping[str, Any]) -> Any:
    if q.id in forced:
        return forced[q.id]
    if q.kind in ("nps", "csat", "attribute", "callback"):
        return profile[q.kind]
    if q.kind in ("choice", "slot"):
        return q.choices[0].value
    if q.kind == "phone":
        return _SAMPLE_PHONE
    return "(sample answer)"


def _walk(
    survey: Survey, profile: Mapping[str, Any], forced: Mapping[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    answers: dict[str, Any] = {}
    shown: list[int] = []
    i = next_step(survey, -1, answers)
    while i is not None:
        for q in visible(survey.steps[i], answers):
            answers[q.id] = _sample(q, profile, forced)
        shown.append(i)
        i = next_step(survey, i, answers)
    return answers, shown


def _meeting(c: Condition, q: Question) -> Any:
    """A value of the answer to ``q`` for which ``c`` holds."""
    if isinstance(c.value, int):
        lo, hi = SCALES.get(q.kind, (0, 10))
        candidates = [c.value, c.value - 1, c.value + 1, lo, hi]
        return next((v for v in candidates if lo <= v <= hi and c.holds({c.field: v})), c.value)
    if c.op == "==":
        return c.value
    offered = ["yes", "no"] if q.kind == "callback" else [x.value for x in q.choices]
    return next((v for v in offered if v != c.value), c.value)


def _forcing(q: Question, by_id: Mapping[str, Question], forced: dict[str, Any]) -> dict[str, Any]:
    """Answers that make ``q`` shown: its conditions met, and those of the questions they test."""
    for c in q.when:
        source = by_id[c.field]
        forced.setdefault(c.field, _meeting(c, source))
        _forcing(source, by_id, forced)
    return forced


def paths(survey: Survey) -> list[tuple[str, dict[str, Any], list[int]]]:
    """The designer's preview: each path through the survey (promoter, passive, detractor,
    detractor with callback, then one per follow-up no such path shows, e.g. a low attribute and
    its precision question), the sample answers given on it and the step indices it shows."""
    out: list[tuple[str, dict[str, Any], list[int]]] = []
    for name, profile in _PROFILES:
        answers, shown = _walk(survey, profile, {})
        if name == "detractor with callback" and answers.get("callback") != "yes":
            continue  # the survey offers no callback
        out.append((name, answers, shown))
    by_id = {q.id: q for q in survey.questions()}
    for q in survey.questions():
        if not q.when or any(q.id in answers for _, answers, _ in out):
            continue
        answers, shown = _walk(survey, dict(_PROFILES[1][1]), _forcing(q, by_id, {}))
        if q.id in answers:
            out.append((f"{' and '.join(map(str, q.when))} → {q.id}", answers, shown))
    return out


@dataclass(frozen=True)
class ShownQuestion:
    """A question as the preview shows it: rendered text, end labels and choice labels."""

    id: str
    kind: str
    text: str
    required: bool
    low: str = ""
    high: str = ""
    choices: tuple[str, ...] = ()
    answer: Any = None


def preview(
    survey: Survey,
    answers: Mapping[str, Any],
    language: str,
    values: Mapping[str, str] = SAMPLE_VALUES,
) -> list[tuple[int, str, list[ShownQuestion]]]:
    """The steps a respondent with ``answers`` goes through: index, title and questions, in
    ``language`` with the placeholders filled in (the survey page shows the same)."""
    lang, default = language, survey.default_language
    out: list[tuple[int, str, list[ShownQuestion]]] = []
    i = next_step(survey, -1, answers)
    while i is not None:
        step = survey.steps[i]
        shown = [
            ShownQuestion(
                id=q.id,
                kind=q.kind,
                text=render(pick(q.text, lang, default), values),
                required=q.required,
                low=pick(q.low, lang, default),
                high=pick(q.high, lang, default),
                choices=tuple(pick(c.label, lang, default) for c in q.choices),
                answer=answers.get(q.id),
            )
            for q in visible(step, answers)
        ]
        out.append((i, render(pick(step.title, lang, default), values), shown))
        i = next_step(survey, i, answers)
    return out


def takeaway(listed: Sequence[Survey]) -> str:
    """E.g. "2 surveys; experience v4 live since 2026-11-30 by analyst, kiosk v1 draft since …"."""
    if not listed:
        return "No survey yet: start one from the default below."
    recent = sorted(listed, key=lambda s: (s.updated_at, s.id), reverse=True)
    parts = [
        f"{s.id} v{s.version} {s.status} since {s.updated_at[:10] or 'an unknown date'} by {s.updated_by or 'an unknown user'}"
        for s in recent[:3]
    ]
    more = f" and {len(recent) - 3} more" if len(recent) > 3 else ""
    return f"{len(listed)} survey{'s' if len(listed) != 1 else ''}; {', '.join(parts)}{more}."


def summary(listed: Sequence[Survey]) -> list[dict[str, Any]]:
    """One row per survey for the designer's table."""
    return [
        {
            "Survey": s.id,
            "Name": s.name,
            "Version": s.version,
            "Status": s.status,
            "Languages": ", ".join(s.languages),
            "Waves": s.cadence,
            "Questions": len(s.questions()),
            "Updated by": s.updated_by,
            "Updated at": s.updated_at,
        }
        for s in listed
    ]


# ---------------------------------------------------------------- waves and rows


def wave_of(at: datetime, cadence: str) -> str:
    """The wave label of the period containing ``at`` (its own date, in its own time zone).

    >>> wave_of(datetime(2027, 1, 1), "week"), wave_of(datetime(2026, 12, 3), "quarter")
    ('2026-W53', '2026-Q4')
    """
    if cadence == "quarter":
        return f"{at.year}-Q{(at.month - 1) // 3 + 1}"
    if cadence == "month":
        return f"{at.year}-{at.month:02d}"
    if cadence == "week":
        iso = at.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    raise SurveyError(f"cadence: {cadence!r} is not one of {', '.join(CADENCES)}")


def to_row(
    survey: Survey,
    answers: Mapping[str, Any],
    *,
    response_id: str,
    responded_at: datetime,
    customer_id: str,
    region: str,
    country: str,
    agency: str,
    city: str | None,
    channel: str,
    language: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data-contract row of a completed answer (every score column of the survey, None when
    not answered) and the follow-ups that have no contract column (with the survey's id and version).

    The wave comes from ``responded_at``'s own date; the stored time is UTC (naive is taken as UTC)."""
    if channel not in CHANNELS:
        raise AnswerError("channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
    try:
        nps = int(answers["nps"])
    except (KeyError, TypeError, ValueError):
        raise AnswerError("nps", "an answer is required") from None
    at = responded_at if responded_at.tzinfo else responded_at.replace(tzinfo=UTC)

    def score(name: str) -> int | None:
        value = answers.get(name)
        return None if value is None or value == "" else int(value)

    attrs = [q.id for q in survey.questions() if q.kind == "attribute"]
    comment = answers.get("comment")
    row: dict[str, Any] = {
        "response_id": response_id,
        "wave": wave_of(responded_at, survey.cadence),
        "responded_at": at.astimezone(UTC),
        "customer_id": customer_id,
        "region": region,
        "country": country,
        "agency": agency,
        "city": city,
        "channel": channel,
        "touchpoint": survey.touchpoint,
        "nps": nps,
        "csat": score("csat"),
        **{a: score(a) for a in attrs},
        "comment": str(comment) if comment else None,
        "language": language,
        "weight": 1.0,
        "excluded": False,
    }
    followups = {k: v for k, v in answers.items() if k not in row}
    followups.update(survey_id=survey.id, survey_version=survey.version)
    return row, followups
