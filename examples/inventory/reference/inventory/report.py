"""Plain-text reports: the stock list and an order receipt."""

from inventory.catalog import Catalog
from inventory.ledger import StockLedger
from inventory.models import Order
from inventory.money import format_money
from inventory.orders import Quote

WIDTH = 48


def _row(left: str, right: str, width: int = WIDTH) -> str:
    """Two texts on one line, the second aligned right.

    >>> _row("Bolt", "3", 10)
    'Bolt     3'
    """
    gap = max(width - len(left) - len(right), 1)
    return f"{left}{' ' * gap}{right}"


def stock_report(catalog: Catalog, ledger: StockLedger) -> str:
    """A line per item with its stock; items to reorder are marked with `!`.

    Args:
        catalog: the items to list.
        ledger: where the stock comes from.

    Returns:
        The report, one item per line, by SKU, with a header line.
    """
    lines = [_row("SKU  NAME", "ON HAND")]
    for item in catalog:
        on_hand = ledger.on_hand(item.sku)
        mark = "!" if on_hand <= item.reorder_level else " "
        lines.append(_row(f"{item.sku}  {item.name}", f"{on_hand}{mark}"))
    return "\n".join(lines)


def receipt(order: Order, quote: Quote, currency: str = "EUR") -> str:
    """The receipt of an order: its lines, discounts and total.

    Args:
        order: the order placed.
        quote: its prices, from `OrderService.quote` or `place`.
        currency: the currency code to print.

    Returns:
        The receipt text, ending with the total.
    """
    lines = [f"Order {order.order_id} for {order.customer}"]
    for line in quote.lines:
        lines.append(_row(f"{line.quantity} x {line.sku}", format_money(line.gross, currency)))
        if line.discount:
            lines.append(_row("  discount", "-" + format_money(line.discount, currency)))
    if quote.coupon_discount:
        coupon = f"coupon {order.coupon}"
        lines.append(_row(coupon, "-" + format_money(quote.coupon_discount, currency)))
    lines.append(_row("TOTAL", format_money(quote.total, currency)))
    return "\n".join(lines)
