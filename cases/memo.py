"""Values a web process keeps in its own memory between requests.

What is kept this way is derived from the request's own inputs (a search's SQL, a reader's
header, a query string's filters) and is the same for every request that asks with the same
key, so it is cheap to lose: a memo is bounded and simply emptied when full, with no order
of eviction to keep up on every read.
"""

import threading
from collections.abc import Hashable


class ProcessMemo:
    """A dictionary of at most ``size`` entries, emptied when a new one would not fit."""

    def __init__(self, size: int):
        self._size = size
        self._items: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        return self._items.get(key, default)

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
