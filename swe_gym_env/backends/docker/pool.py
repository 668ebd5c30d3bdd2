"""Warm containers: started and prepared ahead of time, so reset hands out a fresh sandbox in milliseconds.

:class:`WarmPool` keeps two kinds of stock, refilled by background threads:

- per task: containers already prepared for one task (its ``setup_patch`` applied, the single base
  commit made, the shell session running) - a reset of that task takes one and returns at once. Stock
  is made on request (:meth:`WarmPool.prefetch`: the vector env asks for each sub-env's next task,
  the backend for the grading of each started episode);
- per image: started but unprepared containers (one spare per image in recent use) - a reset of a
  task with no stock takes one and prepares it on the spot (tens of milliseconds instead of a container
  start). Room for the spares of the one or two most recently used images (a quarter of the pool at
  most) is kept: a stream of task requests (hints, gradings, guesses that turned out wrong) never crowds them
  out, so explicit ids over the tasks of one image stay warm without any hint.

Every container is handed out once and never comes back (the env removes it at the end of the
episode), so a sandbox is always fresh. The stock is bounded by a count (``size``) and by memory
(``memory`` bytes, measured per container after it is made, plus a floor of free host memory when the
daemon is local); past either bound stock is removed in this order: spares of images no longer in
recent use, the oldest task stock, the oldest spare. Pooled containers carry the project's
labels, so ``swe-gym-env gc`` and the orphan sweep find them; :meth:`WarmPool.close` drains the pool,
and pools still open at interpreter exit are drained then.

:class:`Reaper` removes containers in the background, so closing a sandbox (and so reset and grading)
never waits on the daemon's slow container removal.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cleanup import close_live, sweep_own

log = logging.getLogger(__name__)

_pools: weakref.WeakSet[WarmPool] = weakref.WeakSet()
_reapers: weakref.WeakSet[Reaper] = weakref.WeakSet()
_exiting = threading.Event()


def exiting() -> bool:
    """True once the interpreter has started to exit (closing then removes containers synchronously)."""
    return _exiting.is_set()


class Reaper:
    """Removes containers on background threads; :meth:`drain` waits until all are gone.

    ``remove(container, quiet=...)`` returns False when the daemon could not remove it (it is down,
    or restarting): the container is tried again later, for up to ``patience`` seconds, so that a
    daemon restart does not leave containers behind.
    """

    def __init__(self, remove: Callable[..., bool | None], threads: int = 4, patience: float = 120.0) -> None:
        self._remove = remove
        self._threads = max(1, threads)
        self.patience = patience
        self._queue: queue.Queue[tuple[Any, float]] = queue.Queue()
        self._started: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.removed = 0
        self.abandoned = 0
        _reapers.add(self)

    def submit(self, container: Any) -> None:
        if exiting():
            self._remove(container, quiet=False)
            return
        self._queue.put((container, time.monotonic()))
        with self._lock:
            if len(self._started) < self._threads and self._queue.qsize() > len(self._started) - 1:
                thread = threading.Thread(target=self._work, name="swe-gym-reaper", daemon=True)
                self._started.append(thread)
                thread.start()

    def _work(self) -> None:
        while True:
            container, since = self._queue.get()
            try:
                patient = time.monotonic() - since < self.patience
                if self._remove(container, quiet=patient) is False:
                    if patient:
                        time.sleep(1.0)
                        self._queue.put((container, since))  # counted again: drain() keeps waiting
                    else:
                        self.abandoned += 1
                else:
                    self.removed += 1
            except Exception as error:  # never kill the thread
                log.warning("removing a container failed: %s", error)
            finally:
                self._queue.task_done()

    @property
    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def drain(self, timeout: float = 120.0) -> bool:
        """Wait until every submitted container is removed; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


@dataclass
class _Item:
    sandbox: Any
    made: float
    memory: int = 0


@dataclass
class PoolStats:
    """Counters of one pool (benchmarks and soak runs report them)."""

    hits: int = 0  # handed out prepared for the task
    image_hits: int = 0  # handed out started, prepared on the spot
    misses: int = 0  # nothing in stock: the caller started a container itself
    made: int = 0
    failed: int = 0
    evicted: int = 0
    discarded: int = 0  # found dead in stock (daemon restart, OOM)
    extra: dict[str, float] = field(default_factory=dict)


class WarmPool:
    """Stock of started (and prepared) sandboxes per task and per image; see the module docstring.

    ``make(task, prepared)`` starts a sandbox for ``task`` (prepared for it when ``prepared``);
    ``prepare(sandbox, task)`` prepares a started one; ``measure(sandbox)`` returns its memory use in
    bytes (0 if unknown). ``workers`` threads make containers; ``spares`` unprepared containers are kept
    per image in use.
    """

    def __init__(
        self,
        make: Callable[[Any, bool], Any],
        prepare: Callable[[Any, Any], None],
        *,
        size: int,
        memory: int | None = None,
        min_free_memory: int = 1 << 30,
        measure: Callable[[Any], int] | None = None,
        workers: int = 2,
        spares: int = 1,
    ) -> None:
        self._make = make
        self._prepare = prepare
        self.size = max(0, size)
        self.memory = memory
        self.min_free_memory = min_free_memory
        self._measure = measure
        self.spares = spares
        self.stats = PoolStats()
        self._ready: dict[str, collections.deque[_Item]] = {}
        self._wanted: collections.deque[tuple[str, Any, bool]] = collections.deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._closed = False
        self._failures = 0
        # image -> a task of it (to make spares from), most recently used last; spares are kept for the
        # last ``spare_slots`` images only (an eval over 500 images must not keep 500 spares)
        self._images: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self.spare_slots = max(1, min(self.size // 4, 2)) if spares > 0 else 0
        self._inflight_keys: collections.Counter[str] = collections.Counter()
        self._workers = [
            threading.Thread(target=self._work, name=f"swe-gym-pool-{i}", daemon=True) for i in range(max(1, workers))
        ]
        for thread in self._workers:
            thread.start()
        _pools.add(self)

    # -- handing out -------------------------------------------------------------------------------
    @staticmethod
    def task_key(task: Any) -> str:
        return f"task:{task.instance_id}"

    @staticmethod
    def image_key(task: Any) -> str:
        return f"image:{task.image}"

    def _pop(self, key: str) -> Any | None:
        while True:
            with self._cond:
                stock = self._ready.get(key)
                if not stock:
                    return None
                item = stock.popleft()
                self._cond.notify_all()
            if _alive(item.sandbox):
                return item.sandbox
            self.stats.discarded += 1
            _close(item.sandbox)

    def acquire(self, task: Any) -> Any | None:
        """A fresh sandbox prepared for ``task`` from stock, or None (the caller starts one itself)."""
        if self._closed:
            return None
        self._note_image(task)
        sandbox = self._pop(self.task_key(task))
        if sandbox is not None:
            self.stats.hits += 1
            sandbox.origin = "task"
            return sandbox
        sandbox = self._pop(self.image_key(task))
        if sandbox is None:
            self.stats.misses += 1
            return None
        try:
            self._prepare(sandbox, task)
        except Exception as error:  # a spare that broke in stock: the caller starts a fresh one
            log.warning("a pooled spare could not be prepared for %s: %s", task.instance_id, error)
            self.stats.discarded += 1
            _close(sandbox)
            return None
        except BaseException:
            _close(sandbox)
            raise
        self.stats.image_hits += 1
        sandbox.origin = "image"
        return sandbox

    def prefetch(self, task: Any, count: int = 1) -> None:
        """Ask for ``count`` more containers prepared for ``task`` (made in the background)."""
        if self._closed or self.size == 0:
            return
        self._note_image(task)
        with self._cond:
            for _ in range(count):
                self._wanted.append((self.task_key(task), task, True))
            while len(self._wanted) > self.size:  # stale hints first out
                self._wanted.popleft()
            self._cond.notify_all()

    def _note_image(self, task: Any) -> None:
        if not getattr(task, "image", None) or self.spares <= 0 or self.size == 0:
            return
        with self._cond:
            fresh = task.image not in self._images
            self._images[task.image] = task
            self._images.move_to_end(task.image)
            while len(self._images) > self.spare_slots:
                self._images.popitem(last=False)  # its spares become the first to go
            if fresh:
                self._cond.notify_all()

    # -- stock accounting --------------------------------------------------------------------------
    def _held(self) -> int:
        return sum(len(stock) for stock in self._ready.values()) + self._inflight

    def _memory_used(self) -> tuple[int, int]:
        """(bytes measured over the stock, a per-container estimate)."""
        items = [item for stock in self._ready.values() for item in stock]
        measured = [item.memory for item in items if item.memory]
        estimate = int(sum(measured) / len(measured)) if measured else 0
        return sum(measured), estimate

    def _room(self) -> bool:
        """Whether one more container may be made now (count, memory budget, host memory)."""
        if self._held() >= self.size:
            return False
        if self.memory is not None:
            used, estimate = self._memory_used()
            if used + estimate * (self._inflight + 1) > self.memory:
                return False
        free = _host_free_memory()
        return free is None or free >= self.min_free_memory

    @staticmethod
    def _is_spare(key: str) -> bool:
        return key.startswith("image:")

    def _task_held(self) -> int:
        """Task stock, made or being made (spares excluded)."""
        made = sum(len(stock) for key, stock in self._ready.items() if not self._is_spare(key))
        return made + sum(n for key, n in self._inflight_keys.items() if not self._is_spare(key))

    def _task_capacity(self) -> int:
        """The containers task stock may hold: the pool less the slots kept for recent images' spares."""
        return max(1, self.size - self.spares * min(self.spare_slots, len(self._images)))

    OLD_SPARE, TASK, RECENT_SPARE = 0, 1, 2  # eviction ranks, first out first

    def _victim(self, keep: str, ranks: frozenset[int]) -> str | None:
        """The stock key (not ``keep``) to remove a container of: the lowest allowed rank, then the oldest."""
        recent = {f"image:{image}" for image in self._images}
        ranked = []
        for key, stock in self._ready.items():
            if key == keep or not stock:
                continue
            if self._is_spare(key):
                rank = self.RECENT_SPARE if key in recent else self.OLD_SPARE
            else:
                rank = self.TASK
            if rank in ranks:
                ranked.append((rank, stock[0].made, key))
        return min(ranked)[2] if ranked else None

    def _evict_one(self, keep: str, ranks: frozenset[int] = frozenset({0, 1, 2})) -> bool:
        """Remove one container of stock that is not of ``keep``; False when there is none to remove."""
        key = self._victim(keep, ranks)
        if key is None:
            return False
        oldest = self._ready[key].popleft()
        self.stats.evicted += 1
        threading.Thread(target=_close, args=(oldest.sandbox,), daemon=True).start()
        return True

    def _make_room(self, key: str, dry: bool = False) -> bool:
        """Whether one more container for ``key`` may be made now, removing stock to make room where its
        kind allows (``dry``: decide only). Task stock at its share replaces its own oldest; a full pool
        gives a task job anything (recent spares last) while task stock is under its share, and a spare
        job old images' spares, or task stock that is over its share."""
        if self._inflight >= self.size:
            return False
        task_held, capacity = self._task_held(), self._task_capacity()
        if not self._is_spare(key):
            if task_held >= capacity:
                ranks = frozenset({self.TASK})
            elif self._room():
                return True
            else:
                ranks = frozenset({self.OLD_SPARE, self.TASK, self.RECENT_SPARE})
        elif self._room():
            return True
        else:
            ranks = frozenset({self.OLD_SPARE, self.TASK} if task_held > capacity else {self.OLD_SPARE})
        if self._victim(key, ranks) is None:
            return False
        if dry:
            return True
        self._evict_one(keep=key, ranks=ranks)
        return self._room()

    def _spare_wanted(self, latest_only: bool = False) -> tuple[str, Any] | None:
        """A spare to make: for the most recently used image first (``latest_only``: for it alone)."""
        images = list(reversed(self._images.items()))
        for image, task in images[:1] if latest_only else images:
            key = f"image:{image}"
            if len(self._ready.get(key, ())) < self.spares and key not in self._inflight_keys:
                return key, task
        return None

    def _has_work(self) -> bool:
        """Whether :meth:`_next_job` would start something now (called with the lock held)."""
        if self._wanted and self._make_room(self._wanted[0][0], dry=True):
            return True
        spare = self._spare_wanted()
        return spare is not None and self._make_room(spare[0], dry=True)

    def _next_job(self) -> tuple[str, Any, bool] | None:
        """What to make next (called with the lock held): the spare of the image in use when it is
        missing (it serves any task of that image), then wanted tasks (a fresh request beats old
        stock), then spares of the other recent images."""
        spare = self._spare_wanted(latest_only=True)
        if spare is not None and self._make_room(spare[0]):
            return spare[0], spare[1], False
        if self._wanted:
            key, task, prepared = self._wanted[0]
            if self._make_room(key):
                self._wanted.popleft()
                return key, task, prepared
        spare = self._spare_wanted()
        if spare is not None and self._make_room(spare[0]):
            return spare[0], spare[1], False
        return None

    # -- the workers -------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                job = None
                while not self._closed:
                    job = self._next_job()
                    if job is not None:
                        break
                    self._cond.wait(0.5)
                if self._closed:
                    return
                assert job is not None
                key, task, prepared = job
                self._inflight += 1
                self._inflight_keys[key] += 1
            sandbox = None
            try:
                sandbox = self._make(task, prepared)
                memory = self._measure(sandbox) if self._measure else 0
                self._failures = 0
                self.stats.made += 1
            except Exception as error:  # the daemon is down, the image is gone...: back off, never raise
                self.stats.failed += 1
                self._failures += 1
                log.warning("the warm pool could not make a container for %s: %s", key, error)
            with self._cond:
                self._inflight -= 1
                self._inflight_keys[key] -= 1
                if self._inflight_keys[key] <= 0:
                    del self._inflight_keys[key]
                if sandbox is not None and not self._closed:
                    self._ready.setdefault(key, collections.deque()).append(_Item(sandbox, time.monotonic(), memory))
                    sandbox = None
                    self._shrink_to_budget()
                self._cond.notify_all()
                closed = self._closed
            if sandbox is not None:  # made after close: remove it now
                _close(sandbox)
            if self._failures and not closed:
                time.sleep(min(5.0, 0.25 * 2 ** min(self._failures, 5)))

    def _shrink_to_budget(self) -> None:
        if self.memory is None:
            return
        while self._memory_used()[0] > self.memory and self._evict_one(keep=""):
            pass

    # -- inspection and shutdown -------------------------------------------------------------------
    def stock(self) -> dict[str, int]:
        with self._cond:
            return {key: len(items) for key, items in self._ready.items() if items}

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is being made or waiting to be made (benchmarks and tests use it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._inflight or self._has_work():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Stop making containers, wait for the ones being made, and remove the whole stock."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._wanted.clear()
            self._cond.notify_all()
        for thread in self._workers:
            if thread is not threading.current_thread():
                thread.join(timeout)
        with self._cond:
            items = [item for stock in self._ready.values() for item in stock]
            self._ready.clear()
        for item in items:
            _close(item.sandbox)

    @property
    def closed(self) -> bool:
        return self._closed


def _alive(sandbox: Any) -> bool:
    try:
        return bool(getattr(sandbox, "alive", True))
    except Exception:
        return False


def _close(sandbox: Any) -> None:
    try:
        sandbox.close()
    except Exception as error:  # removal problems are logged by the remover
        log.warning("closing a pooled sandbox failed: %s", error)


def _host_free_memory() -> int | None:
    """MemAvailable of this host in bytes when the daemon runs here (a unix socket), else None."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host and not docker_host.startswith("unix://"):
        return None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def parse_size(value: str | int | None) -> int | None:
    """``"4g"``/``"512m"``/``1024`` to bytes (None stays None)."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip().lower().rstrip("b")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@atexit.register
def _shutdown() -> None:
    """At exit: drain every open pool, close what is still live, then wait for the removals."""
    for pool in list(_pools):
        try:
            pool.close(timeout=30)
        except Exception as error:
            log.warning("draining a warm pool at exit failed: %s", error)
    try:
        close_live()
    except Exception as error:
        log.warning("closing live sandboxes at exit failed: %s", error)
    for reaper in list(_reapers):
        reaper.drain(timeout=60)
    try:
        sweep_own()  # a container whose creation an interrupt cut short on the client's side
    except Exception as error:
        log.warning("sweeping this process's containers at exit failed: %s", error)
    _exiting.set()  # from now on a sandbox closed late is removed synchronously
