"""CX Review's one server: the dashboards (``dashboard.py``) and, beside them on the same port,
the route groups of :mod:`cx.server` (sign-in; survey pages and the REST API add theirs there).

Run it with ``streamlit run app.py`` (or ``cx serve``).
"""

import streamlit as st

from cx import server
from cx.core.data import data_dir
from cx.ops import backup

server.check()
if done := backup.recover(data_dir()):  # a restore cut short (crash, kill -9) is finished first
    print(f"cx: {done}")
app = st.App(
    "dashboard.py",
    secrets=server.secrets(),
    routes=server.routes(),
    middleware=server.middleware(),
)
