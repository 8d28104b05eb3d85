"""The demo accounts: written into the demo data folder's ``users.yaml`` when the demo dataset
is generated, flagged ``demo`` so they sign in only while the app runs on that dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cx.core import users

DEMO_PASSWORD = "cx-demo"
DEMO_ADVISOR = "MAD-03"
"""The ``advisor_id`` of the demo advisor: their dashboards show only the customers they served."""

DEMO_USERS: list[dict[str, Any]] = [
    {"username": "ceo", "name": "Carmen Ortega (CEO)", "roles": ["ceo"], "scope": ["world"]},
    {
        "username": "es.manager",
        "name": "Javier Ruiz (Spain)",
        "roles": ["country_manager"],
        "scope": ["country:ES"],
    },
    {
        "username": "fr.manager",
        "name": "Claire Dubois (France)",
        "roles": ["country_manager"],
        "scope": ["country:FR"],
    },
    {
        "username": "madrid.manager",
        "name": "Lucía Fernández (Madrid)",
        "roles": ["agency_manager"],
        "scope": ["agency:Madrid"],
    },
    {
        "username": "paris.manager",
        "name": "Hugo Bernard (Paris)",
        "roles": ["agency_manager"],
        "scope": ["agency:Paris"],
    },
    {
        "username": "madrid.advisor",
        "name": "Pablo Navarro (Madrid advisor)",
        "roles": ["advisor"],
        "scope": ["agency:Madrid", f"advisor:{DEMO_ADVISOR}"],
    },
    {
        "username": "madrid.teleop",
        "name": "Elena Martín (Madrid teleoperator)",
        "roles": ["teleoperator"],
        "scope": ["agency:Madrid"],
    },
    {
        "username": "analyst",
        "name": "Sam Analyst (data admin)",
        "roles": ["analyst"],
        "scope": ["world"],
    },
]


def demo_users_file(root: Path) -> Path:
    """The demo folder's own ``users.yaml`` (the app's default users file for that folder)."""
    return root / users.USERS_FILE


def write_demo_users(root: Path, *, demo: bool = True) -> list[str]:
    """Add the demo accounts missing from the demo folder's users file and mark the folder as the
    demo's (so they may sign in); returns the usernames added. ``demo=False`` (the test suite's
    own people) writes them as ordinary accounts and leaves no marker."""
    path = demo_users_file(root)
    known = {u.username for u in users.all_users(path)}
    added = []
    for spec in DEMO_USERS:
        if spec["username"] in known:
            continue
        users.add(
            spec["username"],
            password=DEMO_PASSWORD,
            name=spec["name"],
            email=f"{spec['username']}@cx-demo.example",
            roles=spec["roles"],
            scope=spec["scope"],
            demo=True,  # bypasses the password policy: the demo password is public anyway
            path=path,
        )
        added.append(spec["username"])
    if not demo:
        _undemo(path)
        return added
    (root / users.DEMO_MARKER).write_text(
        "This folder holds the generated demo dataset: its demo accounts may sign in.\n",
        encoding="utf-8",
    )
    return added


def _undemo(path: Path) -> None:
    import yaml

    config = users.load_config(path)
    for raw in config.get("credentials", {}).get("usernames", {}).values():
        raw.pop("demo", None)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
