"""Plain-text reports: the stock list, receipts, purchase orders and the stock valuation."""

from inventory.catalog import Catalog
from inventory.ledger import StockLedger
from inventory.models import Order
from inventory.money import format_money
from inventory.orders import Quote
from inventory.restock import PurchaseOrder
from inventory.valuation import CostBook

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


def purchase_order_text(order: PurchaseOrder, currency: str = "EUR") -> str:
    """A purchase order to send to its supplier: a line per item and the total.

    Args:
        order: the order.
        currency: the currency code to print.

    Returns:
        The text, headed by the supplier's name.
    """
    lines = [f"Purchase order for {order.supplier}"]
    for line in order.lines:
        left = f"{line.quantity} x {line.sku} @ {line.unit_cost}"
        lines.append(_row(left, format_money(line.total, currency)))
    lines.append(_row(f"TOTAL ({order.units} units)", format_money(order.total, currency)))
    return "\n".join(lines)


def valuation_report(catalog: Catalog, book: CostBook, currency: str = "EUR") -> str:
    """What the stock cost: a line per catalog item with stock, then the book's total.

    Args:
        catalog: the items to list, by SKU; items without stock are left out.
        book: the cost layers.
        currency: the currency code to print.

    Returns:
        The report, with a header line and the units, average cost and value of each item.
    """
    lines = [_row("SKU  UNITS @ AVERAGE COST", "VALUE")]
    for item in catalog:
        units = book.quantity(item.sku)
        if units == 0:
            continue
        left = f"{item.sku}  {units} @ {book.average_cost(item.sku)}"
        lines.append(_row(left, format_money(book.value(item.sku), currency)))
    lines.append(_row("TOTAL", format_money(book.total_value(), currency)))
    return "\n".join(lines)
