"""Replies to the respondent from a case: editable reply templates per language ("generic
answers") filled with :func:`cx.loop.rules.render` (``{first_name}``, ``{agency}``, ``{case_ref}``…
only: no attribute access, no format spec), queued through the outbox to the customer and logged
in the case history.

The templates of :data:`DEFAULT_TEMPLATES` apply until someone saves their own; a saved template
carries an optimistic ``version`` (two editors: the second save raises :class:`cx.store.StaleEdit`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cx import store
from cx.core.roles import DATA_ADMINS, MANAGERS
from cx.core.users import User
from cx.loop import cases, notify, rules
from cx.store import Notification, StaleEdit, utcnow
from cx.store.models import Case, CaseEvent, Invitation, ReplyTemplate

LANGUAGES = ("es", "fr", "en", "ru")
FALLBACK_LANGUAGE = "en"
EDITORS = (*DATA_ADMINS, *MANAGERS)
"""Who edits the reply templates: data admins and managers."""
PLACEHOLDERS = ("first_name", "agency", "case_ref", "customer_id", "agent")
"""What a template may use; anything else between braces stays as written."""
MAX_SUBJECT, MAX_BODY = 200, 5000
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_NO_NAME = {"es": "cliente", "fr": "Madame, Monsieur", "en": "customer", "ru": "клиент"}
"""The greeting's name when the case holds no first name."""

DEFAULT_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "acknowledge": {
        "en": (
            "Your feedback about {agency} ({case_ref})",
            "Hello {first_name},\n\nThank you for taking the time to tell us about your visit to "
            "{agency}. We have read your comments carefully and opened case {case_ref} to follow "
            "them up. Someone from the team will get back to you within two working days.\n\n"
            "Kind regards,\n{agent}\nThe {agency} team",
        ),
        "es": (
            "Su opinión sobre {agency} ({case_ref})",
            "Hola, {first_name}:\n\nGracias por dedicarnos su tiempo y contarnos su visita a "
            "{agency}. Hemos leído sus comentarios con atención y hemos abierto el caso {case_ref} "
            "para darles seguimiento. Una persona del equipo se pondrá en contacto con usted en "
            "un plazo de dos días laborables.\n\nAtentamente,\n{agent}\nEl equipo de {agency}",
        ),
        "fr": (
            "Votre avis sur {agency} ({case_ref})",
            "Bonjour {first_name},\n\nMerci d'avoir pris le temps de nous parler de votre visite "
            "à {agency}. Nous avons lu vos remarques avec attention et ouvert le dossier "
            "{case_ref} pour y donner suite. Un membre de l'équipe reviendra vers vous sous deux "
            "jours ouvrés.\n\nBien cordialement,\n{agent}\nL'équipe de {agency}",
        ),
        "ru": (
            "Ваш отзыв о {agency} ({case_ref})",
            "Здравствуйте, {first_name}!\n\nСпасибо, что нашли время рассказать нам о посещении "
            "{agency}. Мы внимательно прочитали ваш отзыв и открыли обращение {case_ref}. "
            "Сотрудник нашей команды свяжется с вами в течение двух рабочих дней.\n\n"
            "С уважением,\n{agent}\nКоманда {agency}",
        ),
    },
    "resolved": {
        "en": (
            "Case {case_ref} is resolved",
            "Hello {first_name},\n\nWe are glad to let you know that the problem you reported at "
            "{agency} has been dealt with, and case {case_ref} is now resolved. Thank you for "
            "helping us improve; if anything is still not right, simply reply to this e-mail.\n\n"
            "Kind regards,\n{agent}\nThe {agency} team",
        ),
        "es": (
            "Caso {case_ref} resuelto",
            "Hola, {first_name}:\n\nNos alegra comunicarle que el problema que nos señaló en "
            "{agency} ya está solucionado y que el caso {case_ref} queda resuelto. Gracias por "
            "ayudarnos a mejorar; si algo sigue sin estar bien, responda a este correo.\n\n"
            "Atentamente,\n{agent}\nEl equipo de {agency}",
        ),
        "fr": (
            "Dossier {case_ref} résolu",
            "Bonjour {first_name},\n\nNous avons le plaisir de vous informer que le problème "
            "signalé à {agency} a été traité : le dossier {case_ref} est résolu. Merci de nous "
            "aider à progresser ; si quelque chose ne va toujours pas, répondez simplement à ce "
            "message.\n\nBien cordialement,\n{agent}\nL'équipe de {agency}",
        ),
        "ru": (
            "Обращение {case_ref} решено",
            "Здравствуйте, {first_name}!\n\nРады сообщить, что проблема, о которой вы рассказали "
            "в {agency}, устранена, и обращение {case_ref} закрыто как решённое. Спасибо, что "
            "помогаете нам становиться лучше. Если что-то по-прежнему не так, просто ответьте на "
            "это письмо.\n\nС уважением,\n{agent}\nКоманда {agency}",
        ),
    },
    "apology_callback": {
        "en": (
            "We are sorry: we will call you back ({case_ref})",
            "Hello {first_name},\n\nWe are sorry that your experience at {agency} fell short of "
            "what you expected. We would like to understand what happened and put it right, so "
            "a member of the team will call you back shortly about case {case_ref}. If another "
            "time suits you better, reply to this e-mail with the best moment to reach you.\n\n"
            "With our apologies,\n{agent}\nThe {agency} team",
        ),
        "es": (
            "Lo sentimos: le llamaremos ({case_ref})",
            "Hola, {first_name}:\n\nLamentamos que su experiencia en {agency} no estuviera a la "
            "altura de lo que esperaba. Queremos entender qué ocurrió y ponerle remedio, por lo "
            "que una persona del equipo le llamará en breve en relación con el caso {case_ref}. "
            "Si prefiere otro momento, responda a este correo indicándonos cuándo localizarle.\n\n"
            "Con nuestras disculpas,\n{agent}\nEl equipo de {agency}",
        ),
        "fr": (
            "Toutes nos excuses : nous vous rappelons ({case_ref})",
            "Bonjour {first_name},\n\nNous sommes désolés que votre expérience à {agency} n'ait "
            "pas été à la hauteur de vos attentes. Nous souhaitons comprendre ce qui s'est passé "
            "et y remédier : un membre de l'équipe va vous rappeler prochainement au sujet du "
            "dossier {case_ref}. Si un autre moment vous convient mieux, indiquez-le-nous en "
            "répondant à ce message.\n\nAvec toutes nos excuses,\n{agent}\nL'équipe de {agency}",
        ),
        "ru": (
            "Приносим извинения: мы вам перезвоним ({case_ref})",
            "Здравствуйте, {first_name}!\n\nНам очень жаль, что посещение {agency} не оправдало "
            "ваших ожиданий. Мы хотим разобраться в ситуации и всё исправить, поэтому сотрудник "
            "нашей команды в ближайшее время перезвонит вам по обращению {case_ref}. Если вам "
            "удобнее другое время, ответьте на это письмо и укажите, когда с вами связаться.\n\n"
            "С извинениями,\n{agent}\nКоманда {agency}",
        ),
    },
}


class ReplyError(cases.CaseError):
    """A reply or template that cannot be saved or sent (unknown template, bad text); says why."""


# ---------------------------------------------------------------- templates


def _default(name: str, language: str) -> ReplyTemplate | None:
    text = DEFAULT_TEMPLATES.get(name, {}).get(language)
    if text is None:
        return None
    return ReplyTemplate(name=name, language=language, subject=text[0], body=text[1], version=0)


def _stored(s: Session, name: str, language: str) -> ReplyTemplate | None:
    stmt = select(ReplyTemplate).where(
        ReplyTemplate.name == name, ReplyTemplate.language == language
    )
    return s.exec(stmt.execution_options(populate_existing=True)).first()


def templates(s: Session, language: str | None = None) -> list[ReplyTemplate]:
    """Every reply template (of one language, or all), by name then language: the saved ones and
    the defaults nobody has saved yet (``id`` None, ``version`` 0)."""
    stmt = select(ReplyTemplate)
    if language is not None:
        stmt = stmt.where(ReplyTemplate.language == language)
    saved = {
        (t.name, t.language): t for t in s.exec(stmt.execution_options(populate_existing=True))
    }
    defaults = {
        (name, lang): t
        for name, texts in DEFAULT_TEMPLATES.items()
        for lang in texts
        if language in (None, lang) and (t := _default(name, lang)) is not None
    }
    merged = {**defaults, **saved}
    return [merged[k] for k in sorted(merged)]


def template(s: Session, name: str, language: str | None) -> ReplyTemplate | None:
    """The template ``name`` in ``language``, else in English (saved first, then the default)."""
    for lang in dict.fromkeys((language or FALLBACK_LANGUAGE, FALLBACK_LANGUAGE)):
        found = _stored(s, name, lang) or _default(name, lang)
        if found is not None:
            return found
    return None


def template_names(s: Session) -> list[str]:
    return sorted({t.name for t in templates(s)})


def _check_text(subject: str, body: str) -> tuple[str, str]:
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise ReplyError("the subject and the body must both be written")
    if "\n" in subject or "\r" in subject:
        raise ReplyError("the subject must be one line")
    if len(subject) > MAX_SUBJECT:
        raise ReplyError(
            f"the subject is too long ({len(subject)} characters; at most {MAX_SUBJECT})"
        )
    if len(body) > MAX_BODY:
        raise ReplyError(f"the body is too long ({len(body)} characters; at most {MAX_BODY})")
    return subject, body


def save_template(
    s: Session,
    user: User,
    name: str,
    language: str,
    subject: str,
    body: str,
    expected_version: int | None = None,
) -> ReplyTemplate:
    """Save a reply template (data admins and managers). ``expected_version`` is the version the
    editor opened (None or 0 for a template not saved yet): :class:`cx.store.StaleEdit` when
    someone saved it since."""
    if not user.has(*EDITORS):
        raise cases.CaseForbidden(
            f"{user.username} may not edit reply templates (role {', '.join(user.roles) or 'none'})"
        )
    if not _NAME.match(name or ""):
        raise ReplyError(
            f"bad template name {name!r}: lower-case letters, digits and _, e.g. apology_callback"
        )
    if language not in LANGUAGES:
        raise ReplyError(f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}")
    subject, body = _check_text(subject, body)
    values: dict[str, Any] = {
        "subject": subject,
        "body": body,
        "updated_by": user.username,
        "updated_at": utcnow(),
    }
    existing = _stored(s, name, language)
    if existing is None:
        if expected_version:
            raise StaleEdit(
                f"reply template {name} ({language}) no longer exists; reload it and edit it again"
            )
        row = ReplyTemplate(name=name, language=language, version=1, **values)
        try:
            with s.begin_nested():  # two first saves at once: the second is stale
                s.add(row)
                s.flush()
        except IntegrityError:
            raise StaleEdit(
                f"reply template {name} ({language}) was just saved by someone else; "
                "reload it and apply your change again"
            ) from None
    else:
        assert existing.id is not None
        store.update_versioned(s, ReplyTemplate, existing.id, expected_version or 0, values)
    store.audit(
        s,
        actor=user.username,
        action="reply_template.save",
        entity="reply_template",
        entity_id=f"{name}:{language}",
        detail={"subject": subject, "version_seen": expected_version},
    )
    saved = _stored(s, name, language)
    assert saved is not None
    return saved


# ---------------------------------------------------------------- replying


def _invitation(s: Session, case: Case) -> Invitation | None:
    """The personal invitation the case's answer came from, if any (its name and address)."""
    return s.exec(
        select(Invitation)
        .where(Invitation.response_id == case.response_id)
        .order_by(col(Invitation.id).desc())
    ).first()


NO_ADDRESS = (
    "this answer came from an open link (QR code, kiosk): the customer left no address to write "
    "to; call them back if they asked, or reply on the spot"
)


def recipient(s: Session, case: Case) -> str | None:
    """Where a reply goes: the address the case's invitation was sent to, else the customer's;
    None for an anonymous answer (an open link: nobody to write to)."""
    invite = _invitation(s, case)
    if invite is not None and "@" in (invite.recipient or ""):
        return invite.recipient.strip()
    if rules.is_anonymous(case.customer_id):
        return None
    return rules.customer_email(case.customer_id)


def reply_language(case: Case, language: str | None = None) -> str:
    """The language to answer in: the one asked, else the case's, else English."""
    for lang in (language, case.language):
        if lang in LANGUAGES:
            return str(lang)
    return FALLBACK_LANGUAGE


def values_for(s: Session, case: Case, user: User, language: str) -> dict[str, Any]:
    """What the placeholders stand for in a reply to ``case`` by ``user``."""
    invite = _invitation(s, case)
    first = (invite.first_name if invite else "") or _NO_NAME.get(language, _NO_NAME["en"])
    return {
        "first_name": first,
        "agency": case.agency or "",
        "case_ref": notify.case_number(case.id or 0),
        "customer_id": case.customer_id,
        "agent": user.name.split(" (")[0],
    }


def _workable(s: Session, user: User, case_id: int) -> Case:
    if not user.has(*cases.CASE_WORKERS):
        raise cases.CaseForbidden(
            f"{user.username} may not work complaint cases (role {', '.join(user.roles) or 'none'})"
        )
    case = cases.get_case(s, user.scope, case_id)
    if case is None:
        raise cases.CaseForbidden(f"case {case_id} does not exist in your scope")
    return case


def draft(
    s: Session,
    user: User,
    case_id: int,
    template_name: str,
    *,
    language: str | None = None,
    edits: Mapping[str, str] | None = None,
) -> tuple[str, str, str]:
    """(language, subject, body) of a reply as it would be sent: the template (or the edited
    texts) rendered for the case. Checks the user may work the case."""
    case = _workable(s, user, case_id)
    lang = reply_language(case, language)
    found = template(s, template_name, lang)
    if found is None:
        raise ReplyError(
            f"unknown reply template {template_name!r}; use one of {', '.join(template_names(s))}"
        )
    unknown = set(edits or {}) - {"subject", "body"}
    if unknown:
        raise ReplyError(f"only the subject and the body can be edited, not {sorted(unknown)}")
    subject = (edits or {}).get("subject", found.subject)
    body = (edits or {}).get("body", found.body)
    values = values_for(s, case, user, found.language)
    subject, body = _check_text(rules.render(subject, values), rules.render(body, values))
    return found.language, subject, body


def reply(
    s: Session,
    user: User,
    case_id: int,
    template_name: str,
    *,
    language: str | None = None,
    edits: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Notification:
    """Send a reply to the case's respondent: the template in the case's language (English when it
    has none), or the edited subject / body, queued for the customer and logged as a ``reply``
    event. :class:`cx.loop.cases.CaseForbidden` outside the user's role or scope."""
    lang, subject, body = draft(s, user, case_id, template_name, language=language, edits=edits)
    case = _workable(s, user, case_id)
    if case.status == "closed":
        raise ReplyError(f"case {case_id} is closed; it can no longer be changed")
    to = recipient(s, case)
    if to is None:
        raise ReplyError(f"case {case_id}: {NO_ADDRESS}")
    now = now or utcnow()
    cases._event(
        s,
        case,
        actor=user.username,
        kind="reply",
        now=now,
        detail={"template": template_name, "language": lang, "subject": subject},
    )
    event = next(
        o
        for o in s.new
        if isinstance(o, CaseEvent) and o.case_id == case.id and o.kind == "reply" and o.id is None
    )
    s.flush()
    queued = store.enqueue(
        s,
        recipient=to,
        subject=subject,
        body=body,
        audience="customer",
        dedupe_key=f"case:{case.id}:reply:{event.id}",
        region=case.region,
        country=case.country,
        agency=case.agency,
    )
    assert queued is not None, "a new event gives a new dedupe key"
    return queued
