"""Map data shipped inside the package (``cx/config/geo``): the world-atlas 110m TopoJSON, whose
country ids are ISO 3166-1 numeric codes, and ``iso_codes.csv`` mapping the contract's alpha-2
codes to them. Nothing is downloaded at run time.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from importlib import resources
from typing import Any

from cx.core.org import COUNTRY_NAMES

GEO_PACKAGE = "cx.config"
TOPOLOGY_FILE = "geo/countries-110m.json"
ISO_FILE = "geo/iso_codes.csv"
ANTARCTICA = "010"


@cache
def iso_codes() -> dict[str, tuple[str, str]]:
    """ISO alpha-2 -> (numeric id as in the TopoJSON, e.g. ``"724"``, English short name)."""
    text = resources.files(GEO_PACKAGE).joinpath(ISO_FILE).read_text(encoding="utf-8")
    return {
        row["alpha2"]: (row["numeric"], row["name"]) for row in csv.DictReader(text.splitlines())
    }


def country_name(code: str) -> str:
    """Display name of an alpha-2 code: the org's name, else the ISO short name, else the code."""
    return COUNTRY_NAMES.get(code) or iso_codes().get(code, ("", code))[1]


def topology() -> dict[str, Any]:
    """The world TopoJSON without country names (they come from our in-scope data only)."""
    data: dict[str, Any] = json.loads(
        resources.files(GEO_PACKAGE).joinpath(TOPOLOGY_FILE).read_text(encoding="utf-8")
    )
    geometries = data["objects"]["countries"]["geometries"]
    # Antarctica (010) takes a fifth of the frame and never has customers.
    geometries[:] = [g for g in geometries if g.get("id") != ANTARCTICA]
    for geometry in geometries:
        geometry.pop("properties", None)
    return data
