"""The errors of the inventory library, all under one base class."""


class InventoryError(Exception):
    """Base class: callers can catch every inventory problem at once."""


class UnknownItem(InventoryError):
    """A SKU that is not in the catalog."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown item {sku!r}")
        self.sku = sku


class DuplicateItem(InventoryError):
    """A SKU added to the catalog twice."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"item {sku!r} is already in the catalog")
        self.sku = sku


class InvalidQuantity(InventoryError):
    """A quantity that is zero or negative where a positive one is needed."""

    def __init__(self, quantity: int) -> None:
        super().__init__(f"quantity must be positive, got {quantity}")
        self.quantity = quantity


class InsufficientStock(InventoryError):
    """A shipment larger than the stock on hand."""

    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"cannot ship {wanted} of {sku!r}: only {available} on hand")
        self.sku = sku
        self.wanted = wanted
        self.available = available


class UnknownCoupon(InventoryError):
    """A coupon code that no promotion defines."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown coupon {code!r}")
        self.code = code


class BadRecord(InventoryError):
    """A CSV row that cannot be read; the message names its line so it can be fixed."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class InvalidReturn(InventoryError):
    """A return that does not match what the order shipped."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(f"return for order {order_id!r} refused: {reason}")
        self.order_id = order_id
        self.reason = reason
