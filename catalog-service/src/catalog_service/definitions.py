"""Item definitions kept in memory, so that a reservation does not read the item, its prices and its variants
(four statements, or one aggregated one) on every call.

A cached definition can never sell at a stale price: every change of a definition bumps `items.revision` in the
statement that makes it (repository.py: replace_item, archive_item, move_stock), and the reservation's write takes the stock only
`WHERE revision = <the revision it decided on>` (repository.RESERVE). A definition changed since, on this replica or any
other, makes that write take nothing; the reservation then decides again on fresh reads.

Stock is left out of a definition (it moves with every reservation, without a new revision): it is only ever
known fresh, from the statement that takes it or from a read.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from service_kit.scope import Scope

from catalog_service.domain import Item, Offer, snapshot_json

# About 2-4 KB an entry: 10 000 items (far more than a tenant's catalog) stay within tens of megabytes.
DEFAULT_CAPACITY = 10_000


@dataclass(slots=True)
class Definition:
    """An item as of one revision, its stock left out (None)."""

    item: Item
    revision: int
    stock_counted: bool          # the item has a stock (it is not unlimited)
    _snapshots: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def snapshot(self, offer: Offer) -> str:
        """The reservation's snapshot of this definition and offer, as JSON text (built once per offer: the
        same definition is reserved again and again)."""
        key = (offer.variant.id if offer.variant else None, offer.price.point_type)
        text = self._snapshots.get(key)
        if text is None:
            text = self._snapshots[key] = json.dumps(snapshot_json(self.item, offer))
        return text


class ItemDefinitions:
    """The definitions this process last read, least recently used first out."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str, str], Definition] = OrderedDict()

    def get(self, scope: Scope, item_id: str) -> Definition | None:
        key = (scope.tenant_id, scope.environment, item_id)
        definition = self._entries.get(key)
        if definition is not None:
            self._entries.move_to_end(key)
        return definition

    def remember(self, scope: Scope, item: Item, revision: int) -> Definition:
        """Keeps item (read fresh, at revision) and returns its definition; an older read arriving late does not
        replace a newer one."""
        key = (scope.tenant_id, scope.environment, item.id)
        known = self._entries.get(key)
        if known is not None and known.revision >= revision:
            self._entries.move_to_end(key)
            return known
        definition = Definition(replace(item, stock=None), revision, item.stock is not None)
        self._entries[key] = definition
        self._entries.move_to_end(key)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return definition

    def forget(self, scope: Scope, item_id: str) -> None:
        """Drops a definition this process just changed (its revision moved on: the entry could only miss)."""
        self._entries.pop((scope.tenant_id, scope.environment, item_id), None)
