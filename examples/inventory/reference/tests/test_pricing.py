from decimal import Decimal

from inventory import BulkDiscount, Item, PercentOff, price_line
from inventory.pricing import best_discount

DRILL = Item("DRILL-1", "Cordless drill", Decimal("89.90"), "tools")


def test_no_rules_means_no_discount():
    line = price_line(DRILL, 2, [])
    assert str(line.discount) == "0.00"
    assert (line.gross, line.discount, line.net) == (
        Decimal("179.80"),
        Decimal("0.00"),
        Decimal("179.80"),
    )


def test_category_discount_applies_only_to_its_category():
    glue = Item("GLUE-S", "Super glue", Decimal("3.25"), "supplies")
    rule = PercentOff(10, category="tools")
    assert price_line(DRILL, 1, [rule]).discount == Decimal("8.99")
    assert str(price_line(glue, 1, [rule]).discount) == "0.00"


def test_bulk_discount_starts_at_the_minimum_quantity():
    rule = BulkDiscount(min_quantity=3, percent=20)
    assert price_line(DRILL, 2, [rule]).discount == Decimal("0.00")
    assert price_line(DRILL, 3, [rule]).discount == Decimal("53.94")


def test_the_best_single_rule_wins():
    rules = [PercentOff(5), BulkDiscount(2, 15), PercentOff(10, category="tools")]
    assert best_discount(DRILL, 2, rules) == Decimal("26.97")


def test_a_discount_never_exceeds_the_line():
    assert best_discount(DRILL, 1, [PercentOff(150)]) == Decimal("89.90")
