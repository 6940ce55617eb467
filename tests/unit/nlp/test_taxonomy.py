"""Tests for the JR/T 0169 code list."""

import dataclasses

import pytest

from nlp.taxonomy import load_taxonomy


def test_loads_three_dimensions_with_unique_codes():
    tax = load_taxonomy()
    assert [d.code for d in tax.dimensions] == ["A", "B", "C"]
    codes = tax.codes()
    assert len(codes) == len(set(codes)) > 30
    assert tax["B03.02"].name == "信用卡" and tax["B03.02"].parent == "B03"
    assert "C09" in tax and tax.get("Z99") is None


def test_taxonomy_is_frozen():
    tax = load_taxonomy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        tax.edition = "x"  # type: ignore[misc]


def test_choices_for_dropdowns():
    choices = load_taxonomy().dimension("C").choices()
    assert ("C09", "C09 债务催收") in choices


def test_bank_edition_can_be_loaded(tmp_path):
    path = tmp_path / "edition.yaml"
    path.write_text(
        "standard: x\nedition: y\ndimensions:\n"
        "  - {code: B, name: 业务, entries: [{code: B01, name: 储蓄, keywords: [存款]}]}\n",
        encoding="utf-8",
    )
    assert load_taxonomy(path).codes() == ("B01",)


def test_duplicate_codes_are_rejected(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(
        "dimensions:\n  - {code: B, name: 业务, entries: "
        "[{code: B01, name: a}, {code: B01, name: b}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="duplicate"):
        load_taxonomy(path)
