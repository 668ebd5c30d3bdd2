"""Integration tests run against the real Docker daemon and the built-in images.

Without a daemon they are skipped, unless SWE_GYM_REQUIRE_DOCKER=1 (as `make test` and CI set it),
where a missing daemon is a failure. At the end of the session, no container made by this process -
or by a process that has died - may be left.
"""

from __future__ import annotations

import os

import pytest

from swe_gym_env.backends.docker.engine import daemon_answers


def _leftovers():
    from swe_gym_env.backends.docker.cleanup import _pid_alive, project_containers
    from swe_gym_env.backends.docker.client import HOSTNAME, LABEL, get_client

    left = []
    for container in project_containers(get_client()):
        labels = container.labels or {}
        pid = int(labels.get(f"{LABEL}.pid", "0") or 0)
        if labels.get(f"{LABEL}.host") == HOSTNAME and (pid == os.getpid() or not _pid_alive(pid)):
            left.append(container.name)
    return left


@pytest.fixture(scope="session", autouse=True)
def docker_session():
    if not daemon_answers():
        if os.environ.get("SWE_GYM_REQUIRE_DOCKER") == "1":
            pytest.fail("SWE_GYM_REQUIRE_DOCKER=1 but no Docker daemon answers (run `swe-gym-env engine`)")
        pytest.skip("no Docker daemon: integration tests need one (`make test` installs and starts it)")
    from swe_gym_env.backends.docker.builtin_images import ensure_images

    ensure_images(pull_policy="never")
    yield
    left = _leftovers()
    assert not left, f"{len(left)} container(s) left behind at the end of the session: {left}"


@pytest.fixture
def make_env():
    from swe_gym_env.env import SWEEnv

    envs = []

    def make(**kwargs):
        kwargs.setdefault("tasks", "builtin")
        env = SWEEnv(**kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()
