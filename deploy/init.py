"""One-shot preparation of a shared deployment, run once before the replicas start (the ``init``
service of compose.yaml; the loopback test runs it too).

Several replicas starting on the same data folder and database would otherwise all do the
first-start work at once: create the store's tables, write the demo dataset into an empty
folder, write the default survey. Done here once, each replica finds it done.

    python deploy/init.py            # CX_DATA_DIR and DATABASE_URL from the environment
    CX_INIT_DEMO=1 python deploy/init.py   # on an empty data folder: the demo dataset too
"""

from __future__ import annotations

import os
import sys

from cx import store
from cx.capture import surveys
from cx.core import keys
from cx.core.data import data_dir, has_waves
from cx.demo import complaints


def main() -> int:
    try:
        keys.signing_key()  # the replicas would refuse to start: say it here, once
    except keys.KeyProblem as exc:
        print(f"cx init: {exc}", file=sys.stderr)
        return 2
    if not os.environ.get("DATABASE_URL"):
        print("cx init: DATABASE_URL is not set: replicas need one shared store", file=sys.stderr)
        return 2
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    store.init(store.make_engine(store.database_url(root))).dispose()
    if not has_waves(root):
        if os.environ.get("CX_INIT_DEMO") != "1":
            print(
                f"cx init: {root} holds no wave yet: import one (cx import) or set CX_INIT_DEMO=1"
            )
        else:
            print(f"cx init: writing the demo dataset into {root}", flush=True)
            complaints.first_start(root)
    surveys.ensure_default(root)
    print(f"cx init: store and data folder {root} ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
