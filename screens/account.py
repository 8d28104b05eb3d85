"""Account: your sessions (sign out everywhere) and your password."""

from cx import ui

user = ui.require_user()
ui.account_screen(user)
