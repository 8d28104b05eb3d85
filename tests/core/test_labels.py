"""The one place for display names: entity words with their plurals, and attribute and theme
names in the reader's language (``cx/config/locale/names.yaml``)."""

from __future__ import annotations

import polars as pl
import pytest

from cx.core import labels


@pytest.mark.parametrize(
    ("entity", "one", "many"),
    [
        ("agency", "Agency", "Agencies"),
        ("country", "Country", "Countries"),
        ("region", "Region", "Regions"),
        ("advisor_id", "Advisor", "Advisors"),
        ("channel", "Channel", "Channels"),
        ("rfm_tier", "RFM tier", "RFM tiers"),
    ],
)
def test_entity_words_and_their_plurals(entity: str, one: str, many: str) -> None:
    assert labels.singular(entity) == one
    assert labels.plural(entity) == many
    assert not labels.plural(entity).endswith(("ys", "ys "))  # never "Agencys", "Countrys"


def test_counts_take_the_singular_only_for_one() -> None:
    assert labels.count(1, "agency") == "1 agency"
    assert labels.count(3, "agency") == "3 agencies"
    assert labels.count(0, "country") == "0 countries"
    assert labels.count(12_500, "response") == "12,500 responses"
    assert labels.count(2, "earlier version") == "2 earlier versions"  # unlisted: regular plural


def test_breakdown_level_labels_come_from_the_same_table() -> None:
    assert labels.LEVEL_LABELS == {
        "region": "Region",
        "country": "Country",
        "agency": "Agency",
        "advisor_id": "Advisor",
        "channel": "Channel",
        "segment": "Segment",
    }


def test_attribute_and_theme_names_fall_back_to_english_then_to_the_id() -> None:
    assert labels.attribute_name("attr_waiting_time", "fr") == "Temps d'attente"
    assert labels.attribute_name("waiting_time", "FR") == "Temps d'attente"  # any case, bare id
    assert labels.attribute_name("attr_cleanliness", "es-ES") == "Limpieza"  # a locale tag
    assert labels.attribute_name("attr_staff_competence", "fr") == "Compétence du personnel"
    assert labels.attribute_name("attr_cleanliness", "ru") == "Чистота"
    assert labels.attribute_name("attr_price", "de") == "Price"  # no German: English
    assert labels.attribute_name("attr_price", None) == "Price"
    assert labels.attribute_name("attr_parking_space", "fr") == "Parking space"  # unknown id
    assert labels.theme_name("waiting_time", "ru") == "Время ожидания"
    assert labels.theme_name("no_such_theme", "es") == "No such theme"


def test_channel_codes_read_as_names_and_other_levels_are_left_alone() -> None:
    frame = pl.DataFrame({"channel": ["in_person", "ivr", "email", "kiosk"], "nps": [1, 2, 3, 4]})
    shown = labels.shown_values(frame, "channel")
    assert shown["channel"].to_list() == ["In person", "IVR", "E-mail", "kiosk"]
    agencies = pl.DataFrame({"agency": ["in_person"]})
    assert labels.shown_values(agencies, "agency").equals(agencies)
