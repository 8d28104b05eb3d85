"""Single sign-on (optional): Streamlit's ``st.login`` with an OpenID Connect provider set in
``.streamlit/secrets.toml``, and a mapping file that turns the provider's claims into a role and
a scope. Local accounts stay the default; SSO appears only when both are configured.

``secrets.toml``::

    [auth]
    redirect_uri = "https://cx.example.com/oauth2callback"
    cookie_secret = "…32+ random bytes…"
    [auth.company]
    client_id = "…"
    client_secret = "…"
    server_metadata_url = "https://idp.example.com/.well-known/openid-configuration"

``<data>/sso.yaml`` (or ``CX_SSO_FILE``): the provider, its button label, and rules tried in
order; the first match gives the role and the scope, no match signs nobody in::

    provider: company
    label: Company SSO
    rules:
      - {claim: groups, value: cx-ceo, roles: [ceo], scope: [world]}
      - {claim: email_domain, value: es.example.com, roles: [country_manager], scope: [country:ES]}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cx.core.data import data_dir
from cx.core.keys import read_secrets
from cx.core.roles import ROLES
from cx.core.scope import Scope
from cx.core.users import User

COOKIE = "_streamlit_user"  # Streamlit's signed identity cookie after st.login


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    rules: tuple[dict[str, Any], ...]


def mapping_file() -> Path:
    return Path(os.environ.get("CX_SSO_FILE") or data_dir() / "sso.yaml")


def provider() -> Provider | None:
    """The configured provider, or None (no mapping file, or no such ``[auth.<name>]``)."""
    path = mapping_file()
    if not path.exists():
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return None
    name = str(raw.get("provider") or "")
    auth = read_secrets().get("auth", {})
    if not name or not isinstance(auth.get(name), dict):
        return None
    rules = tuple(r for r in raw.get("rules") or () if isinstance(r, dict))
    return Provider(name, str(raw.get("label") or "single sign-on"), rules)


def _claim_values(claims: dict[str, Any], claim: str) -> list[str]:
    if claim == "email_domain":
        email = str(claims.get("email") or "")
        return [email.rsplit("@", 1)[1].lower()] if "@" in email else []
    value = claims.get(claim)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


def map_claims(claims: dict[str, Any], rules: tuple[dict[str, Any], ...]) -> User | None:
    """The user the first matching rule makes of these claims, or None.

    >>> rules = ({"claim": "email_domain", "value": "es.example.com",
    ...           "roles": ["country_manager"], "scope": ["country:ES"]},)
    >>> u = map_claims({"email": "Ana@ES.example.com", "name": "Ana", "email_verified": True}, rules)
    >>> u.username, u.roles, str(u.scope)
    ('ana@es.example.com', ('country_manager',), 'country:ES')
    >>> map_claims({"email": "eve@evil.example", "email_verified": True}, rules) is None
    True
    """
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is False:
        return None
    for rule in rules:
        wanted = str(rule.get("value") or "").lower()
        if wanted and wanted in (v.lower() for v in _claim_values(claims, str(rule.get("claim")))):
            roles = tuple(r for r in rule.get("roles") or () if r in ROLES)
            try:
                scope = Scope.parse(rule.get("scope") or [])
            except ValueError:
                return None
            if not roles:
                return None
            return User(
                username=email,
                name=str(claims.get("name") or email),
                email=email,
                roles=roles,
                scope=scope,
                stamp="sso",
            )
    return None
