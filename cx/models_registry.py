"""Imports every module that defines SQLModel tables, so ``cx.db.init`` creates them all.

Add a line here when a new concept module defines tables.
"""

import cx.alerts  # noqa: F401
import cx.cases  # noqa: F401
import cx.db  # noqa: F401
import cx.meeting  # noqa: F401
import cx.plans  # noqa: F401
import cx.rules  # noqa: F401
