"""Orders: quote them, place them against the stock, cancel them."""

from dataclasses import dataclass, field
from decimal import Decimal

from inventory.catalog import Catalog
from inventory.errors import InsufficientStock, UnknownCoupon
from inventory.ledger import StockLedger
from inventory.models import Order
from inventory.money import percent_of
from inventory.pricing import Discount, LinePrice, price_line


@dataclass(frozen=True)
class Quote:
    """What an order costs: its priced lines and the coupon taken off the total."""

    lines: list[LinePrice]
    coupon_discount: Decimal = Decimal("0.00")

    @property
    def subtotal(self) -> Decimal:
        """The sum of the lines after their own discounts."""
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """What the customer pays."""
        return self.subtotal - self.coupon_discount


@dataclass
class OrderService:
    """Prices and fulfils orders from one catalog and one stock ledger.

    Args:
        catalog: the items on sale.
        ledger: where stock is taken from.
        rules: line discounts on offer.
        coupons: coupon codes and the percentage each takes off the subtotal.
        placed: the quote of every order placed and not cancelled, by order id.
    """

    catalog: Catalog
    ledger: StockLedger
    rules: list[Discount] = field(default_factory=list)
    coupons: dict[str, int] = field(default_factory=dict)
    placed: dict[str, Quote] = field(default_factory=dict)

    def quote(self, order: Order) -> Quote:
        """Price an order without touching the stock.

        Raises:
            UnknownItem: a line names an item not in the catalog.
            UnknownCoupon: the order's coupon is not on offer.
        """
        lines = [
            price_line(self.catalog.get(line.sku), line.quantity, self.rules)
            for line in order.lines
        ]
        quote = Quote(lines)
        if order.coupon is None:
            return quote
        code = order.coupon.upper()
        if code not in self.coupons:
            raise UnknownCoupon(order.coupon)
        return Quote(lines, percent_of(quote.subtotal, self.coupons[code]))

    def shortages(self, order: Order) -> list[str]:
        """The SKUs of the order's lines that the stock cannot cover."""
        return [line.sku for line in order.lines if self.ledger.on_hand(line.sku) < line.quantity]

    def place(self, order: Order) -> Quote:
        """Price an order and ship all of it, or nothing when stock is short.

        Raises:
            InsufficientStock: some line cannot be covered; no stock was moved.
        """
        quote = self.quote(order)
        short = self.shortages(order)
        if short:
            line = next(line for line in order.lines if line.sku == short[0])
            raise InsufficientStock(line.sku, line.quantity, self.ledger.on_hand(line.sku))
        for line in order.lines:
            self.ledger.ship(line.sku, line.quantity, order.order_id)
        self.placed[order.order_id] = quote
        return quote

    def cancel(self, order: Order) -> None:
        """Put the stock of a placed order back on the shelf and forget its quote."""
        for line in order.lines:
            self.ledger.take_back(line.sku, line.quantity, f"cancel {order.order_id}")
        self.placed.pop(order.order_id, None)
