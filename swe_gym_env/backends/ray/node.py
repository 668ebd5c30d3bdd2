"""The node-local host: one Ray actor per node, owning that node's Docker backend.

A :class:`NodeHost` runs on the node it serves (pinned there by the driver) and holds a
:class:`~swe_gym_env.backends.docker.backend.DockerBackend` over the node's own daemon (the one its
environment names: ``DOCKER_HOST`` as ``ray start`` saw it, else the default socket), with that node's
warm pool and reaper. Sandboxes stay on the node; the driver holds only their ids. Each method is one
actor call from the driver and does its work with node-local calls, so a reset is a warm-pool hand-out
on the node and a step is one actor call plus the node-local exec. Only text (commands, output, file
contents, diffs) and plain data cross the cluster.

Errors do not travel as Ray exceptions: each call returns ``("ok", value)`` or ``("error", kind,
message)`` and the driver raises the matching typed error (:func:`unwrap`), so an agent-side outcome
(a missing file, a diff that cannot be taken) stays distinct from an infrastructure fault.

The host makes its containers as its own process, so they carry its pid in their labels, and the Docker
backend starts its watchdog (:mod:`swe_gym_env.backends.docker.watchdog`): when Ray ends the actor with
its driver - even after a SIGKILL of the driver - the watchdog removes this host's containers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import (
    ConfigError,
    DaemonError,
    GradingError,
    ImageNotFoundError,
    InfraError,
    SandboxLostError,
    SandboxStartError,
    TaskError,
)
from ..workspace import DiffError

log = logging.getLogger(__name__)

# errors that keep their type across the cluster (anything else arrives as a plain InfraError)
ERRORS: dict[str, type[BaseException]] = {
    cls.__name__: cls
    for cls in (
        SandboxLostError, SandboxStartError, ImageNotFoundError, DaemonError, GradingError, InfraError,
        DiffError, FileNotFoundError, IsADirectoryError, NotADirectoryError, ConfigError, TaskError, ValueError,
    )
}
Outcome = tuple  # ("ok", value) | ("error", kind, message)


def unwrap(outcome: Outcome) -> Any:
    """The value of an ``("ok", value)`` outcome; raise the typed error of an ``("error", ...)`` one."""
    if outcome[0] == "ok":
        return outcome[1]
    _, kind, message = outcome
    cls = ERRORS.get(kind)
    if cls is None:
        raise InfraError(f"the node host failed: {kind}: {message}")
    raise cls(message)


class NodeHost:
    """The Docker backend of one node, driven from the driver (see the module docstring).

    ``options`` are :class:`DockerBackend` keywords (limits, network, pull policy, warm pool, exec mode).
    """

    def __init__(self, options: dict[str, Any]) -> None:
        from ..docker.backend import DockerBackend

        self.backend = DockerBackend(**options)
        self.sandboxes: dict[str, Any] = {}
        self.tasks: dict[str, Any] = {}  # sandbox id -> its task (for give_back)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # no start in flight
        self._starting = 0
        self._closing = False
        self.started = 0

    # -- calls from the driver -------------------------------------------------------------------
    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
        try:
            return ("ok", fn(*args, **kwargs))
        except Exception as error:  # goes back to the driver as data
            return ("error", type(error).__name__, str(error))

    def describe(self) -> dict[str, Any]:
        """Where this host runs: node id, host name, process id, the daemon it talks to."""
        import ray

        from ..docker.client import RUN_ID

        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "run_id": RUN_ID,
            "docker_host": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        }

    def _sandbox(self, sandbox_id: str) -> Any:
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            raise SandboxLostError(f"sandbox {sandbox_id} is not on this node (closed, or its host restarted)")
        return sandbox

    def start(self, task: Any, role: str, upcoming: Sequence[Any] = ()) -> Outcome:
        """Start a sandbox for ``task`` (from the node's warm pool when it has one); returns its id, base
        commit and how it was served (``"task"``, ``"image"``, ``"cold"``). ``upcoming``, tasks the same
        caller will start next, are prepared ahead on this node."""

        def start() -> tuple[str, str, str | None]:
            with self._lock:
                if self._closing:
                    raise SandboxLostError("the sandbox host is shutting down")
                self._starting += 1
            try:
                sandbox = self.backend.start(task, role=role)
                sandbox_id = uuid.uuid4().hex
                with self._lock:
                    self.sandboxes[sandbox_id] = sandbox
                    self.tasks[sandbox_id] = task
                    self.started += 1
            finally:
                with self._lock:
                    self._starting -= 1
                    self._idle.notify_all()
            for later in upcoming:
                self.backend.prefetch(later)
            return sandbox_id, sandbox.base_commit, getattr(sandbox, "origin", None)

        return self._call(start)

    def exec(self, sandbox_id: str, command: str, options: dict[str, Any]) -> Outcome:
        return self._call(lambda: self._sandbox(sandbox_id).exec(command, **options))

    def read_file(self, sandbox_id: str, path: str) -> Outcome:
        return self._call(lambda: self._sandbox(sandbox_id).read_file(path))

    def write_file(self, sandbox_id: str, path: str, data: bytes) -> Outcome:
        return self._call(lambda: self._sandbox(sandbox_id).write_file(path, data))

    def diff(self, sandbox_id: str) -> Outcome:
        return self._call(lambda: self._sandbox(sandbox_id).diff())

    def alive(self, sandbox_id: str) -> bool:
        sandbox = self.sandboxes.get(sandbox_id)
        return bool(sandbox is not None and sandbox.alive)

    def close(self, sandbox_id: str) -> None:
        with self._lock:
            sandbox = self.sandboxes.pop(sandbox_id, None)
            self.tasks.pop(sandbox_id, None)
        if sandbox is not None:
            sandbox.close()

    def give_back(self, started: Outcome) -> None:
        """Return the sandbox a :meth:`start` made ahead (its outcome, which Ray hands over once that start
        is done) and the driver did not use: it goes back to the warm pool, untouched."""
        if started[0] != "ok":
            return
        sandbox_id = started[1][0]
        with self._lock:
            sandbox = self.sandboxes.pop(sandbox_id, None)
            task = self.tasks.pop(sandbox_id, None)
        if sandbox is not None:
            self.backend.give_back(task, sandbox)

    def prefetch(self, task: Any, count: int = 1) -> None:
        self.backend.prefetch(task, count)

    def wait_idle(self, timeout: float) -> bool:
        return self.backend.wait_idle(timeout)

    def stats(self) -> dict[str, Any]:
        pool = self.backend.pool
        counters = dict(vars(pool.stats)) if pool is not None else {}
        counters.pop("extra", None)
        stock = pool.stock() if pool is not None else {}
        return {"sandboxes": len(self.sandboxes), "started": self.started, **counters, "stock": stock}

    # -- images ----------------------------------------------------------------------------------
    def has_image(self, image: str) -> bool:
        from ..docker.client import get_client
        from ..docker.images import image_exists

        return image_exists(get_client(), image)

    def save_image(self, image: str) -> Outcome:
        """The image as a ``docker save`` tar (its bytes go to the object store, not through the driver)."""

        def save() -> bytes:
            from ..docker.client import get_client

            started = time.monotonic()
            data = b"".join(get_client().api.get_image(image, chunk_size=1 << 20))
            log.info("saved %s for another node: %.0f MB in %.1f s", image, len(data) / 1e6, time.monotonic() - started)
            return data

        return self._call(save)

    def load_image(self, saved: Outcome, image: str) -> Outcome:
        """``docker load`` the tar that :meth:`save_image` made on another node (its outcome, which Ray
        brings here from the object store)."""

        def load() -> str:
            from ..docker.client import get_client
            from ..docker.images import image_exists

            data = unwrap(saved)
            client = get_client()
            for _ in client.api.load_image(data):
                pass
            if not image_exists(client, image):
                raise ImageNotFoundError(f"loading {image} on this node did not produce it")
            return image

        return self._call(load)

    def recipe_base(self, image: str) -> Outcome:
        """The base image of ``image``'s content-tagged recipe when this node's code has one (a built-in
        library's image), else None."""

        def base() -> str | None:
            from ...tasks.builtin import libraries
            from ..docker.builtin_images import repo_image_tag
            from ..docker.images import base_image_tag

            return base_image_tag() if any(repo_image_tag(lib) == image for lib in libraries()) else None

        return self._call(base)

    def build_recipe_image(self, image: str) -> Outcome:
        """Build ``image`` here from its recipe (its base must be here already); returns its tag."""

        def build() -> str:
            from ...tasks.builtin import libraries
            from ..docker.builtin_images import ensure_images, repo_image_tag

            for library in libraries():
                if repo_image_tag(library) == image:
                    return ensure_images(pull_policy="never", only=[library])[library]
            raise ImageNotFoundError(f"no recipe on this node builds {image}")

        return self._call(build)

    # -- cleanup ---------------------------------------------------------------------------------
    def gc(self, all_runs: bool = False) -> int:
        """Remove this host's containers (or, with ``all_runs``, every container of the project on the
        node's daemon); returns how many."""
        from ..docker.cleanup import gc, sweep_orphans
        from ..docker.client import RUN_ID

        return gc() if all_runs else sweep_orphans() + gc(run_id=RUN_ID)

    def shutdown(self) -> None:
        """Close every sandbox, drain the warm pool and wait for the removals. Starts still in flight (one
        the driver made ahead, say) finish first, so that their sandboxes are closed too; later ones are
        refused."""
        with self._lock:
            self._closing = True
            self._idle.wait_for(lambda: self._starting == 0, timeout=600)
            sandboxes, self.sandboxes, self.tasks = list(self.sandboxes.values()), {}, {}
        for sandbox in sandboxes:
            try:
                sandbox.close()
            except Exception as error:  # closing must go on
                log.warning("closing a sandbox failed: %s", error)
        self.backend.close()
