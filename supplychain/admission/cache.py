"""A bounded decision cache with per-entry TTL and single flight.

Keys are (image reference with digest, policy digest, trust-root version): a new policy or trust
root never reuses an old decision. Both outcomes are cached: a pass for ``ttl`` seconds, a failure
for ``ttl`` seconds too, an *undecided* answer (registry unreachable) only for ``undecided_ttl``
so that a registry that comes back is asked again soon. The least recently used entry goes when
``max_entries`` is reached.

Concurrent callers asking for the same key while it is being computed share that one computation
(``get_or_compute``): fifty pods of one Deployment cost one verification.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class Entry(Generic[V]):
    value: V
    stored: float  # time.monotonic() when stored
    expires: float
    wall: float  # time.time() when stored (for "evidence age")


class DecisionCache(Generic[V]):
    def __init__(self, *, max_entries: int = 10_000, ttl: float = 300.0, undecided_ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 0 or ttl < 0 or undecided_ttl < 0:
            raise ValueError("cache sizes and TTLs cannot be negative")
        self.max_entries = max_entries
        self.ttl = ttl
        self.undecided_ttl = undecided_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Entry[V]] = OrderedDict()
        self._flights: dict[Hashable, Future[Entry[V]]] = {}
        self.hits = 0
        self.misses = 0
        self.shared = 0  # callers that joined a computation already under way

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: Hashable) -> Entry[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, value: V, *, undecided: bool = False) -> Entry[V]:
        now = self._clock()
        ttl = min(self.ttl, self.undecided_ttl) if undecided else self.ttl
        entry = Entry(value, now, now + ttl, time.time())
        with self._lock:
            if self.max_entries == 0 or ttl == 0:
                return entry
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def get_or_compute(self, key: Hashable, compute: Callable[[], tuple[V, bool]], *, store: bool = True
                       ) -> tuple[Future[Entry[V]], bool]:
        """A future of the entry for ``key`` and whether it came from the cache.

        ``compute()`` returns ``(value, undecided)``; it runs in the calling thread for the first
        caller (so start this from a worker thread when the caller must keep a deadline); later
        callers for the same key get the same future. An exception from ``compute`` is passed to
        every waiting caller and nothing is cached. ``store=False``: callers at the same moment
        still share one computation, but its answer is neither looked up nor kept (a key whose
        meaning can change, such as a tag).
        """
        cached = self.get(key) if store else None
        if cached is not None:
            with self._lock:
                self.hits += 1
            done: Future[Entry[V]] = Future()
            done.set_result(cached)
            return done, True
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                self.shared += 1
                self.hits += 1
                return flight, True
            self.misses += 1
            flight = Future()
            self._flights[key] = flight
        try:
            value, undecided = compute()
        except BaseException as exc:
            with self._lock:
                self._flights.pop(key, None)
            flight.set_exception(exc)
            return flight, False
        if store:
            entry = self.put(key, value, undecided=undecided)
        else:
            now = self._clock()
            entry = Entry(value, now, now, time.time())
        with self._lock:
            self._flights.pop(key, None)
        flight.set_result(entry)
        return flight, False
