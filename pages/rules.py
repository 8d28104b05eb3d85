"""Routing rules (analyst): list the rules, write and test a condition on the data, save it, run the rules."""

import streamlit as st

from cx import store, ui
from cx.loop import rules

user = ui.require_user("analyst")
scope, filters = user.scope, ui.filters()
ui.header("Routing rules", user, filters)

engine = ui.engine()
try:
    rules.sync_file_rules(engine)
except (rules.RuleError, store.StaleEdit) as exc:
    st.error(f"cx/config/rules.yaml could not be loaded: {exc}")
with store.session(engine) as s:
    table = rules.rules_frame(s)
ui.takeaway(rules.takeaway(table))
st.dataframe(table.drop("id"), hide_index=True, width="stretch")

st.subheader("Write and test a rule")
condition = st.text_area(
    "Condition",
    key="rule_condition",
    max_chars=rules.MAX_LENGTH,
    placeholder="attr_cleanliness < 4 AND city = 'Madrid'",
)
st.caption(
    "Columns of the responses (nps, csat, attr_*, city, agency, channel, segment…), sentiment and theme; "
    "= != < <= > >=, AND, OR, NOT, IN (…), BETWEEN … AND …, IS [NOT] NULL, 'text', numbers."
)
if condition.strip():
    try:
        counts = ui.query(rules.match_count, scope, filters, rule=condition)
        st.metric(
            f"Matching responses at {filters.wave}",
            f"{counts['matched']:,}",
            f"of {counts['total']:,}",
            delta_color="off",
            delta_arrow="off",
        )
        st.dataframe(
            ui.query(rules.preview, scope, filters, rule=condition),
            hide_index=True,
            width="stretch",
        )
    except rules.RuleError as exc:
        st.error(f"{exc}. Fix the condition and try again.")

with st.form("save_rule"):
    st.markdown("#### Save the condition as a rule")
    name = st.text_input("Name", max_chars=120)
    rule_scope = st.text_input(
        "Applies to (scope)",
        value="world",
        help="world, region:<name>, country:<code> or agency:<name>",
    )
    kinds = st.multiselect("Actions", list(rules.ACTION_TYPES), default=["email_contact"])
    role = st.selectbox(
        "Contact role to e-mail (email_contact)", rules.contact_roles(ui.data_root())
    )
    if st.form_submit_button("Save rule", type="primary"):
        actions = [{"type": k, **({"role": role} if k == "email_contact" else {})} for k in kinds]
        try:
            with store.session(engine) as s:
                rules.save_rule(
                    s,
                    name=name,
                    condition=condition,
                    scope=rule_scope,
                    actions=actions,
                    actor=user.username,
                )
            st.success(f"Rule '{name}' saved.")
            st.rerun()
        except (rules.RuleError, ValueError, store.StaleEdit) as exc:
            st.error(f"{exc}. Nothing was saved.")

st.subheader("Run the rules")
if st.button(f"Run every enabled rule on {filters.wave}", type="primary"):
    with st.spinner("Running the rules… (opening thousands of cases takes about a minute)"):
        st.session_state["rules_result"] = rules.run_rules(
            engine,
            ui.responses(),
            scope,
            wave=filters.wave,
            actor=user.username,
            root=ui.data_root(),
        )
    st.rerun()  # refresh the hit counts of the table above
if result := st.session_state.pop("rules_result", None):
    st.success(
        f"{result['matched']:,} matching responses; {result['hits']:,} new hits, {result['cases']:,} cases opened, "
        f"{result['notifications']:,} e-mails queued (a response fires a rule once, whatever is re-run)."
    )
    for reason in result["skipped"]:
        st.warning(f"Skipped — {reason}")
