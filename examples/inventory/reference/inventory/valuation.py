"""Stock valuation: what the goods on the shelf cost, layer by layer, first in first out.

Sales take the cost of the oldest purchases first (FIFO), which is what the books of
most shops assume; the weighted average cost is kept as a second figure for reports.
"""

from dataclasses import dataclass
from decimal import Decimal

from inventory.errors import InsufficientStock, InvalidQuantity
from inventory.money import to_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CostLayer:
    """Units bought together at one unit cost.

    >>> CostLayer(4, Decimal("2.50")).value
    Decimal('10.00')
    """

    quantity: int
    unit_cost: Decimal

    @property
    def value(self) -> Decimal:
        """What the layer's units cost together."""
        return to_money(self.unit_cost * self.quantity)


@dataclass(frozen=True)
class Consumption:
    """Units taken out of stock and what they had cost."""

    sku: str
    quantity: int
    cost: Decimal

    @property
    def unit_cost(self) -> Decimal:
        """The average cost of one unit taken, zero when none were."""
        if self.quantity == 0:
            return ZERO
        return to_money(self.cost / self.quantity)


def take_fifo(layers: list[CostLayer], quantity: int) -> tuple[Decimal, list[CostLayer]]:
    """Take units from the oldest layers first.

    Args:
        layers: the layers on hand, oldest first; left unchanged.
        quantity: how many units to take, no more than the layers hold.

    Returns:
        The cost of the units taken and the layers left over, oldest first.

    >>> old, new = CostLayer(2, Decimal("1.00")), CostLayer(5, Decimal("3.00"))
    >>> take_fifo([old, new], 3)
    (Decimal('5.00'), [CostLayer(quantity=4, unit_cost=Decimal('3.00'))])
    """
    cost = ZERO
    wanted = quantity
    left: list[CostLayer] = []
    for layer in layers:
        taken = min(layer.quantity, wanted)
        wanted -= taken
        cost += to_money(layer.unit_cost * taken)
        if taken < layer.quantity:
            left.append(CostLayer(layer.quantity - taken, layer.unit_cost))
    return cost, left


def margin_percent(revenue: Decimal, cost: Decimal) -> Decimal:
    """The share of the revenue left after the cost of the goods, in percent.

    Args:
        revenue: what the customer paid.
        cost: what the goods sold had cost.

    Returns:
        The margin rounded to cents of a percent; zero for no revenue.

    >>> margin_percent(Decimal("80.00"), Decimal("60.00"))
    Decimal('25.00')
    """
    if revenue == 0:
        return ZERO
    return to_money((revenue - cost) * 100 / revenue)


class CostBook:
    """The cost layers of every SKU, in the order they were bought."""

    def __init__(self) -> None:
        self._layers: dict[str, list[CostLayer]] = {}

    def purchase(self, sku: str, quantity: int, unit_cost: Decimal) -> CostLayer:
        """Record units bought at one unit cost.

        Args:
            sku: the item bought.
            quantity: how many units, at least one.
            unit_cost: the price paid for one unit, rounded to cents.

        Returns:
            The new layer.

        Raises:
            InvalidQuantity: the quantity is not positive.
            ValueError: the unit cost is negative.
        """
        if quantity <= 0:
            raise InvalidQuantity(quantity)
        cost = to_money(unit_cost)
        if cost < 0:
            raise ValueError(f"unit cost of {sku} is negative")
        layer = CostLayer(quantity, cost)
        self._layers.setdefault(sku, []).append(layer)
        return layer

    def layers(self, sku: str) -> list[CostLayer]:
        """The layers of one SKU, oldest first; a copy, safe to change."""
        return list(self._layers.get(sku, []))

    def quantity(self, sku: str) -> int:
        """The units of one SKU the book holds a cost for."""
        return sum(layer.quantity for layer in self._layers.get(sku, []))

    def value(self, sku: str) -> Decimal:
        """What the units of one SKU on hand cost, layer by layer."""
        return sum((layer.value for layer in self._layers.get(sku, [])), ZERO)

    def average_cost(self, sku: str) -> Decimal:
        """The weighted average cost of one unit on hand; zero with no stock."""
        units = self.quantity(sku)
        if units == 0:
            return ZERO
        return to_money(self.value(sku) / units)

    def consume(self, sku: str, quantity: int) -> Consumption:
        """Take units out, oldest layers first, as a sale does.

        Raises:
            InvalidQuantity: the quantity is not positive.
            InsufficientStock: the book holds fewer units than asked for.
        """
        if quantity <= 0:
            raise InvalidQuantity(quantity)
        available = self.quantity(sku)
        if quantity > available:
            raise InsufficientStock(sku, quantity, available)
        cost, left = take_fifo(self._layers[sku], quantity)
        self._layers[sku] = left
        return Consumption(sku, quantity, cost)

    def skus(self) -> list[str]:
        """The SKUs with units on hand, sorted."""
        return sorted(sku for sku, layers in self._layers.items() if layers)

    def total_value(self) -> Decimal:
        """What all the stock in the book cost."""
        return sum((self.value(sku) for sku in self.skus()), ZERO)
