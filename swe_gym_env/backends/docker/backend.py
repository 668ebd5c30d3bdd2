"""The Docker backend: prepared sandboxes for tasks on the local daemon, a warm pool, a background reaper."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import docker

from ...errors import ImageNotFoundError
from ..base import Limits, unasked
from .cleanup import exit_on_signals, sweep_orphans, track
from .client import DOCKER_ERRORS, daemon_retry, get_client, remove_container
from .images import PULL_POLICIES, ImageBuildError, ensure_image, sanitize_image
from .network import NETWORK_MODES
from .pool import Reaper, WarmPool, parse_size
from .sandbox import EXEC_MODES, DockerSandbox
from .watchdog import ensure_watchdog

log = logging.getLogger(__name__)


class DockerBackend:
    """Starts prepared :class:`DockerSandbox` es for tasks: the image, the task state, the base check.

    ``warm_pool`` > 0 keeps up to that many containers started and prepared ahead of time
    (:class:`.pool.WarmPool`, bounded also by ``pool_memory``); every agent sandbox it
    starts asks the pool for one more container of the same task, for its grading. ``pool_size`` is
    the size of the docker client's connection pool (at least the number of threads using the
    backend). Closed sandboxes are removed in the background; :meth:`close` waits for that.
    ``sanitize_history`` runs tasks without a setup patch on a derived image whose git history ends
    at the base commit (see :func:`.images.sanitize_image`).
    """

    def __init__(
        self,
        *,
        limits: Limits = Limits(),
        network: str = "internal",
        pull_policy: str = "missing",
        pool_size: int = 16,
        warm_pool: int = 0,
        pool_memory: str | int | None = "4g",
        exec_mode: str = "session",
        prefetch_grading: bool = True,
        sanitize_history: bool = True,
    ) -> None:
        if network not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}, got {network!r}")
        if pull_policy not in PULL_POLICIES:
            raise ValueError(f"pull_policy must be one of {PULL_POLICIES}, got {pull_policy!r}")
        if exec_mode not in EXEC_MODES:
            raise ValueError(f"exec_mode must be one of {EXEC_MODES}, got {exec_mode!r}")
        if warm_pool < 0:
            raise ValueError(f"warm_pool must be >= 0, got {warm_pool}")
        self.limits = limits
        self.network = network
        self.pull_policy = pull_policy
        self.pool_size = pool_size
        self.exec_mode = exec_mode
        self.prefetch_grading = prefetch_grading
        self.sanitize_history = sanitize_history
        self._images: dict[str, str] = {}
        self._images_lock = threading.Lock()
        # set by an env that owns this backend: the tasks its next resets most likely start, in order
        self.predict_upcoming: Callable[[], list[Any]] | None = None
        self._predicted: list[Any] = []  # the tasks last predicted (already asked of the pool)
        self.reaper = Reaper(remove_container)
        self.pool = (
            WarmPool(self._make_warm, self._prepare, size=warm_pool, memory=parse_size(pool_memory), measure=self._measure)
            if warm_pool
            else None
        )
        self._closed = False
        exit_on_signals()  # SIGTERM/SIGHUP remove this process's containers, like SIGINT

    def _create(self, task: Any, role: str) -> DockerSandbox:
        if not task.image:
            raise ImageNotFoundError(f"task {task.instance_id!r} names no image")
        client = get_client(self.pool_size)
        sweep_orphans(client)
        ensure_watchdog()  # removes this process's containers if it dies without cleaning up
        sandbox = DockerSandbox.start(
            self._image_for(task, client),
            client=client,
            limits=self.limits,
            network=self.network,
            role=role,
            task_id=task.instance_id,
            pull_policy=self.pull_policy,
            exec_mode=self.exec_mode,
            remover=self.reaper.submit,
        )
        track(sandbox)
        return sandbox

    def _image_for(self, task: Any, client: docker.DockerClient) -> str:
        """The image to start: for a task that starts from the image as it is (no setup patch), a
        derived image whose git history ends at HEAD (built once, cached by content tag), so that
        later commits, refs, reflog or stash of an external image cannot lead the agent to the fix."""
        if task.setup_patch or not self.sanitize_history:
            return task.image
        with self._images_lock:
            if task.image not in self._images:
                ensure_image(client, task.image, self.pull_policy)
                try:
                    self._images[task.image] = sanitize_image(client, task.image)
                except ImageBuildError as error:  # no git repository at /testbed: nothing to hide
                    log.warning("using %s as it is: its history could not be sanitized (%s)", task.image,
                                str(error).splitlines()[0])
                    self._images[task.image] = task.image
            return self._images[task.image]

    @staticmethod
    def _prepare(sandbox: DockerSandbox, task: Any) -> None:
        sandbox.prepare(task.setup_patch, task.base_commit if task.setup_patch else "")
        sandbox.task_id = task.instance_id

    def _make_warm(self, task: Any, prepared: bool) -> DockerSandbox:
        sandbox = self._create(task, role="warm")
        try:
            if prepared:
                self._prepare(sandbox, task)
            else:
                sandbox.start_session()
                if task.setup_patch:  # the image's tasks differ by a patch: hash its files now, once
                    sandbox.stage()
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def _measure(self, sandbox: DockerSandbox) -> int:
        try:
            stats = daemon_retry(sandbox.container.client.api.stats)(sandbox.id, stream=False, one_shot=True)
            return int(stats.get("memory_stats", {}).get("usage") or 0)
        except DOCKER_ERRORS:
            return 0

    def start(self, task: Any, *, role: str = "agent") -> DockerSandbox:
        """A fresh container at ``task``'s starting state: from the warm pool if it has one, else new."""
        sandbox = self.pool.acquire(task) if self.pool is not None else None
        if sandbox is None:
            sandbox = self._create(task, role)
            try:
                self._prepare(sandbox, task)
            except BaseException:
                sandbox.close()
                raise
        sandbox.persist = role == "agent"
        if self.pool is not None and role == "agent":
            if self.prefetch_grading:
                self.pool.prefetch(task, soon=False)  # this episode's grading, at its end
            self._prefetch_predicted(task)
        return sandbox

    def _prefetch_predicted(self, started: Any) -> None:
        """Ask the pool for the tasks the owning env predicts for its next resets - only those not asked
        for at an earlier reset (a prediction two ahead was asked for one reset ago)."""
        upcoming = list(self.predict_upcoming()) if self.predict_upcoming is not None else []
        for task in unasked(self._predicted, started, upcoming):
            self.pool.prefetch(task)
        self._predicted = upcoming

    def give_back(self, task: Any, sandbox: DockerSandbox) -> None:
        """Return an agent sandbox of ``task`` that no command has touched (one started ahead for a reset
        that then named another task): the warm pool keeps it for ``task``; without a pool it is closed."""
        sandbox.persist = False
        if self.pool is not None and not self._closed:
            self.pool.restock(task, sandbox)
        else:
            sandbox.close()

    def stats(self) -> dict[str, Any]:
        """How resets were served (``hits``: prepared ahead, ``image_hits``: a spare prepared on the spot,
        ``misses``: started cold) and what the pool made, evicted or found dead."""
        if self.pool is None:
            return {"hits": 0, "image_hits": 0, "misses": 0, "pool": 0}
        counters = {k: v for k, v in vars(self.pool.stats).items() if k != "extra"}
        return {**counters, "pool": self.pool.size, "stock": self.pool.stock()}

    def prefetch(self, task: Any, count: int = 1) -> None:
        """Hint that ``task`` will be started soon: the warm pool prepares ``count`` containers for it."""
        if self.pool is not None and not self._closed:
            self.pool.prefetch(task, count)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the warm pool has made what was asked of it (benchmarks and tests use it); False
        when ``timeout`` ran out first."""
        return self.pool.wait_idle(timeout) if self.pool is not None else True

    def close(self, timeout: float = 120.0) -> None:
        """Drain the warm pool and wait until every closed container is removed; safe to repeat.

        The backend still starts containers afterwards, without a pool."""
        self._closed = True
        if self.pool is not None:
            self.pool.close(timeout=timeout)
        self.reaper.drain(timeout=timeout)
