from decimal import Decimal

from inventory import (
    CostBook,
    Order,
    OrderService,
    PercentOff,
    PurchaseLine,
    PurchaseOrder,
    purchase_order_text,
    receipt,
    stock_report,
    valuation_report,
)
from inventory.report import _row


def test_stock_report_marks_items_to_reorder(catalog, ledger):
    ledger.ship("DRILL-1", 4)
    ledger.ship("GLUE-S", 10)
    lines = stock_report(catalog, ledger).splitlines()
    assert lines[0] == "SKU  NAME" + " " * 32 + "ON HAND"
    assert lines[1].startswith("BOLT-M6") and lines[1].endswith("200 ")
    assert lines[2].startswith("DRILL-1") and lines[2].endswith("1!")
    assert lines[3] == "GLUE-S  Super glue" + " " * 28 + "0!"
    assert all(len(line) == 48 for line in lines)


def test_receipt_lists_lines_discounts_and_total(catalog, ledger):
    service = OrderService(catalog, ledger, [PercentOff(10, "supplies")], {"TEN": 10})
    order = Order("o-9", "Alan", coupon="ten")
    order.add("GLUE-S", 2)
    text = receipt(order, service.place(order))
    assert text.splitlines() == [
        "Order o-9 for Alan",
        "2 x GLUE-S                              6.50 EUR",
        "  discount                             -0.65 EUR",
        "coupon ten                             -0.59 EUR",
        "TOTAL                                   5.26 EUR",
    ]


def test_receipt_without_discounts_has_no_discount_lines(catalog, ledger):
    order = Order("o-10", "Alan")
    order.add("DRILL-1", 1)
    text = receipt(order, OrderService(catalog, ledger).quote(order), "USD")
    assert "discount" not in text and "coupon" not in text
    assert text.endswith("89.90 USD")


def test_purchase_order_text_lists_lines_and_the_total():
    order = PurchaseOrder(
        "Acme",
        [PurchaseLine("BOLT-M6", 50, Decimal("0.10")), PurchaseLine("GLUE-S", 6, Decimal("1.25"))],
    )
    assert purchase_order_text(order).endswith("12.50 EUR")
    assert purchase_order_text(order, "USD").splitlines() == [
        "Purchase order for Acme",
        "50 x BOLT-M6 @ 0.10                     5.00 USD",
        "6 x GLUE-S @ 1.25                       7.50 USD",
        "TOTAL (56 units)                       12.50 USD",
    ]


def test_valuation_report_lists_items_with_stock_and_the_book_total(catalog):
    book = CostBook()
    book.purchase("GLUE-S", 3, Decimal("1.00"))
    book.purchase("BOLT-M6", 10, Decimal("0.30"))
    book.purchase("BOLT-M6", 5, Decimal("0.45"))
    book.purchase("SPARE", 1, Decimal("2.00"))
    lines = valuation_report(catalog, book).splitlines()
    assert lines == [
        "SKU  UNITS @ AVERAGE COST                  VALUE",
        "BOLT-M6  15 @ 0.35                      5.25 EUR",
        "GLUE-S  3 @ 1.00                        3.00 EUR",
        "TOTAL                                  10.25 EUR",
    ]


def test_rows_keep_a_space_between_texts_too_long_for_the_width():
    assert _row("Left", "right", 6) == "Left right"
    assert _row("Left", "right", 10) == "Left right"
    assert _row("Left", "right", 11) == "Left  right"
