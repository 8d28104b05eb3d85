"""The public survey pages: ``GET/POST /s/<link>`` and ``/s/optout/<token>`` (``http.md``).

Light server-rendered HTML that works without JavaScript and without the websocket: one step per
screen, each a plain ``<form method="post">`` with the data contract's field names. The answers
so far travel in a signed ``state`` field (tampering is refused), beside a CSRF token and a
honeypot field; the last step stores the answer durably (:func:`cx.capture.answers.accept`)
before the thank-you page. Every refusal is a page with one line in the customer's language and
a 4xx status; nothing is stored.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cx import store
from cx.capture import answers, invitations, links, surveys
from cx.core import data, keys, org, settings
from cx.core.text import escape_html
from cx.server.html import page
from cx.server.limits import Limiter
from cx.server.signin import client_address, engine
from cx.store.models import Invitation

MAX_FORM_BYTES = 16_384
STATE_MAX_AGE = 2 * 3600
HONEYPOT = "website"

SURVEY_STYLE = """
main { margin: 0 auto; min-height: 100vh; border-radius: 0; box-shadow: none; padding: 1.25rem; }
@media (min-width: 40rem) { main { margin: 4vh auto; min-height: 0; border-radius: 12px;
       box-shadow: 0 2px 12px rgba(0,0,0,.08); padding: 2rem; } }
.brand { color: #4a5560; font-size: .95rem; margin: 0 0 .5rem; }
.progress { height: 6px; background: #e3e8ee; border-radius: 3px; margin: 0 0 1.25rem; }
.progress span { display: block; height: 6px; background: #0b5cad; border-radius: 3px; }
fieldset { border: 0; padding: 0; margin: 0 0 1.5rem; }
legend { font-weight: 600; font-size: 1.1rem; margin: 0 0 .6rem; padding: 0; }
.scale { display: grid; grid-template-columns: repeat(11, 1fr); gap: 4px; }
.scale.five { grid-template-columns: repeat(5, 1fr); }
.scale input, .choices input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.scale label { display: flex; align-items: center; justify-content: center; margin: 0;
       min-height: 44px; border: 2px solid #8a96a3; border-radius: 8px; font-weight: 600;
       cursor: pointer; background: #fff; }
.scale input:checked + label, .choices input:checked + label { background: #0b5cad;
       border-color: #0b5cad; color: #fff; }
.scale input:focus-visible + label, .choices input:focus-visible + label {
       outline: 3px solid #1f6feb; outline-offset: 2px; }
.ends { display: flex; justify-content: space-between; color: #4a5560; font-size: .85rem;
       margin-top: .3rem; }
.choices label { display: block; margin: 0 0 .5rem; padding: .7rem .9rem; font-weight: 500;
       border: 2px solid #8a96a3; border-radius: 8px; cursor: pointer; background: #fff; }
textarea, select, input[type=tel] { width: 100%; padding: .7rem .8rem; font: inherit;
       border: 2px solid #8a96a3; border-radius: 8px; background: #fff; }
textarea { min-height: 7rem; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
.invalid legend, .invalid > label { color: #8a1c12; }
a.button { display: block; text-align: center; margin-top: 1.25rem; padding: .8rem;
       font-weight: 600; color: #fff; background: #0b5cad; border-radius: 8px;
       text-decoration: none; }
.thanks h1 { font-size: 1.7rem; margin-top: .25rem; }
.thanks .lead { font-size: 1.1rem; color: #1b1f24; }
.tick { width: 3.5rem; height: 3.5rem; line-height: 3.5rem; text-align: center; margin: 1rem 0 0;
        font-size: 2rem; color: #fff; background: #1a7f37; border-radius: 50%; }
"""

WORDS: dict[str, dict[str, str]] = {
    "thanks": {"en": "Thank you!", "es": "¡Gracias!", "fr": "Merci !", "ru": "Спасибо!"},
    "next": {"en": "Next", "es": "Siguiente", "fr": "Suivant", "ru": "Далее"},
    "send": {"en": "Send", "es": "Enviar", "fr": "Envoyer", "ru": "Отправить"},
    "check": {
        "en": "Please check this answer: {q}",
        "es": "Revise esta respuesta: {q}",
        "fr": "Vérifiez cette réponse : {q}",
        "ru": "Проверьте ответ: {q}",
    },
    "expired": {
        "en": "This page has expired. Please open the survey link again.",
        "es": "Esta página ha caducado. Vuelva a abrir el enlace de la encuesta.",
        "fr": "Cette page a expiré. Rouvrez le lien de l'enquête.",
        "ru": "Срок действия страницы истёк. Откройте ссылку на опрос ещё раз.",
    },
    "too_large": {
        "en": "The answer is too long to be sent.",
        "es": "La respuesta es demasiado larga para enviarse.",
        "fr": "La réponse est trop longue pour être envoyée.",
        "ru": "Ответ слишком длинный.",
    },
    "slow_down": {
        "en": "Too many answers from this connection: please try again in a minute.",
        "es": "Demasiadas respuestas desde esta conexión: inténtelo dentro de un minuto.",
        "fr": "Trop de réponses depuis cette connexion : réessayez dans une minute.",
        "ru": "Слишком много ответов с этого подключения: попробуйте через минуту.",
    },
    "already": {
        "en": "Your answer was already recorded. Thank you!",
        "es": "Su respuesta ya se registró. ¡Gracias!",
        "fr": "Votre réponse a déjà été enregistrée. Merci !",
        "ru": "Ваш ответ уже записан. Спасибо!",
    },
    "unavailable": {
        "en": "The survey is not available right now. Please try again later.",
        "es": "La encuesta no está disponible ahora. Inténtelo más tarde.",
        "fr": "L'enquête n'est pas disponible pour le moment. Réessayez plus tard.",
        "ru": "Опрос сейчас недоступен. Попробуйте позже.",
    },
    "review": {
        "en": "Leave a public review",
        "es": "Dejar una reseña pública",
        "fr": "Laisser un avis public",
        "ru": "Оставить отзыв",
    },
    "again": {
        "en": "Next customer",
        "es": "Siguiente cliente",
        "fr": "Client suivant",
        "ru": "Следующий клиент",
    },
    "step": {
        "en": "Page {i} of {n}",
        "es": "Página {i} de {n}",
        "fr": "Page {i} sur {n}",
        "ru": "Страница {i} из {n}",
    },
    "optout_title": {
        "en": "Stop survey invitations",
        "es": "No recibir más encuestas",
        "fr": "Ne plus recevoir d'enquêtes",
        "ru": "Отписаться от опросов",
    },
    "optout_ask": {
        "en": "We will not invite you to a survey again.",
        "es": "No volveremos a invitarle a una encuesta.",
        "fr": "Nous ne vous inviterons plus à répondre à une enquête.",
        "ru": "Мы больше не будем приглашать вас к опросам.",
    },
    "optout_done": {
        "en": "Done: you will not receive survey invitations any more.",
        "es": "Hecho: ya no recibirá invitaciones a encuestas.",
        "fr": "C'est fait : vous ne recevrez plus d'invitations.",
        "ru": "Готово: вы больше не будете получать приглашения.",
    },
    "optout_unknown": {
        "en": "This link is not valid.",
        "es": "Este enlace no es válido.",
        "fr": "Ce lien n'est pas valide.",
        "ru": "Эта ссылка недействительна.",
    },
    "optout_button": {"en": "Confirm", "es": "Confirmar", "fr": "Confirmer", "ru": "Подтвердить"},
}
LINK_ERRORS = {
    "This survey link is not valid.": {
        "es": "Este enlace de encuesta no es válido.",
        "fr": "Ce lien d'enquête n'est pas valide.",
        "ru": "Эта ссылка на опрос недействительна.",
    },
    "This invitation has expired.": {
        "es": "Esta invitación ha caducado.",
        "fr": "Cette invitation a expiré.",
        "ru": "Срок действия приглашения истёк.",
    },
    "This invitation has already been answered.": {
        "es": "Ya se respondió a esta invitación.",
        "fr": "Il a déjà été répondu à cette invitation.",
        "ru": "На это приглашение уже ответили.",
    },
}


def word(key: str, lang: str, **values: str) -> str:
    text = WORDS[key].get(lang) or WORDS[key]["en"]
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


def translated(reason: str, lang: str) -> str:
    """A link refusal's one line in the customer's language (the English line otherwise)."""
    return LINK_ERRORS.get(reason, {}).get(lang, reason)


# ---------------------------------------------------------------- rate limits (per process)


BY_ADDRESS = Limiter(settings.whole("CX_SURVEY_RATE_PER_ADDRESS", 60, minimum=1))
"""Form posts per client address per minute (a respondent posts about five)."""
BY_LINK = Limiter(settings.whole("CX_SURVEY_RATE_PER_LINK", 6000, minimum=1))
"""Form posts per link per minute (a QR code at a busy counter)."""


# ---------------------------------------------------------------- the funnel, counted in batches


class FunnelBuffer:
    """Funnel steps (opened, started, completed) kept in memory and written once a second in one
    transaction by a daemon thread: a page view costs no commit of its own. A crash loses at most
    the last second of funnel counts, never an answer (answers are committed before the
    thank-you page)."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.items: list[tuple[links.Target, str, datetime]] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, target: links.Target, event: str) -> None:
        with self.lock:
            self.items.append((target, event, datetime.now(UTC)))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="cx-funnel", daemon=True)
                self.thread.start()

    def flush(self) -> int:
        with self.lock:
            items, self.items = self.items, []
        try:
            return links.record_many(engine(), items)
        except Exception:  # the store is away: keep them for the next round
            with self.lock:
                self.items = items + self.items
            return 0

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            self.flush()


FUNNEL = FunnelBuffer()


# ---------------------------------------------------------------- the signed state of the steps


def sign_state(link: str, state: Mapping[str, Any]) -> str:
    return keys.seal(state, "survey-state:" + link)


def read_state(link: str, token: str, now: float | None = None) -> dict[str, Any] | None:
    """The state a step was given, or None when it was tampered with or is too old."""
    state = keys.unseal(token, "survey-state:" + link)
    if state is None:
        return None
    try:
        age = (now if now is not None else time.time()) - float(state.get("t", 0))
    except (TypeError, ValueError):
        return None
    if not isinstance(state.get("a"), dict) or not -60 <= age <= STATE_MAX_AGE:
        return None
    return state


# ---------------------------------------------------------------- data the pages need (cached)


def root() -> Path:
    return data.data_dir()


@lru_cache(maxsize=64)
def _survey(folder: str, survey_id: str, version: int) -> surveys.Survey:
    return surveys.load(Path(folder), survey_id, version)  # versions never change once written


def survey_for(survey_id: str, version: int | None = None) -> surveys.Survey:
    """The version an answer was started on, or (``None``) the latest live version; versions
    never change once written, so they are cached; the live one is looked up on each new visit."""
    folder = root()
    if version is None:
        for n in reversed(surveys.versions(folder, survey_id)):
            found = _survey(str(folder), survey_id, n)
            if found.status == "live":
                return found
        raise surveys.SurveyError(f"surveys/{survey_id}: no live version")
    return _survey(str(folder), survey_id, version)


_ORG: dict[str, tuple[float, org.Org]] = {}


def organisation() -> org.Org:
    """The organisation (agencies, their country and region), re-read at most every 30 s."""
    folder = root()
    cached = _ORG.get(str(folder))
    if cached and time.monotonic() - cached[0] < 30:
        return cached[1]
    frame = data.scan_responses(folder) if data.has_waves(folder) else None
    found = org.load(folder, frame)
    _ORG[str(folder)] = (time.monotonic(), found)
    return found


# ---------------------------------------------------------------- rendering


def _scale(q: surveys.Question, lang: str, values: range, current: Any) -> str:
    cells = []
    for v in values:
        ident = f"{q.id}-{v}"
        checked = " checked" if current is not None and str(current) == str(v) else ""
        required = " required" if q.required else ""
        cells.append(
            f'<input type="radio" id="{ident}" name="{escape_html(q.id)}" value="{v}"'
            f'{checked}{required}><label for="{ident}">{v}</label>'
        )
    five = " five" if len(values) == 5 else ""
    ends = ""
    if q.low or q.high:
        ends = (
            f'<div class="ends" aria-hidden="true"><span>{escape_html(surveys.pick(q.low, lang))}'
            f"</span><span>{escape_html(surveys.pick(q.high, lang))}</span></div>"
        )
    return f'<div class="scale{five}">{"".join(cells)}</div>{ends}'


def _choices(q: surveys.Question, lang: str, options: list[tuple[str, str]], current: Any) -> str:
    out = []
    for i, (value, label) in enumerate(options):
        ident = f"{q.id}-{i}"
        checked = " checked" if current is not None and str(current) == value else ""
        required = " required" if q.required else ""
        out.append(
            f'<input type="radio" id="{ident}" name="{escape_html(q.id)}" '
            f'value="{escape_html(value)}"{checked}{required}>'
            f'<label for="{ident}">{escape_html(label)}</label>'
        )
    return f'<div class="choices">{"".join(out)}</div>'


CALLBACK_CHOICES = {
    "en": ("Yes, please call me", "No, thank you"),
    "es": ("Sí, llámenme", "No, gracias"),
    "fr": ("Oui, rappelez-moi", "Non merci"),
    "ru": ("Да, перезвоните мне", "Нет, спасибо"),
}


def question_html(
    q: surveys.Question, lang: str, values: Mapping[str, str], current: Any, invalid: bool
) -> str:
    """One question as accessible HTML (a fieldset with a legend for groups of radios)."""
    text = escape_html(surveys.render(surveys.pick(q.text, lang), values))
    cls = ' class="invalid"' if invalid else ""
    name = escape_html(q.id)
    if q.kind in ("nps", "attribute"):
        return f"<fieldset{cls}><legend>{text}</legend>{_scale(q, lang, range(11), current)}</fieldset>"
    if q.kind == "csat":
        return f"<fieldset{cls}><legend>{text}</legend>{_scale(q, lang, range(1, 6), current)}</fieldset>"
    if q.kind == "choice":
        options = [(c.value, surveys.pick(c.label, lang)) for c in q.choices]
        return f"<fieldset{cls}><legend>{text}</legend>{_choices(q, lang, options, current)}</fieldset>"
    if q.kind == "callback":
        yes, no = CALLBACK_CHOICES.get(lang, CALLBACK_CHOICES["en"])
        body = _choices(q, lang, [("yes", yes), ("no", no)], current)
        return f"<fieldset{cls}><legend>{text}</legend>{body}</fieldset>"
    required = " required" if q.required else ""
    value = escape_html(str(current or ""))
    if q.kind == "slot":
        listed = "".join(
            f'<option value="{escape_html(c.value)}"'
            f"{' selected' if str(current) == c.value else ''}>"
            f"{escape_html(surveys.pick(c.label, lang))}</option>"
            for c in q.choices
        )
        return (
            f'<div{cls}><label for="{name}">{text}</label>'
            f'<select id="{name}" name="{name}"{required}>{listed}</select></div>'
        )
    if q.kind == "phone":
        return (
            f'<div{cls}><label for="{name}">{text}</label>'
            f'<input type="tel" id="{name}" name="{name}" autocomplete="tel" inputmode="tel" '
            f'maxlength="32" value="{value}"{required}></div>'
        )
    return (  # comment and free-text follow-ups
        f'<div{cls}><label for="{name}">{text}</label>'
        f'<textarea id="{name}" name="{name}" maxlength="{q.max_length}"{required}>'
        f"{value}</textarea></div>"
    )


def _shell(
    title: str, body: str, lang: str, *, status: int = 200, head: str = "", brand: str = ""
) -> Response:
    return page(
        title,
        body,
        status=status,
        lang=lang,
        style=SURVEY_STYLE,
        head=head,
        brand=brand or "CX Review",
    )


def message_page(text: str, lang: str, status: int) -> Response:
    role = "alert" if status >= 400 else "status"
    return _shell(
        text, f'<p class="note" role="{role}">{escape_html(text)}</p>', lang, status=status
    )


def step_page(
    link: str,
    survey: surveys.Survey,
    target: links.Target,
    state: dict[str, Any],
    step: int,
    *,
    error: tuple[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    lang = str(state["l"])
    values = {"agency": target.agency, "first_name": target.first_name}
    shown = surveys.visible(survey.steps[step], state["a"])
    current: dict[str, Any] = {**state["a"], **(form or {})}
    parts = [f'<p class="brand">{escape_html(target.agency)}</p>']
    total = len(survey.steps)
    pct = int(100 * (step + 1) / total)
    parts.append(
        f'<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{pct}" aria-label="{escape_html(word("step", lang, i=str(step + 1), n=str(total)))}">'
        f'<span style="width:{pct}%"></span></div>'
    )
    if step == surveys.next_step(survey, -1, {}) and survey.intro:
        intro = surveys.render(surveys.pick(survey.intro, lang), values)
        parts.append(f'<p class="lead">{escape_html(intro)}</p>')
    title = surveys.pick(survey.steps[step].title, lang) if survey.steps[step].title else ""
    if title:
        parts.append(f"<h1>{escape_html(surveys.render(title, values))}</h1>")
    if error:
        parts.append(f'<p class="error" role="alert">{escape_html(error[1])}</p>')
    state = {**state, "s": step}
    parts.append(
        f'<form method="post" action="/s/{escape_html(link)}">'
        f'<input type="hidden" name="csrf" value="{escape_html(keys.form_token("survey:" + link))}">'
        f'<input type="hidden" name="state" value="{escape_html(sign_state(link, state))}">'
        f'<div class="hp" aria-hidden="true"><label for="{HONEYPOT}">Website</label>'
        f'<input id="{HONEYPOT}" name="{HONEYPOT}" type="text" tabindex="-1" autocomplete="off"></div>'
    )
    for q in shown:
        parts.append(
            question_html(q, lang, values, current.get(q.id), bool(error and error[0] == q.id))
        )
    last = step == len(survey.steps) - 1  # later steps may apply depending on this one
    label = word("send" if last else "next", lang)
    parts.append(f'<button type="submit">{escape_html(label)}</button></form>')
    return _shell(survey.name, "".join(parts), lang, status=status, brand=target.agency)


_FIRST_SENTENCE = re.compile(r"^\s*(.{2,40}?[.!?¡¿]?[.!?])(?:\s+|$)", re.S)


def thanks_heading(text: str, fallback: str) -> tuple[str, str]:
    """The thank-you page's heading and the rest: a short first sentence of the text ("Thank
    you, Ana!") is the heading; otherwise the generic word, and the whole text below it.

    >>> thanks_heading("Merci ! Votre avis compte.", "Merci !")
    ('Merci !', 'Votre avis compte.')
    >>> thanks_heading("We read every answer and act on it this week.", "Thank you!")
    ('Thank you!', 'We read every answer and act on it this week.')
    """
    found = _FIRST_SENTENCE.match(text)
    if found and found.end() < len(text):
        return found.group(1).strip(), text[found.end() :].strip()
    return fallback, text


def thanks_page(
    survey: surveys.Survey, target: links.Target, link: str, given: Mapping[str, Any], lang: str
) -> Response:
    values = {"agency": target.agency, "first_name": target.first_name}
    outcome = surveys.outcome(given)
    texts = survey.thanks.get(outcome) or survey.thanks.get("passive") or {}
    text = surveys.render(surveys.pick(texts, lang), values) if texts else word("already", lang)
    heading, rest = thanks_heading(text, word("thanks", lang))
    parts = [
        f'<p class="brand">{escape_html(target.agency)}</p><div class="thanks">'
        f'<p class="tick" aria-hidden="true">✓</p><h1>{escape_html(heading)}</h1>'
    ]
    for paragraph in (p for p in rest.split("\n\n") if p.strip()):
        parts.append(f'<p class="lead">{escape_html(paragraph.strip())}</p>')
    if outcome == "promoter" and survey.review_url:
        parts.append(
            f'<a class="button" href="{escape_html(survey.review_url)}" rel="noopener noreferrer">'
            f"{escape_html(word('review', lang))}</a>"
        )
    head = ""
    if target.kiosk:
        head = f'<meta http-equiv="refresh" content="10;url=/s/{escape_html(link)}">'
        parts.append(
            f'<a class="button" href="/s/{escape_html(link)}">{escape_html(word("again", lang))}</a>'
        )
    parts.append("</div>")
    return _shell(survey.name, "".join(parts), lang, head=head, brand=target.agency)


# ---------------------------------------------------------------- the routes


def _language(request: Request, survey: surveys.Survey, target: links.Target) -> str:
    requested = request.query_params.get("lang") or target.language
    return surveys.language_for(survey, requested, request.headers.get("accept-language"))


def _guess_language(request: Request) -> str:
    header = (request.headers.get("accept-language") or "en")[:2].lower()
    return header if header in surveys.LANGUAGES else "en"


async def _target(request: Request, link: str) -> links.Target | Response:
    try:
        return await run_in_threadpool(links.resolve, engine(), organisation(), link)
    except links.LinkError as exc:
        lang = (
            request.query_params.get("lang")
            or await run_in_threadpool(_invitation_language, link)
            or _guess_language(request)
        )
        return message_page(translated(str(exc), lang), lang, exc.status)


def _invitation_language(link: str) -> str | None:
    """The language of a personal invitation (to refuse an expired or used one in it)."""
    if "." in link or len(link) > 400:
        return None
    with store.session(engine()) as s:
        found = s.exec(
            select(Invitation.language).where(
                Invitation.token_hash == links.invitation_hash(links.link_of(link))
            )
        ).first()
    return found if found in surveys.LANGUAGES else None


async def survey_page(request: Request) -> Response:
    link = request.path_params["link"]
    if request.method == "POST":
        return await _submit(request, link)
    target = await _target(request, link)
    if isinstance(target, Response):
        return target
    try:
        survey = survey_for(target.survey_id)
    except surveys.SurveyError:
        lang = _guess_language(request)
        return message_page(word("unavailable", lang), lang, 503)
    lang = _language(request, survey, target)
    first = surveys.next_step(survey, -1, {})
    if first is None:
        return message_page(word("unavailable", lang), lang, 503)
    FUNNEL.add(target, "opened")
    state = {
        "v": survey.version,
        "a": {},
        "n": secrets.token_urlsafe(16),
        "l": lang,
        "t": int(time.time()),
    }
    return step_page(link, survey, target, state, first)


async def _submit(request: Request, link: str) -> Response:
    lang = _guess_language(request)
    address = client_address(request)
    if not BY_ADDRESS.allow(address) or not BY_LINK.allow(link):
        return message_page(word("slow_down", lang), lang, 429)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return message_page(word("too_large", lang), lang, 413)
    form = {k: str(v) for k, v in (await request.form()).items()}
    state = read_state(link, form.get("state", ""))
    if state is not None:
        lang = str(state.get("l") or lang)
    if state is None or not keys.check_form_token(
        form.get("csrf", ""), "survey:" + link, max_age=STATE_MAX_AGE
    ):
        return message_page(word("expired", lang), lang, 400)
    target = await _target(request, link)
    if isinstance(target, Response):
        return target
    try:
        survey = survey_for(target.survey_id, int(state["v"]))
        step = int(state["s"])
        questions = surveys.visible(survey.steps[step], state["a"])
    except (surveys.SurveyError, KeyError, IndexError, ValueError, TypeError):
        return message_page(word("expired", lang), lang, 400)
    if form.get(HONEYPOT):  # a bot filled the hidden field: thank it, keep nothing
        return thanks_page(survey, target, link, {}, lang)
    try:
        given = surveys.clean(questions, form)
    except surveys.AnswerError as exc:
        asked = next((q for q in questions if q.id == exc.field), None)
        label = surveys.pick(asked.text, lang) if asked else exc.field
        values = {"agency": target.agency, "first_name": target.first_name}
        message = word("check", lang, q=surveys.render(label, values))
        return step_page(
            link, survey, target, state, step, error=(exc.field, message), form=form, status=400
        )
    so_far = {**state["a"], **given}
    if step == surveys.next_step(survey, -1, {}):
        FUNNEL.add(target, "started")
    following = surveys.next_step(survey, step, so_far)
    if following is not None:
        return step_page(link, survey, target, {**state, "a": so_far}, following)
    try:
        accepted = await run_in_threadpool(
            answers.accept,
            engine(),
            survey,
            target,
            so_far,
            submission=str(state["n"]),
            language=lang,
        )
    except answers.AnswerRefused as exc:
        return message_page(translated(str(exc), lang), lang, exc.status)
    if not accepted.created:
        return message_page(word("already", lang), lang, 409)
    FUNNEL.add(target, "completed")
    return thanks_page(survey, target, link, so_far, lang)


async def optout_page(request: Request) -> Response:
    token = request.path_params["token"]
    lang = request.query_params.get("lang") or _guess_language(request)
    title = word("optout_title", lang)
    if request.method == "GET":
        body = (
            f"<h1>{escape_html(title)}</h1><p>{escape_html(word('optout_ask', lang))}</p>"
            f'<form method="post" action="/s/optout/{escape_html(token)}?lang={escape_html(lang)}">'
            f'<input type="hidden" name="csrf" value="{escape_html(keys.form_token("optout:" + token))}">'
            f'<button type="submit">{escape_html(word("optout_button", lang))}</button></form>'
        )
        return _shell(title, body, lang)
    body_bytes = await request.body()
    if len(body_bytes) > MAX_FORM_BYTES:
        return message_page(word("too_large", lang), lang, 413)
    form = await request.form()
    if not keys.check_form_token(str(form.get("csrf") or ""), "optout:" + token):
        return message_page(word("expired", lang), lang, 400)
    done = await run_in_threadpool(invitations.opt_out, engine(), token)
    if not done:
        return message_page(word("optout_unknown", lang), lang, 404)
    return message_page(word("optout_done", lang), lang, 200)


ROUTES = [
    Route("/s/optout/{token}", optout_page, methods=["GET", "POST"]),
    Route("/s/{link}", survey_page, methods=["GET", "POST"]),
]
