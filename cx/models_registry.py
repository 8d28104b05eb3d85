"""Imports every module that defines SQLModel tables, so ``cx.db.init`` creates them all.

Add a line here when a new concept module defines tables.
"""

import importlib
import importlib.util

for _name in ("cx.db", "cx.cases", "cx.alerts", "cx.rules", "cx.plans", "cx.meeting"):
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name)
