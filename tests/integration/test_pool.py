"""The warm pool in real containers: fresh containers handed out once, labels, bounds, drain."""

import os

import pytest
from steps import bash

from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, RUN_ID, get_client
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

TASKS = load_tasks("builtin")


def mine(besides=frozenset()):
    """This process's containers, less ``besides`` (ids that were there before the test: an earlier test's are not its own)."""
    return [c for c in project_containers(get_client(), RUN_ID)
            if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid()) and c.id not in besides]


def ids():
    return frozenset(c.id for c in mine())


def test_reset_takes_a_prepared_container_and_never_reuses_one(make_env):
    env = make_env(warm_pool=3)
    task = TASKS[1]
    env.reset(options={"task_id": task.instance_id})
    bash(env, "echo secret > /testbed/left_by_episode_1 && git status --short")
    first = env.sandbox.id
    env.backend.prefetch(task)
    env.backend.pool.wait_idle(120)
    hits = env.backend.pool.stats.hits
    env.reset(options={"task_id": task.instance_id})
    assert env.backend.pool.stats.hits == hits + 1
    assert env.sandbox.id != first
    obs, _ = bash(env, "ls /testbed/left_by_episode_1 2>&1; git log --oneline | wc -l; git status --short")
    assert "No such file" in obs and obs.splitlines()[1] == "1" and len(obs.splitlines()) == 2
    assert env.sandbox.base_commit == task.base_commit


def test_pooled_containers_are_labelled_and_drained_on_close(make_env):
    before = ids()
    env = make_env(warm_pool=4)
    env.reset(seed=0)
    env.backend.pool.wait_idle(120)
    roles = [(c.labels or {}).get(f"{LABEL}.role") for c in mine()]
    assert "warm" in roles and "agent" in roles
    assert all((c.labels or {}).get(f"{LABEL}.run") == RUN_ID for c in mine())
    env.close()
    assert mine(before) == []


def test_a_dead_container_in_stock_is_discarded(make_env):
    env = make_env(warm_pool=2)
    task = TASKS[2]
    env.reset(options={"task_id": task.instance_id})
    env.backend.pool.wait_idle(120)
    stocked = [item.sandbox for item in env.backend.pool._ready.get(f"task:{task.instance_id}", [])]
    assert stocked
    for sandbox in stocked:
        sandbox.container.kill()
    discarded = env.backend.pool.stats.discarded
    obs, info = env.reset(options={"task_id": task.instance_id})
    assert "failure" not in info and env.backend.pool.stats.discarded > discarded
    obs, _ = bash(env, "git rev-parse HEAD")
    assert obs.strip() == task.base_commit


def test_the_pool_respects_its_memory_budget():
    before = ids()
    backend = DockerBackend(warm_pool=6, pool_memory=1)  # one byte: nothing measured may stay
    try:
        sandbox = backend.start(TASKS[0])
        for task in TASKS[3:6]:
            backend.prefetch(task)
        backend.pool.wait_idle(120)
        assert sum(backend.pool.stock().values()) <= 1
        assert backend.pool.stats.evicted >= 1
        sandbox.close()
    finally:
        backend.close()
    assert mine(before) == []
