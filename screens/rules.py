"""Routing rules (analyst): list the rules, write and test a condition on the data, save it, run the rules."""

import streamlit as st

from cx import store, ui
from cx.loop import rule_language, rule_store, rules

user = ui.require_user("analyst")
scope, filters = user.scope, ui.filters()
ui.header("Routing rules", user, filters)

engine = ui.engine()
try:
    rule_store.sync_file_rules(engine)
except (rule_language.RuleError, store.StaleEdit) as exc:
    st.error(f"cx/config/rules.yaml could not be loaded: {exc}")
with store.session(engine) as s:
    table = rule_store.rules_frame(s)
ui.takeaway(rule_store.takeaway(table))
ui.table(table.drop("id"), name="routing rules", key="rules")

st.subheader("Write and test a rule")
condition = st.text_area(
    "Condition",
    key="rule_condition",
    max_chars=rule_language.MAX_LENGTH,
    placeholder="attr_cleanliness < 4 AND city = 'Madrid'",
)
st.caption(
    "Columns of the responses (nps, csat, attr_*, city, agency, channel, segment…), sentiment and theme; "
    "= != < <= > >=, AND, OR, NOT, IN (…), BETWEEN … AND …, IS [NOT] NULL, 'text', numbers."
)
if condition.strip():
    try:
        ui.rule_matches(
            ui.query(rule_language.match_count, scope, filters, rule=condition),
            ui.query(rule_language.preview, scope, filters, rule=condition),
            filters.wave,
        )
    except rule_language.RuleError as exc:
        st.error(f"{exc}. Fix the condition and try again.")

if rule := ui.rule_form(rule_store.contact_roles(ui.data_root()), rule_store.ACTION_TYPES):
    ui.act(
        lambda s: rule_store.save_rule(s, condition=condition, actor=user, **rule),
        f"Rule '{rule['name']}' saved.",
        refused=(rule_language.RuleError, ValueError, PermissionError),
        failed="{exc}. Nothing was saved.",
        slot="save_rule",
    )

st.subheader("Run the rules")
if st.button(f"Run every enabled rule on {filters.wave}", type="primary"):
    with st.spinner("Running the rules… (opening thousands of cases takes about a minute)"):
        result = rules.run_rules(
            engine,
            ui.responses(),
            scope,
            wave=filters.wave,
            actor=user.username,
            root=ui.data_root(),
        )
    ui.keep_flash(
        f"{result['matched']:,} matching responses; {result['hits']:,} new hits, {result['cases']:,} cases opened, "
        f"{result['notifications']:,} e-mails queued (a response fires a rule once, whatever is re-run).",
        slot="run",
    )
    for reason in result["skipped"]:
        ui.keep_flash(f"Skipped — {reason}", "warning", slot="run")
    st.rerun()  # refresh the hit counts of the table above
ui.flash("run")
