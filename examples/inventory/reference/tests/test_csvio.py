from decimal import Decimal

import pytest

from inventory import (
    BadRecord,
    Item,
    MovementKind,
    apply_stock_count,
    export_catalog,
    export_stock,
    import_catalog,
    load_catalog,
    save_catalog,
)

CATALOG_CSV = (
    "sku,name,unit_price,category,reorder_level\n"
    "BOLT-M6,Hex bolt M6,0.40,hardware,50\n"
    "DRILL-1,Cordless drill,89.90,tools,2\n"
    "GLUE-S,Super glue,3.25,supplies,0\n"
)
HEADER = "sku,name,unit_price,category,reorder_level\n"


def test_export_catalog_writes_a_row_per_item_by_sku(catalog):
    assert export_catalog(catalog) == CATALOG_CSV


def test_import_catalog_reads_what_export_writes(catalog):
    assert list(import_catalog(CATALOG_CSV)) == list(catalog)


def test_import_fills_in_blank_cells_and_skips_blank_rows():
    text = "unit_price,name,sku,extra\n0.055, Washer , a1 ,x\n\n,,,\n1,Nut,b2\n0,Pin,C3\n"
    items = list(import_catalog(text))
    assert items == [
        Item("A1", "Washer", Decimal("0.06")),
        Item("B2", "Nut", Decimal("1.00")),
        Item("C3", "Pin", Decimal("0.00")),
    ]
    assert (items[0].category, items[0].reorder_level) == ("general", 0)


BAD_ITEM_ROWS = [
    (",Washer,1.00,,", "sku and name must not be blank"),
    ("A1,  ,1.00,,", "sku and name must not be blank"),
    ("A1,Washer,abc,,", "unit_price is not an amount: 'abc'"),
    ("A1,Washer,,,", "unit_price is not an amount: ''"),
    ("A1,Washer,-0.01,,", "unit_price must be an amount of at least 0: '-0.01'"),
    ("A1,Washer,NaN,,", "unit_price must be an amount of at least 0: 'NaN'"),
    ("A1,Washer,1,tools,x", "reorder_level is not a whole number: 'x'"),
    ("A1,Washer,1,tools,-2", "reorder_level is negative: -2"),
]


def test_import_names_the_line_and_the_problem():
    for row, reason in BAD_ITEM_ROWS:
        with pytest.raises(BadRecord) as error:
            import_catalog(HEADER + "B2,Nut,1,,\n" + row + "\n")
        assert str(error.value) == f"line 3: {reason}", row
        assert (error.value.line, error.value.reason) == (3, reason)


def test_import_refuses_a_repeated_sku_in_any_letter_case():
    text = HEADER + "A1,Washer,1,,\n\nB2,Nut,1,,\na1,Other,2,,\n"
    with pytest.raises(BadRecord, match="line 5: duplicate sku A1"):
        import_catalog(text)


def test_import_needs_the_first_three_columns():
    with pytest.raises(BadRecord) as error:
        import_catalog("sku,name,category\nA1,Washer,x\n")
    assert str(error.value) == "line 1: missing column unit_price"
    with pytest.raises(BadRecord) as error:
        import_catalog("")
    assert str(error.value) == "line 1: missing column sku, name, unit_price"


def test_export_stock(catalog, ledger):
    ledger.ship("DRILL-1", 5)
    assert export_stock(catalog, ledger) == "sku,on_hand\nBOLT-M6,200\nDRILL-1,0\nGLUE-S,10\n"


def test_stock_count_corrects_the_ledger(catalog, ledger):
    text = "sku,counted\nDRILL-1,7\nbolt-m6,195\nGLUE-S,10\n"
    changes = apply_stock_count(text, catalog, ledger)
    assert list(changes.items()) == [("BOLT-M6", -5), ("DRILL-1", 2)]
    assert (ledger.on_hand("BOLT-M6"), ledger.on_hand("DRILL-1")) == (195, 7)
    last = ledger.history("BOLT-M6")[-1]
    assert (last.kind, last.quantity) == (MovementKind.ADJUSTMENT, -5)
    assert last.reference == "stock count"
    assert len(ledger.history("GLUE-S")) == 1


def test_a_count_of_zero_empties_the_stock_and_unlisted_items_keep_theirs(catalog, ledger):
    assert apply_stock_count("counted,sku\n0,GLUE-S\n", catalog, ledger) == {"GLUE-S": -10}
    assert (ledger.on_hand("GLUE-S"), ledger.on_hand("BOLT-M6")) == (0, 200)


BAD_COUNTS = [
    ("BOLT-M6,1\n\nNOPE,1\n", "line 4: unknown sku 'NOPE'"),
    ("BOLT-M6,1\nbolt-m6,2\n", "line 3: BOLT-M6 is counted twice"),
    ("BOLT-M6,1\nGLUE-S,-1\n", "line 3: counted is negative: -1"),
    ("BOLT-M6,1\nGLUE-S,2.5\n", "line 3: counted is not a whole number: '2.5'"),
    ("BOLT-M6,1\nGLUE-S\n", "line 3: counted is not a whole number: ''"),
]


def test_a_bad_count_names_the_line_and_changes_nothing(catalog, ledger):
    for rows, message in BAD_COUNTS:
        with pytest.raises(BadRecord) as error:
            apply_stock_count("sku,counted\n" + rows, catalog, ledger)
        assert str(error.value) == message
        assert ledger.on_hand("BOLT-M6") == 200


def test_a_count_needs_both_columns(catalog, ledger):
    with pytest.raises(BadRecord, match="line 1: missing column counted"):
        apply_stock_count("sku,on_hand\nBOLT-M6,1\n", catalog, ledger)


def test_save_and_load_a_catalog_file(catalog, tmp_path):
    path = tmp_path / "catalog.csv"
    assert save_catalog(catalog, path) == 3
    assert path.read_text(encoding="utf-8") == CATALOG_CSV
    assert list(load_catalog(path)) == list(catalog)
