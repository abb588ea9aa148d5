"""The stock ledger: stock on hand is the sum of the movements, never stored apart."""

from inventory.errors import InsufficientStock, InvalidQuantity
from inventory.models import Item, Movement, MovementKind


def _positive(quantity: int) -> int:
    if quantity <= 0:
        raise InvalidQuantity(quantity)
    return quantity


class StockLedger:
    """An append-only list of stock movements per SKU."""

    def __init__(self) -> None:
        self._movements: list[Movement] = []

    def receive(self, sku: str, quantity: int, reference: str = "") -> Movement:
        """Record goods coming in.

        Args:
            sku: the item received.
            quantity: how many units, at least one.
            reference: a delivery note or order number.

        Returns:
            The recorded movement.
        """
        movement = Movement(sku, _positive(quantity), MovementKind.RECEIPT, reference)
        self._movements.append(movement)
        return movement

    def ship(self, sku: str, quantity: int, reference: str = "") -> Movement:
        """Record goods going out.

        Raises:
            InsufficientStock: fewer units are on hand than asked for.
        """
        available = self.on_hand(sku)
        if _positive(quantity) > available:
            raise InsufficientStock(sku, quantity, available)
        movement = Movement(sku, -quantity, MovementKind.SHIPMENT, reference)
        self._movements.append(movement)
        return movement

    def take_back(self, sku: str, quantity: int, reference: str = "") -> Movement:
        """Record goods coming back from a customer and put on the shelf again.

        Args:
            sku: the item returned.
            quantity: how many units, at least one.
            reference: the order or return they came back from.

        Returns:
            The recorded movement.
        """
        movement = Movement(sku, _positive(quantity), MovementKind.RETURN, reference)
        self._movements.append(movement)
        return movement

    def adjust(self, sku: str, delta: int, reference: str = "") -> Movement:
        """Correct the stock after a count; the result may not go below zero.

        Raises:
            InsufficientStock: the correction would leave negative stock.
        """
        available = self.on_hand(sku)
        if available + delta < 0:
            raise InsufficientStock(sku, -delta, available)
        movement = Movement(sku, delta, MovementKind.ADJUSTMENT, reference)
        self._movements.append(movement)
        return movement

    def on_hand(self, sku: str) -> int:
        """The units of an item in stock now."""
        return sum(m.quantity for m in self._movements if m.sku == sku)

    def history(self, sku: str) -> list[Movement]:
        """The movements of one item, oldest first."""
        return [m for m in self._movements if m.sku == sku]

    def by_reference(self, reference: str) -> list[Movement]:
        """The movements recorded under one reference, such as an order number, oldest first."""
        return [m for m in self._movements if m.reference == reference]

    def sold(self, sku: str) -> int:
        """The units shipped less those that came back: the demand a restock plan sees."""
        kinds = (MovementKind.SHIPMENT, MovementKind.RETURN)
        return -sum(m.quantity for m in self.history(sku) if m.kind in kinds)

    def needs_reorder(self, items: list[Item]) -> list[Item]:
        """The items whose stock is at or below their reorder level.

        Args:
            items: the items to look at.

        Returns:
            Those that should be reordered, in the order given.
        """
        return [item for item in items if self.on_hand(item.sku) <= item.reorder_level]
