import pytest

from inventory import DuplicateItem, Item, UnknownItem


def test_get_ignores_letter_case(catalog):
    assert catalog.get("drill-1").name == "Cordless drill"
    assert "glue-s" in catalog
    assert 42 not in catalog


def test_unknown_sku_raises(catalog):
    with pytest.raises(UnknownItem) as error:
        catalog.get("nope")
    assert error.value.sku == "nope"
    assert str(error.value) == "unknown item 'nope'"


def test_adding_a_sku_twice_raises(catalog):
    with pytest.raises(DuplicateItem) as error:
        catalog.add(Item("bolt-m6", "Another bolt", "0.10"))
    assert error.value.sku == "BOLT-M6"
    assert len(catalog) == 3


def test_by_category_and_search(catalog):
    assert [item.sku for item in catalog.by_category("tools")] == ["DRILL-1"]
    assert [item.sku for item in catalog.search("GLUE")] == ["GLUE-S"]
    assert catalog.search("   ") == []
