"""Pacing of cold verifications: few at a time on the CPU, any number waiting on registries.

A cold decision is registry reads (waiting) and Python work (parsing, signature checks, SBOM
rules) that holds the interpreter lock. Ten verifications run by ten threads share one
interpreter lock: all of them advance slowly and finish late together, and a thread back from a
registry read waits behind the busy ones for the lock. A :class:`Pacer` gives the Python work a
few *turns* (``slots``), oldest verification first; a verification hands its turn back while it
waits on the registry (:class:`PacedClient`), so a slow or hanging registry never holds a turn:
only the verification thread pool bounds how many can wait on registries at once.

Nothing is skipped or reordered inside a verification: pacing decides only which verification's
Python code runs next.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Pacer:
    """At most ``slots`` verifications run Python code at once; waiting ones go oldest first."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a pacer needs at least one slot")
        self.slots = slots
        self._cond = threading.Condition()
        self._busy = 0
        self._queue: list[tuple[int, int]] = []  # (ticket, arrival): tickets are verification ages
        self._arrivals = itertools.count()
        self._tickets = itertools.count()
        self._local = threading.local()
        self.peak = 0  # most turns ever held at once (tests, diagnostics)

    def holding(self) -> bool:
        """Does this thread hold a turn?"""
        return bool(getattr(self._local, "held", False))

    def _acquire(self, ticket: int) -> None:
        with self._cond:
            me = (ticket, next(self._arrivals))
            heapq.heappush(self._queue, me)
            while self._busy >= self.slots or self._queue[0] != me:
                self._cond.wait()
            heapq.heappop(self._queue)
            self._busy += 1
            self.peak = max(self.peak, self._busy)
            if self._busy < self.slots and self._queue:
                self._cond.notify_all()  # the next in line may take the slot left
        self._local.held = True

    def _release(self) -> None:
        self._local.held = False
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run one verification (its Python work) paced; nested use in the same thread is a no-op."""
        if self.holding():
            yield
            return
        ticket = next(self._tickets)
        self._local.ticket = ticket
        self._acquire(ticket)
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a blocking wait (a registry read): the turn is handed back meanwhile and taken
        again, with the verification's original age, afterwards."""
        if not self.holding():
            yield
            return
        ticket: int = self._local.ticket
        self._release()
        try:
            yield
        finally:
            self._acquire(ticket)


class PacedClient:
    """A registry client whose calls hand the caller's turn back while they wait (see
    :meth:`Pacer.waiting`); attributes that are not callables pass through unchanged."""

    def __init__(self, client: Any, pacer: Pacer) -> None:
        self._client = client
        self._pacer = pacer

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not callable(value):
            return value
        pacer = self._pacer

        def call(*args: Any, **kwargs: Any) -> Any:
            with pacer.waiting():
                return value(*args, **kwargs)

        paced: Callable[..., Any] = call
        return paced
