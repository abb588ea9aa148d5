"""CSV in and out: the catalog and the stock as spreadsheets, and stock counts read back.

Errors name the line of the file, counted the way a spreadsheet shows it (the header
is line 1), so that whoever typed the file can find the row to fix.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from inventory.catalog import Catalog
from inventory.errors import BadRecord
from inventory.ledger import StockLedger
from inventory.models import Item

CATALOG_COLUMNS = ("sku", "name", "unit_price", "category", "reorder_level")
COUNT_REFERENCE = "stock count"

Row = dict[str | None, str | list[str] | None]


def write_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header row, lines ending in a bare newline.

    >>> write_rows(["a", "b"], [[1, "x,y"]])
    'a,b\\n1,"x,y"\\n'
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def read_rows(text: str, required: Sequence[str]) -> list[tuple[int, Row]]:
    """The data rows of CSV text with their line numbers, blank rows left out.

    Raises:
        BadRecord: the header lacks a required column.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [name for name in required if name not in header]
    if missing:
        raise BadRecord(1, f"missing column {', '.join(missing)}")
    rows: list[tuple[int, Row]] = []
    for row in reader:
        if not is_blank(row):
            rows.append((reader.line_num, dict(row)))
    return rows


def is_blank(row: Row) -> bool:
    """Whether a row has no text in any cell, as a spreadsheet's empty rows have."""
    return all(not isinstance(value, str) or not value.strip() for value in row.values())


def cell(row: Row, column: str) -> str:
    """The text of one cell, stripped; empty when the row is short."""
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def parse_count(text: str, line: int, column: str) -> int:
    """A whole number of at least zero from a cell.

    Raises:
        BadRecord: the text is not a whole number, or is negative.
    """
    try:
        value = int(text)
    except ValueError:
        raise BadRecord(line, f"{column} is not a whole number: {text!r}") from None
    if value < 0:
        raise BadRecord(line, f"{column} is negative: {value}")
    return value


def parse_item(row: Row, line: int) -> Item:
    """An item from one catalog row; category and reorder level may be left blank.

    Raises:
        BadRecord: the SKU or name is blank, or a number cannot be read.
    """
    sku, name, price_text = cell(row, "sku"), cell(row, "name"), cell(row, "unit_price")
    if not sku or not name:
        raise BadRecord(line, "sku and name must not be blank")
    try:
        price = Decimal(price_text)
    except InvalidOperation:
        raise BadRecord(line, f"unit_price is not an amount: {price_text!r}") from None
    if not price.is_finite() or price < 0:
        raise BadRecord(line, f"unit_price must be an amount of at least 0: {price_text!r}")
    level_text = cell(row, "reorder_level")
    level = parse_count(level_text, line, "reorder_level") if level_text else 0
    return Item(sku, name, price, cell(row, "category") or "general", level)


def export_catalog(catalog: Catalog) -> str:
    """The catalog as CSV, one item a row by SKU, under a header of `CATALOG_COLUMNS`."""
    rows = ([i.sku, i.name, i.unit_price, i.category, i.reorder_level] for i in catalog)
    return write_rows(CATALOG_COLUMNS, rows)


def import_catalog(text: str) -> Catalog:
    """A catalog from CSV text as `export_catalog` writes it.

    Raises:
        BadRecord: a row cannot be read, or repeats a SKU.
    """
    catalog = Catalog()
    for line, row in read_rows(text, CATALOG_COLUMNS[:3]):
        item = parse_item(row, line)
        if item.sku in catalog:
            raise BadRecord(line, f"duplicate sku {item.sku}")
        catalog.add(item)
    return catalog


def export_stock(catalog: Catalog, ledger: StockLedger) -> str:
    """The stock on hand of every item as CSV, by SKU: a sheet to count against."""
    return write_rows(("sku", "on_hand"), ([i.sku, ledger.on_hand(i.sku)] for i in catalog))


def apply_stock_count(text: str, catalog: Catalog, ledger: StockLedger) -> dict[str, int]:
    """Correct the ledger to match a stock count.

    Every row is read and checked before any correction is made, so a bad file changes
    nothing. Items the count leaves out keep their stock.

    Args:
        text: CSV with the columns `sku` and `counted`.
        catalog: the items that may be counted.
        ledger: the stock to correct, with movements referenced `COUNT_REFERENCE`.

    Returns:
        The correction of each SKU whose stock changed, by SKU.

    Raises:
        BadRecord: an unknown or repeated SKU, or a count that is not a whole number
            of at least zero.
    """
    counts: dict[str, int] = {}
    for line, row in read_rows(text, ("sku", "counted")):
        sku = cell(row, "sku").upper()
        if sku not in catalog:
            raise BadRecord(line, f"unknown sku {sku!r}")
        if sku in counts:
            raise BadRecord(line, f"{sku} is counted twice")
        counts[sku] = parse_count(cell(row, "counted"), line, "counted")
    changes: dict[str, int] = {}
    for sku in sorted(counts):
        delta = counts[sku] - ledger.on_hand(sku)
        if delta != 0:
            ledger.adjust(sku, delta, COUNT_REFERENCE)
            changes[sku] = delta
    return changes


def save_catalog(catalog: Catalog, path: Path) -> int:
    """Write the catalog to a CSV file in UTF-8.

    Returns:
        The number of items written.
    """
    path.write_text(export_catalog(catalog), encoding="utf-8")
    return len(catalog)


def load_catalog(path: Path) -> Catalog:
    """Read a catalog from a CSV file in UTF-8, as `save_catalog` writes it."""
    return import_catalog(path.read_text(encoding="utf-8"))
