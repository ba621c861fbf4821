"""Answering over HTTP: a bounded number of answers at a time, the rest refused, never hung.

The local model writes one answer at a time (one llama.cpp context), so the server admits
``concurrency`` answers plus ``queue_size`` waiting ones; past that a request is refused at once
(the routes answer ``503`` with ``Retry-After``). Each admitted answer runs the synchronous
``Assistant.events`` pipeline in its own worker thread and hands the events to the event loop
through an ``asyncio.Queue``. When the client goes away, the consumer sets ``cancel``: a waiting
worker gives up its place, a running one closes the pipeline at the next token (which releases the
model), and the slot is free again. The price: a thread per admitted request, which the small
bound keeps cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

_END = object()


class Busy(Exception):
    """Every slot and every queue place is taken: come back after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy: try again in {retry_after} s")
        self.retry_after = retry_after


class AnswerSlots:
    """``concurrency`` answers at a time, ``queue_size`` more waiting in arrival order (first
    come, first served), the rest refused.

    >>> slots = AnswerSlots(concurrency=1, queue_size=1)
    >>> a, b = slots.admit(), slots.admit()
    >>> slots.admit()
    Traceback (most recent call last):
    ...
    qa.server.answers.Busy: busy: try again in 10 s
    >>> a.wait_for_slot(); a.release(); slots.admitted
    True
    1
    """

    def __init__(self, concurrency: int = 1, queue_size: int = 8,
                 typical_answer_s: float = 5.0) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running = 0
        self._typical_s = typical_answer_s  # moving average of answer times, for Retry-After

    @property
    def admitted(self) -> int:
        """Answers running or waiting."""
        with self._cond:
            return self._running + len(self._waiting)

    def admit(self) -> Ticket:
        with self._cond:
            admitted = self._running + len(self._waiting)
            if admitted >= self.concurrency + self.queue_size:
                waiting = admitted - self.concurrency + 1
                raise Busy(max(1, math.ceil(self._typical_s * waiting / self.concurrency)))
            ticket = Ticket(self)
            self._waiting.append(ticket)
        return ticket


class Ticket:
    """A place in line: ``wait_for_slot`` waits for its turn (or ``cancel``), ``release`` gives
    the slot or the place back."""

    def __init__(self, slots: AnswerSlots) -> None:
        self.slots = slots
        self.cancel = threading.Event()
        self._state = "waiting"  # -> running -> done, or waiting -> done

    def wait_for_slot(self) -> bool:
        s = self.slots
        with s._cond:
            while self._state == "waiting":
                if self.cancel.is_set():
                    self._leave(None)
                    return False
                if s._waiting[0] is self and s._running < s.concurrency:
                    s._waiting.popleft()
                    s._running += 1
                    self._state = "running"
                    return True
                s._cond.wait(0.05)  # woken by a release; the timeout notices ``cancel``
            return self._state == "running"

    def release(self, seconds: float | None = None) -> None:
        with self.slots._cond:
            self._leave(seconds)

    def _leave(self, seconds: float | None) -> None:  # with the lock held
        s = self.slots
        if self._state == "running":
            s._running -= 1
            if seconds is not None:
                s._typical_s = 0.8 * s._typical_s + 0.2 * seconds
        elif self._state == "waiting":
            s._waiting.remove(self)
        self._state = "done"
        s._cond.notify_all()


def stream_events(ticket: Ticket,
                  make_events: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    """The events of ``make_events()`` as an async iterator, produced in a worker thread once a
    slot is free. Closing the iterator early (the client left) cancels the worker."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        t0 = None
        try:
            if not ticket.wait_for_slot():
                return
            t0 = time.perf_counter()
            events = make_events()
            try:
                for event in events:
                    if ticket.cancel.is_set():
                        log.info("client left: answer stopped")
                        break
                    put(event)
            finally:
                events_close = getattr(events, "close", None)
                if events_close is not None:
                    events_close()  # GeneratorExit in the pipeline frees the model
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put(e)
        finally:
            ticket.release(time.perf_counter() - t0 if t0 is not None else None)
            with contextlib.suppress(RuntimeError):  # the loop is gone (server shutting down)
                put(_END)

    threading.Thread(target=work, name="qa-answer", daemon=True).start()

    async def events() -> AsyncIterator[Any]:
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            ticket.cancel.set()

    return events()
