"""A backend from its name and options: what ``gym.make("SWE-v0", backend=...)`` and ``make_vec`` use."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import ConfigError
from .base import Limits

BACKENDS = ("docker", "ray", "fake")


def resolve_limits(limits: Limits | None, command_timeout: float | None) -> Limits:
    """``limits`` (default :class:`Limits`) with ``command_timeout`` applied when given."""
    limits = limits or Limits()
    if command_timeout is not None:
        limits = dataclasses.replace(limits, command_timeout=command_timeout)
    return limits


def make_backend(
    backend: str | Any,
    *,
    num_envs: int = 1,
    limits: Limits | None = None,
    network: str = "internal",
    pull_policy: str = "missing",
    warm_pool: int | None = None,
    pool_memory: str | int | None = "4g",
    exec_mode: str = "session",
    max_workers: int | None = None,
    ray_address: str | None = None,
) -> Any:
    """The backend named ``backend`` (``"docker"``, ``"ray"``, ``"fake"``), or ``backend`` itself when it
    is an object with ``start(task)`` (a backend the caller made and owns).

    ``num_envs`` sub-envs share it: the warm pool defaults to 5 containers for one env (the next two
    tasks, this episode's grading, spares of the image) and 2N+4 for N (each sub-env's next task and
    grading, spares), the client's connection pool to a connection per
    thread. ``ray_address`` (``backend="ray"``) names the cluster to join when this process has not
    called ``ray.init()`` itself.
    """
    if not isinstance(backend, str):
        if not hasattr(backend, "start"):
            raise ConfigError(f"backend must be one of {BACKENDS} or an object with start(task), got {backend!r}")
        return backend
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS} or an object with start(task), got {backend!r}")
    if warm_pool is not None and warm_pool < 0:
        raise ConfigError(f"warm_pool must be >= 0, got {warm_pool}")
    if backend == "fake":
        from .fake import FakeBackend

        return FakeBackend(limits=limits)
    from .docker.images import PULL_POLICIES
    from .docker.network import NETWORK_MODES
    from .docker.sandbox import EXEC_MODES

    for name, value, allowed in (("exec_mode", exec_mode, EXEC_MODES), ("network", network, NETWORK_MODES),
                                 ("pull_policy", pull_policy, PULL_POLICIES)):
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")
    limits = limits or Limits()
    pool = (5 if num_envs == 1 else 2 * num_envs + 4) if warm_pool is None else warm_pool
    workers = max_workers or num_envs
    options = dict(limits=limits, network=network, pull_policy=pull_policy, warm_pool=pool,
                   pool_memory=pool_memory, exec_mode=exec_mode)
    if backend == "ray":
        from .ray.backend import RayBackend

        return RayBackend(address=ray_address, **options)
    from .docker.backend import DockerBackend

    return DockerBackend(pool_size=max(16, 2 * workers + 8), **options)  # env threads, graders, pool, reaper
