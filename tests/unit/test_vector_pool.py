"""The warm pool's bookkeeping with fake sandboxes (no Docker): stock, hand-out once, bounds, drain."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from swe_gym_env.backends.docker.pool import Reaper, WarmPool, parse_size


@dataclass
class Task:
    instance_id: str
    image: str = "img"


@dataclass
class Box:
    task: str
    prepared_for: list[str] = field(default_factory=list)
    alive: bool = True
    closed: bool = False

    def close(self):
        self.closed = True


class Maker:
    def __init__(self, fail: bool = False):
        self.made: list[Box] = []
        self.fail = fail
        self.lock = threading.Lock()

    def make(self, task, prepared):
        if self.fail:
            raise RuntimeError("daemon down")
        box = Box(task.instance_id, [task.instance_id] if prepared else [])
        with self.lock:
            self.made.append(box)
        return box

    @staticmethod
    def prepare(box, task):
        box.prepared_for.append(task.instance_id)


def make_pool(size=4, **kwargs):
    maker = Maker(kwargs.pop("fail", False))
    pool = WarmPool(maker.make, maker.prepare, size=size, min_free_memory=0, **kwargs)
    return pool, maker


def test_a_sandbox_given_back_untouched_is_handed_out_again():
    pool, maker = make_pool(spares=0)
    a = Task("a")
    pool.prefetch(a)
    assert pool.wait_idle(10)
    box = pool.acquire(a)
    assert pool.stats.hits == 1 and pool.stock() == {}
    pool.restock(a, box)  # started ahead for a reset that named another task
    assert pool.stock() == {"task:a": 1}
    assert (pool.stats.hits, pool.stats.returned) == (0, 1)  # hits count resets served, not hand-outs
    assert pool.acquire(a) is box and not box.closed and len(maker.made) == 1
    dead = Box("a", alive=False)
    pool.restock(a, dead)  # a dead one is closed, not stocked
    assert dead.closed and pool.stock() == {}
    pool.close()
    late = Box("a")
    pool.restock(a, late)  # a closed pool keeps nothing
    assert late.closed and pool.stock() == {}


def test_prefetched_task_is_handed_out_once_then_missing():
    pool, _ = make_pool(spares=0)
    a = Task("a")
    pool.prefetch(a)
    assert pool.wait_idle(10)
    box = pool.acquire(a)
    assert box is not None and box.prepared_for == ["a"]
    assert pool.acquire(a) is None  # never handed out twice
    assert (pool.stats.hits, pool.stats.misses) == (1, 1)
    pool.close()


def test_an_image_spare_is_prepared_on_the_spot():
    pool, _ = make_pool(spares=1)
    pool.acquire(Task("a"))  # a miss, which notes the image
    assert pool.wait_idle(10) and pool.stock() == {"image:img": 1}
    box = pool.acquire(Task("b"))
    assert box.prepared_for == ["b"] and pool.stats.image_hits == 1
    pool.close()


def test_count_bound_evicts_the_oldest_stock_for_a_new_request():
    pool, _ = make_pool(size=2, spares=0)
    for name in ("a", "b"):
        pool.prefetch(Task(name))
        assert pool.wait_idle(10)
    pool.prefetch(Task("c"))
    assert pool.wait_idle(10)
    assert pool.stock() == {"task:b": 1, "task:c": 1} and pool.stats.evicted == 1
    pool.close()


def test_a_stream_of_task_requests_never_crowds_out_the_recent_images_spare():
    pool, _ = make_pool(size=4, spares=1)
    pool.acquire(Task("a"))  # a miss: the image is in use now
    assert pool.wait_idle(10) and pool.stock() == {"image:img": 1}
    for name in "bcdefg":  # hints, gradings, wrong guesses: more than the pool holds
        pool.prefetch(Task(name))
        assert pool.wait_idle(10)
    stock = pool.stock()
    assert stock.pop("image:img") == 1 and sorted(stock) == ["task:e", "task:f", "task:g"]
    box = pool.acquire(Task("z"))  # a task nobody announced: its image's spare, prepared on the spot
    assert box.prepared_for == ["z"] and pool.stats.image_hits == 1
    assert pool.wait_idle(10) and pool.stock()["image:img"] == 1  # made again
    pool.close()


def test_spares_follow_the_images_in_recent_use_and_old_ones_go_first():
    pool, _ = make_pool(size=4, spares=1)
    pool.acquire(Task("a", image="old"))
    assert pool.wait_idle(10)
    pool.acquire(Task("b", image="new"))
    assert pool.wait_idle(10) and pool.stock() == {"image:old": 1, "image:new": 1}
    for name in "cde":
        pool.prefetch(Task(name, image="new"))
        assert pool.wait_idle(10)
    assert pool.stock() == {"image:new": 1, "task:c": 1, "task:d": 1, "task:e": 1}
    assert pool.stats.evicted == 1  # the old image's spare
    pool.close()


def test_memory_bound_keeps_measured_stock_under_budget():
    maker = Maker()
    pool = WarmPool(maker.make, maker.prepare, size=10, memory=250, measure=lambda box: 100, min_free_memory=0, spares=0)
    for name in "abcde":
        pool.prefetch(Task(name))
    assert pool.wait_idle(10)
    assert sum(pool.stock().values()) <= 2
    pool.close()


def test_dead_stock_is_discarded():
    pool, _ = make_pool(spares=0)
    pool.prefetch(Task("a"), count=2)
    assert pool.wait_idle(10)
    first = pool._ready["task:a"][0].sandbox
    first.alive = False
    box = pool.acquire(Task("a"))
    assert box is not first and first.closed and pool.stats.discarded == 1
    pool.close()


def test_close_drains_everything_and_stops_making():
    pool, maker = make_pool(spares=1)
    pool.acquire(Task("a"))
    pool.prefetch(Task("b"), count=2)
    assert pool.wait_idle(10)
    pool.close()
    assert all(box.closed for box in maker.made)
    assert pool.acquire(Task("b")) is None
    pool.prefetch(Task("b"))
    assert pool.stock() == {}


def test_failures_are_counted_and_never_raised():
    pool, _ = make_pool(fail=True, spares=0)
    pool.prefetch(Task("a"))
    assert pool.wait_idle(10)
    assert pool.stats.failed == 1 and pool.acquire(Task("a")) is None
    pool.close()


def test_reaper_retries_until_the_daemon_is_back():
    calls = []

    def remove(container, quiet=False):
        calls.append(container)
        return len(calls) > 2  # the first two tries fail (daemon restarting)

    reaper = Reaper(remove, patience=30)
    reaper.submit("c1")
    assert reaper.drain(10) and reaper.removed == 1 and calls == ["c1"] * 3


def test_parse_size():
    assert parse_size("4g") == 4 << 30 and parse_size("512m") == 512 << 20 and parse_size(7) == 7
    assert parse_size(None) is None
    with pytest.raises(ValueError):
        parse_size("lots")
