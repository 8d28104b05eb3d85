"""AppTest of the API tokens screen: a non-admin is refused, a made token is shown once (and
works), a revoked one is marked and refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from cx import store
from cx.core import users
from cx.store import tokens
from cx.store.models import ApiToken
from cx.ui.navigation import PAGES, allowed
from tests.support.apptest import ROOT, rendered_text, run_page, signed_in
from tests.support.datadir import write_org, write_waves
from tests.support.frames import routing_answers

PAGE = "screens/tokens.py"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small data folder with its own store, and the demo accounts plus a user admin."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    accounts = tmp_path / "users.yaml"
    shutil.copy(os.environ["CX_USERS_FILE"], accounts)
    users.add(
        "keeper",
        password="violet-harbour-29-lamp",
        name="Kim Keeper",
        email="keeper@cx-demo.example",
        roles=["admin"],
        scope=["world"],
        path=accounts,
    )
    monkeypatch.setenv("CX_USERS_FILE", str(accounts))
    return write_org(write_waves(tmp_path / "data", routing_answers()))


def engine_of(root: Path):  # type: ignore[no-untyped-def]
    return store.init(store.make_engine(store.database_url(root)))


def test_a_user_who_is_not_a_user_admin_is_refused(data: Path) -> None:
    page = next(p for p in PAGES if p.path == PAGE)
    assert not allowed(page, users.get("analyst"))  # type: ignore[arg-type]
    assert allowed(page, users.get("keeper"))  # type: ignore[arg-type]
    os.environ["CX_DATA_DIR"] = str(data)
    direct = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)  # a direct URL
    signed_in(direct, "analyst")
    direct.run()
    assert not direct.exception, direct.exception
    assert any("does not give access" in e.value for e in direct.error)
    assert not direct.button and not direct.text_input and not direct.dataframe


def test_a_made_token_is_shown_once_and_works(data: Path) -> None:
    at = run_page(PAGE, "keeper", data)
    assert not at.exception, at.exception
    next(t for t in at.text_input if t.label == "Name").input("crm-sync")
    next(t for t in at.text_input if t.label == "Scope").input("country:ES")
    next(b for b in at.button if b.label == "Make token").click().run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith(tokens.PREFIX)
    assert any("shown only once" in w.value for w in at.warning)
    text = rendered_text(at)
    assert "crm-sync" in text and "country:ES" in text
    engine = engine_of(data)
    with store.session(engine) as s:
        found = tokens.resolve(s, shown[0])
        assert found is not None and found.created_by == "keeper" and found.role == "analyst"
    at.run()  # the next run: the token is gone from the screen
    assert not at.code and shown[0] not in rendered_text(at)


def test_revoking_needs_the_confirmation_and_ends_the_token(data: Path) -> None:
    engine = engine_of(data)
    with store.session(engine) as s:
        token = tokens.create(s, "old-bi", "world", "analyst", by=tokens.SHELL)
    at = run_page(PAGE, "keeper", data)
    revoke = next(b for b in at.button if b.label == "Revoke token")
    assert revoke.disabled
    at.checkbox(key="revoke_sure").check().run()
    next(b for b in at.button if b.label == "Revoke token").click().run()
    assert not at.exception, at.exception
    assert any("old-bi revoked" in s.value for s in at.success)
    with store.session(engine) as s:
        assert tokens.resolve(s, token) is None
        row = s.exec(select(ApiToken).where(ApiToken.name == "old-bi")).one()
        assert row.revoked_at is not None
