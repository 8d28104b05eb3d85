"""The Account screen: the user's own active sessions, and "sign out everywhere else"."""

from __future__ import annotations

from pathlib import Path

from cx import store
from cx.core import users
from cx.core.data import data_dir
from cx.store import sessions
from cx.ui.auth import TOKEN_KEY
from tests.support.apptest import rendered_text, run_page


def test_the_account_lists_my_sessions_and_signs_out_the_others_but_not_this_one(
    demo_root: Path,
) -> None:
    at = run_page("screens/account.py", "madrid.manager", demo_root)
    user = users.get("madrid.manager")
    assert user is not None
    engine = store.init(store.make_engine(store.database_url(data_dir())))
    try:
        phone = sessions.open_session(
            engine, user, address="198.51.100.7", user_agent="Mozilla/5.0 (iPhone) Safari/604.1"
        )
        at.run()
        assert not at.exception
        text = rendered_text(at)
        assert "Where you are signed in" in text and "Safari on iPhone" in text
        assert "198.51.100.7" in text
        mine = at.session_state[TOKEN_KEY]
        button = next(b for b in at.button if b.label == "Sign out everywhere else")
        button.click().run()
        assert any("Signed out of" in s.value for s in at.success)
        assert sessions.resolve(engine, phone) is None  # the phone's session has ended
        assert sessions.resolve(engine, mine) is not None  # this browser stays signed in
    finally:
        engine.dispose()
