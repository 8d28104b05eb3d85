"""CX Review dashboards (the Streamlit script that app.py serves): page config, login gate, the user's scope, shared filters, navigation by role."""

import streamlit as st

from cx import ui

st.set_page_config(page_title="CX Review", page_icon=":material/insights:", layout="wide")
ui.ensure_data()
user = ui.login_gate()
ui.start_outbox_sender()
page = ui.navigation(user)
ui.sidebar_filters(user)
page.run()
ui.after_sign_in(user, ui.filters())  # this user's other screens, warmed once the page is drawn
