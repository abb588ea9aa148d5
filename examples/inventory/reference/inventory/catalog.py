"""The catalog: every item the shop knows, looked up by SKU."""

from collections.abc import Iterator

from inventory.errors import DuplicateItem, UnknownItem
from inventory.models import Item


class Catalog:
    """Items by SKU, with lookups by category and by name."""

    def __init__(self, items: list[Item] | None = None) -> None:
        self._items: dict[str, Item] = {}
        for item in items or []:
            self.add(item)

    def add(self, item: Item) -> None:
        """Add an item.

        Raises:
            DuplicateItem: an item with the same SKU is already there.
        """
        if item.sku in self._items:
            raise DuplicateItem(item.sku)
        self._items[item.sku] = item

    def get(self, sku: str) -> Item:
        """Find an item by SKU, in any letter case.

        Raises:
            UnknownItem: no item has that SKU.
        """
        try:
            return self._items[sku.upper()]
        except KeyError:
            raise UnknownItem(sku) from None

    def __contains__(self, sku: object) -> bool:
        return isinstance(sku, str) and sku.upper() in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(sorted(self._items.values(), key=lambda item: item.sku))

    def by_category(self, category: str) -> list[Item]:
        """The items of one category, by SKU."""
        return [item for item in self if item.category == category]

    def search(self, text: str) -> list[Item]:
        """The items whose name contains `text`, ignoring case.

        Args:
            text: the words to look for; blank text finds nothing.

        Returns:
            The matching items, by SKU.
        """
        needle = text.strip().casefold()
        if not needle:
            return []
        return [item for item in self if needle in item.name.casefold()]
