"""Returns: take back goods of a placed order, refund what was paid for them.

Goods that can be sold again go back on the shelf and the refund keeps a restocking
fee; damaged goods are written off and refunded in full. Refunds follow the prices the
order was placed at, line discounts and coupon included, never today's prices.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from inventory.errors import InvalidQuantity, InvalidReturn
from inventory.models import MovementKind, Order
from inventory.money import percent_of, to_money
from inventory.orders import OrderService, Quote
from inventory.pricing import LinePrice


class Condition(Enum):
    """The state returned goods arrive in."""

    RESALABLE = "resalable"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class ReturnLine:
    """Units of one item sent back.

    Raises:
        InvalidQuantity: the quantity is not positive.
    """

    sku: str
    quantity: int
    condition: Condition = Condition.RESALABLE

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidQuantity(self.quantity)


@dataclass(frozen=True)
class RefundLine:
    """The money given back for one return line, and the fee kept from it."""

    sku: str
    quantity: int
    condition: Condition
    amount: Decimal
    fee: Decimal

    @property
    def net(self) -> Decimal:
        """What the customer gets back for the line."""
        return self.amount - self.fee


@dataclass(frozen=True)
class Refund:
    """The outcome of one return."""

    order_id: str
    lines: list[RefundLine]

    @property
    def total(self) -> Decimal:
        """What the customer gets back in all."""
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def restocked(self) -> int:
        """The units put back on the shelf."""
        return sum(line.quantity for line in self.lines if line.condition is Condition.RESALABLE)


def coupon_rate(quote: Quote) -> Decimal:
    """The fraction of the subtotal the coupon took off; zero for an empty order.

    >>> from inventory.pricing import LinePrice
    >>> coupon_rate(Quote([LinePrice("A", 1, Decimal("40.00"), Decimal("0"))], Decimal("2.00")))
    Decimal('0.05')
    """
    if quote.subtotal == 0:
        return Decimal(0)
    return quote.coupon_discount / quote.subtotal


def paid_for(price: LinePrice, quantity: int, rate: Decimal) -> Decimal:
    """What `quantity` units of a priced line cost the customer after all discounts.

    Args:
        price: the order line as it was priced.
        quantity: the units of it, at most the line's quantity.
        rate: the fraction of the subtotal the coupon took off.

    Returns:
        The amount in whole cents.

    >>> paid_for(LinePrice("A", 4, Decimal("10.00"), Decimal("2.00")), 1, Decimal("0.1"))
    Decimal('1.80')
    """
    return to_money(price.net * quantity / price.quantity * (1 - rate))


@dataclass
class ReturnsDesk:
    """Takes back goods of the orders an order service placed.

    Args:
        service: the service that placed the orders and owns the stock.
        fee_percent: the share of the refund kept for goods put back on the shelf.
    """

    service: OrderService
    fee_percent: int = 10
    returned: dict[tuple[str, str], int] = field(default_factory=dict)

    def shipped(self, order_id: str) -> dict[str, int]:
        """The units of each SKU shipped for an order, from the stock ledger."""
        totals: dict[str, int] = {}
        for movement in self.service.ledger.by_reference(order_id):
            if movement.kind is MovementKind.SHIPMENT:
                totals[movement.sku] = totals.get(movement.sku, 0) - movement.quantity
        return totals

    def returnable(self, order_id: str, sku: str) -> int:
        """The units of a SKU in an order that can still be sent back."""
        return self.shipped(order_id).get(sku, 0) - self.returned.get((order_id, sku), 0)

    def process(self, order: Order, lines: list[ReturnLine]) -> Refund:
        """Take back the goods of a return, restock what can be sold, work out the refund.

        Every line is checked before anything is moved, so a refused return changes
        nothing.

        Args:
            order: the order the goods were shipped in.
            lines: what came back; lines of the same SKU add up.

        Returns:
            The refund, a line for each return line, in the order given.

        Raises:
            InvalidReturn: the order was not placed, there is nothing to return, or more
                units of a SKU came back than are still returnable.
        """
        quote = self.service.placed.get(order.order_id)
        if quote is None:
            raise InvalidReturn(order.order_id, "the order was not placed")
        if not lines:
            raise InvalidReturn(order.order_id, "nothing to return")
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        for sku, quantity in wanted.items():
            left = self.returnable(order.order_id, sku)
            if quantity > left:
                reason = f"{quantity} x {sku} sent back, {left} returnable"
                raise InvalidReturn(order.order_id, reason)
        prices = {price.sku: price for price in quote.lines}
        rate = coupon_rate(quote)
        refunds: list[RefundLine] = []
        for line in lines:
            amount = paid_for(prices[line.sku], line.quantity, rate)
            fee = Decimal("0.00")
            if line.condition is Condition.RESALABLE:
                fee = percent_of(amount, self.fee_percent)
                self.service.ledger.take_back(line.sku, line.quantity, f"return {order.order_id}")
            key = (order.order_id, line.sku)
            self.returned[key] = self.returned.get(key, 0) + line.quantity
            refunds.append(RefundLine(line.sku, line.quantity, line.condition, amount, fee))
        return Refund(order.order_id, refunds)
