from inventory import Order, OrderService, PercentOff, receipt, stock_report


def test_stock_report_marks_items_to_reorder(catalog, ledger):
    ledger.ship("DRILL-1", 4)
    lines = stock_report(catalog, ledger).splitlines()
    assert lines[0].startswith("SKU")
    assert lines[1].startswith("BOLT-M6") and lines[1].endswith("200 ")
    assert lines[2].startswith("DRILL-1") and lines[2].endswith("1!")
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
