"""The organisation file: read once, read again when it changes."""

import os

from cx.core import org

ORG = """regions:
  - name: Europe
    countries:
      - code: ES
        name: Spain
        contacts: {manager: es.manager@example.com}
        agencies:
          - {name: Madrid, contacts: {manager: madrid@example.com}}
"""


def test_org_yaml_is_parsed_again_only_when_the_file_changed(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_text(ORG, encoding="utf-8")
    first = org.load(tmp_path)
    assert org.load(tmp_path) is first  # unchanged file: the same parsed organisation
    assert first.country_contacts == {"ES": {"manager": "es.manager@example.com"}}
    moved = tmp_path / "org.new"
    moved.write_text(ORG.replace("Madrid", "Sevilla"), encoding="utf-8")
    os.replace(moved, path)  # an atomic rewrite, as every writer of the file does
    again = org.load(tmp_path)
    assert [a.name for a in again.agencies] == ["Sevilla"]
