"""Single sign-on: Streamlit's st.login against an OpenID Connect provider on loopback, the
provider's claims mapped to a role and a scope by the mapping file, and the session in the store."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.browser import shot, streamlit_server, wait_idle
from tests.support.net import free_port
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider

ANA = {
    "email": "ana@es.example.com",
    "email_verified": True,
    "name": "Ana Sánchez",
    "groups": ["cx-es"],
}


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with oidc_provider(dict(ANA)) as provider:
        yield provider


@pytest.fixture(scope="module")
def sso_url(
    demo_root: Path, idp: Provider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("sso")
    port = free_port()
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        "[auth.company]\n"
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{idp.issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    rules: list[dict[str, Any]] = [
        {"claim": "groups", "value": "cx-es", "roles": ["country_manager"], "scope": ["country:ES"]}
    ]
    (folder / "sso.yaml").write_text(
        yaml.safe_dump({"provider": "company", "label": "Company SSO", "rules": rules}),
        encoding="utf-8",
    )
    env = {"CX_SECRETS_FILE": str(folder / "secrets.toml"), "CX_SSO_FILE": str(folder / "sso.yaml")}
    with streamlit_server(demo_root, port, env=env) as url:
        yield url


def test_single_sign_on_maps_the_group_to_a_country_manager_and_a_copied_cookie_dies_with_sign_out(
    sso_url: str, idp: Provider, browser: object
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(sso_url + "/overview")
    assert "/signin" in page.url
    shot(page, "sso-sign-in")
    page.get_by_role("button", name="Sign in with Company SSO").click()
    page.get_by_text("Ana Sánchez").wait_for()
    wait_idle(page)
    assert idp.tokens_issued == 1
    assert page.get_by_text("country_manager · country:ES").count()
    assert page.get_by_text("NPS overview").count()
    shot(page, "sso-signed-in")
    cookies = context.cookies()
    assert any(c["name"] == "_streamlit_user" for c in cookies)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin**")  # st.logout cleared the provider's cookie in this browser
    context.close()
    thief = browser.new_context()  # type: ignore[attr-defined]
    thief.add_cookies(cookies)
    stolen = thief.new_page()
    stolen.goto(sso_url + "/")
    stolen.get_by_text("Your session has ended").wait_for()  # the store's tombstone refuses it
    assert not stolen.get_by_text("NPS overview").count()
    thief.close()


def test_a_provider_account_without_a_matching_rule_gets_no_role(
    sso_url: str, idp: Provider, page: object
) -> None:
    idp.person = {**ANA, "email": "eve@elsewhere.example", "groups": ["marketing"], "name": "Eve"}
    try:
        page.goto(sso_url + "/signin")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Sign in with Company SSO").click()  # type: ignore[attr-defined]
        page.get_by_text("has no role in CX Review").wait_for()  # type: ignore[attr-defined]
        assert not page.get_by_text("NPS overview").count()  # type: ignore[attr-defined]
    finally:
        idp.person = dict(ANA)
