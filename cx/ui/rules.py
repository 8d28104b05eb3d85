"""Routing rules screen: what a condition matches in a wave, and the form that saves it as a rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import streamlit as st

from cx.ui.actions import flash
from cx.ui.components import Figure, figure, table


def rule_matches(counts: dict[str, int], preview: pl.DataFrame, wave: str | None) -> None:
    """How many responses of the wave a condition matches, and the first of them."""
    figure(
        Figure(f"Matching responses at {wave}", f"{counts['matched']:,}", f"of {counts['total']:,}")
    )
    table(preview, name=f"rule matches {wave or ''}", key="rule_matches")


def rule_form(contact_roles: Sequence[str], action_types: Iterable[str]) -> dict[str, Any] | None:
    """The "save the condition as a rule" form: the rule's name, scope and actions (an
    ``email_contact`` action e-mails the chosen contact role) once submitted; a refusal is
    flashed in the form (slot ``save_rule``)."""
    with st.form("save_rule"):
        st.markdown("#### Save the condition as a rule")
        name = st.text_input("Name", max_chars=120)
        scope = st.text_input(
            "Applies to (scope)",
            value="world",
            help="world, region:<name>, country:<code> or agency:<name>",
        )
        kinds = st.multiselect("Actions", list(action_types), default=["email_contact"])
        role = st.selectbox("Contact role to e-mail (email_contact)", contact_roles)
        submitted = st.form_submit_button("Save rule", type="primary")
        flash("save_rule")
    if not submitted:
        return None
    actions = [{"type": k, **({"role": role} if k == "email_contact" else {})} for k in kinds]
    return {"name": name, "scope": scope, "actions": actions}
