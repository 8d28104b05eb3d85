"""CX Review's one server: the dashboards (``dashboard.py``) and, beside them on the same port,
the route groups of :mod:`cx.server` (sign-in; survey pages and the REST API add theirs there).

Run it with ``streamlit run app.py`` (or ``cx serve``).
"""

import streamlit as st

from cx import server
from cx.core.data import data_dir, has_waves
from cx.demo import complaints
from cx.ops import backup

server.check()  # before the dashboards' modules: a refused key is the only line printed
from cx import ui  # noqa: E402

server.no_delay()  # replies on kept-alive connections without the 40 ms delayed-ACK wait
if done := backup.recover(data_dir()):  # a restore cut short (crash, kill -9) is finished first
    print(f"cx: {done}")
if not has_waves(data_dir()):  # the quickstart: the demo and its accounts before the first page
    print("cx: first start: writing the demo dataset (8 waves, 200,000 responses)…", flush=True)
    complaints.first_start(data_dir())
if line := server.prepare_capture():
    print(f"cx: {line}", flush=True)
server.start_workers()  # survey answers: their loop within a second, their fold into the wave
ui.preload()  # the screens' modules, imported once here rather than by the first visitor
ui.start_warming()  # each data version's tables built in the background, before a screen asks
app = st.App(
    "dashboard.py",
    secrets=server.secrets(),
    routes=server.routes(),
    middleware=server.middleware(),
)
