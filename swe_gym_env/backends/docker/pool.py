"""Warm containers: started and prepared ahead of time, so reset hands out a fresh sandbox in milliseconds.

:class:`WarmPool` keeps two kinds of stock, refilled by background threads:

- per task: containers already prepared for one task (its ``setup_patch`` applied, the single base
  commit made, the shell session running) - a reset of that task takes one and returns at once. Stock
  is made on request (:meth:`WarmPool.prefetch`: the vector env asks for each sub-env's next task,
  the backend for the grading of each started episode);
- per image: started but unprepared containers (a spare per image that recently had a reset nobody
  prepared for) - such a reset takes one and prepares it on the spot (tens of milliseconds instead of a
  container start). Room for the spares (two each) of the one or two images last in need is kept: a stream of task requests (hints, gradings, guesses that turned out wrong) never crowds them
  out, so explicit ids over the tasks of one image stay warm without any hint.

Every container is handed out once and never comes back (the env removes it at the end of the
episode), so a sandbox is always fresh. The stock is bounded by a count (``size``) and by memory
(``memory`` bytes, measured on the first containers and then on a sample of them - a stats call can
take most of a second - the rest counted at the mean; plus a floor of free host memory when the
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

    def __init__(self, remove: Callable[..., bool | None], threads: int = 4, patience: float = 120.0,
                 delay: float = 1.0) -> None:
        self._remove = remove
        self._threads = max(1, threads)
        self.patience = patience
        # a container is removed ``delay`` s after it was handed in: a removal costs the daemon a few hundred
        # ms of CPU, which the reset that usually follows an episode's end should not compete with
        self.delay = delay
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
                wait = since + self.delay - time.monotonic()
                if wait > 0 and not exiting():
                    time.sleep(wait)
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
    returned: int = 0  # handed out, then given back untouched (restock)
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
        spares: int = 2,
    ) -> None:
        self._make = make
        self._prepare = prepare
        self.size = max(0, size)
        self.memory = memory
        self.min_free_memory = min_free_memory
        self._measure = measure
        self.spares = spares
        self.stats = PoolStats()
        self._last_acquire = 0.0
        self._foreground = 0  # hand-outs preparing a spare right now
        self._requested: dict[str, float] = {}  # task key -> when it was last asked for (eviction order)
        self._measured = 0  # containers measured, and their bytes in all
        self._measured_bytes = 0
        self._ready: dict[str, collections.deque[_Item]] = {}
        # what the next resets will ask for (hints, predictions), then what is needed later (gradings)
        self._wanted: collections.deque[tuple[str, Any, bool]] = collections.deque()
        self._later: collections.deque[tuple[str, Any, bool]] = collections.deque()
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
        self._last_acquire = time.monotonic()
        sandbox = self._pop(self.task_key(task))
        if sandbox is not None:
            self.stats.hits += 1
            sandbox.origin = "task"
            return sandbox
        self._note_image(task)  # a reset nobody prepared for: its image is worth a spare from now on
        with self._cond:
            self._foreground += 1  # no new container is started while this one is prepared
        try:
            return self._from_spare(task)
        finally:
            with self._cond:
                self._foreground -= 1
                self._cond.notify_all()

    def _from_spare(self, task: Any) -> Any | None:
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

    def restock(self, task: Any, sandbox: Any) -> None:
        """Take back ``sandbox``, handed out for ``task`` but never used (a start made ahead for a reset that
        went elsewhere): it joins the task's stock, and the hand-out's counter is undone."""
        if not _alive(sandbox):
            _close(sandbox)
            return
        counter = {"task": "hits", "image": "image_hits"}.get(getattr(sandbox, "origin", ""), "misses")
        with self._cond:
            if not self._closed:
                setattr(self.stats, counter, max(0, getattr(self.stats, counter) - 1))
                self.stats.returned += 1
                self._ready.setdefault(self.task_key(task), collections.deque()).append(_Item(sandbox, time.monotonic()))
                self._shrink_to_budget()
                self._cond.notify_all()
                sandbox = None
        if sandbox is not None:  # the pool is closed
            _close(sandbox)

    def prefetch(self, task: Any, count: int = 1, *, soon: bool = True) -> None:
        """Ask for ``count`` more containers prepared for ``task`` (made in the background): for the next
        resets (``soon``: hints, predictions - made first), or for later (a grading at the episode's end -
        made after the spare of the image in use)."""
        if self._closed or self.size == 0:
            return
        with self._cond:
            self._requested[self.task_key(task)] = time.monotonic()
            requests = self._wanted if soon else self._later
            for _ in range(count):
                requests.append((self.task_key(task), task, True))
            while len(requests) > self.size:  # stale requests first out
                requests.popleft()
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
        """(bytes the stock uses - measured, or the estimate where a container was not measured; a
        per-container estimate: the mean of the measurements so far)."""
        items = [item for stock in self._ready.values() for item in stock]
        estimate = int(self._measured_bytes / self._measured) if self._measured else 0
        return sum(item.memory or estimate for item in items), estimate

    def _should_measure(self) -> bool:
        """Measure the first containers, then one in ``MEASURE_EVERY``: a measurement is a daemon stats call
        that can take most of a second, and idle containers of one pool differ little."""
        return self._measure is not None and (self._measured < 3 or self.stats.made % self.MEASURE_EVERY == 0)

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
    MEASURE_EVERY = 8
    # what is needed later (a grading) waits this long after a hand-out, so that making it does not
    # compete with the reset in progress and the one after it for the daemon
    LATER_DELAY = 1.0

    def _victim(self, keep: str, ranks: frozenset[int]) -> str | None:
        """The stock key (not ``keep``) to remove a container of: the lowest allowed rank, then the oldest
        (task stock: the task asked for longest ago - a stale guess, a grading never used)."""
        recent = {f"image:{image}" for image in self._images}
        ranked = []
        for key, stock in self._ready.items():
            if key == keep or not stock:
                continue
            age = stock[0].made
            if self._is_spare(key):
                rank = self.RECENT_SPARE if key in recent else self.OLD_SPARE
            else:
                rank = self.TASK
                age = self._requested.get(key, age)  # the task asked for longest ago goes first
            if rank in ranks:
                ranked.append((rank, age, key))
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
        for requests in (self._wanted, self._later):
            if requests and self._make_room(requests[0][0], dry=True):
                return True
        spare = self._spare_wanted()
        return spare is not None and self._make_room(spare[0], dry=True)

    def _next_job(self) -> tuple[str, Any, bool] | None:
        """What to make next (called with the lock held): what the next resets asked for (a fresh request
        beats old stock), then the spare of the image last in need of one, then what is needed later
        (gradings), then the spares of the other recent images. Nothing while a spare is being prepared
        for a reset (tens of milliseconds): a container start would slow it down."""
        if self._foreground:
            return None
        if self._wanted:
            key, task, prepared = self._wanted[0]
            if self._make_room(key):
                self._wanted.popleft()
                return key, task, prepared
        spare = self._spare_wanted(latest_only=True)
        if spare is not None and self._make_room(spare[0]):
            return spare[0], spare[1], False
        if self._later and time.monotonic() - self._last_acquire >= self.LATER_DELAY:
            key, task, prepared = self._later[0]
            if self._make_room(key):
                self._later.popleft()
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
                memory = self._measure(sandbox) if self._should_measure() else 0
                if memory:
                    self._measured += 1
                    self._measured_bytes += memory
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
            self._later.clear()
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
