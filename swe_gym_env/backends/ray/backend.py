"""The Ray backend: sandboxes on the nodes of a Ray cluster, each node's driven by its own host actor.

``RayBackend`` joins the cluster this process is connected to (``ray.init()`` already called), or the one
at ``address`` (``ray_address=``; ``RAY_ADDRESS`` also works), and pins one :class:`~.node.NodeHost`
actor to every alive node (or every node that offers ``node_resource``). A sandbox is a
:class:`RaySandbox` on the driver - a node, a host actor and an id - whose every operation is one actor
call; the container, its warm pool and its reaper stay on the node.

Placement: an agent sandbox goes where its task was prepared ahead (a ``prefetch`` hint, or the
upcoming tasks a reset announced), else to the node with the fewest open sandboxes, so a vector env
spreads across nodes. A grading sandbox goes to the node of the episode it grades, whose warm pool
prepared it when the episode started. The reset an owning env predicts (its next random draw, a task id
it repeats) is started ahead, right after the reset before it, on the node that prepared it, so that
reset only collects a finished start instead of waiting on a call; a wrong guess goes back to that
node's warm pool untouched. Images reach a node that lacks one without a registry
(:meth:`RayBackend.ensure_image`): built there from the same content-tagged recipe, or streamed from a
node that has it (``docker save`` / ``load`` through Ray's object store, node to node).

Faults: a call to a host that died (the node, or the actor) raises :class:`SandboxLostError`, so the
env truncates that episode with ``info["failure"]``; the host is dropped, and the next start lands on
a live node (hosts are created for nodes that joined or came back). Host actors are not detached: Ray
ends them with the driver, and each node's watchdog then removes their containers.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, ImageNotFoundError, InfraError, SandboxLostError
from ..base import WORKDIR, ExecResult, Limits, unasked
from .node import NodeHost, unwrap

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0  # how often the node list is read again
CALL_MARGIN = 90.0  # seconds a call may take beyond its command's timeout before the host counts as lost
IMAGE_SECONDS = 1800.0  # an image transfer or build


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("backend='ray' needs Ray: pip install 'swe-gym-env[ray]'") from None
    return ray


@dataclass
class Host:
    """The driver's view of one node: its actor and what is known about it."""

    node_id: str
    actor: Any
    info: dict[str, Any] = field(default_factory=dict)
    open: int = 0  # sandboxes open on it now
    reserved: int = 0  # starts announced by prefetch hints
    alive: bool = True
    images: set[str] = field(default_factory=set)


class RaySandbox:
    """A sandbox on a node of the cluster, operated through the node's host actor."""

    def __init__(self, backend: RayBackend, host: Host, sandbox_id: str, base_commit: str, task_id: str) -> None:
        self._backend = backend
        self.host = host
        self.sandbox_id = sandbox_id
        self._base_commit = base_commit
        self.task_id = task_id
        self.origin: str | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def node_id(self) -> str:
        return self.host.node_id

    @property
    def base_commit(self) -> str:
        return self._base_commit

    @property
    def limits(self) -> Limits:
        return self._backend.limits

    def _call(self, method: str, *args: Any, timeout: float) -> Any:
        if self._closed:
            raise SandboxLostError("the sandbox is closed")
        return unwrap(self._backend.call(self.host, method, self.sandbox_id, *args, timeout=timeout))

    def exec(
        self,
        command: str,
        *,
        timeout: float | None = None,
        workdir: str = WORKDIR,
        env: dict[str, str] | None = None,
        max_output: int | None = None,
    ) -> ExecResult:
        timeout = float(timeout or self.limits.command_timeout)
        options = {"timeout": timeout, "workdir": workdir, "env": env, "max_output": max_output}
        return self._call("exec", command, options, timeout=timeout + CALL_MARGIN)

    def read_file(self, path: str) -> bytes:
        return self._call("read_file", path, timeout=CALL_MARGIN)

    def write_file(self, path: str, data: bytes) -> None:
        self._call("write_file", path, data, timeout=CALL_MARGIN)

    def diff(self) -> str:
        return self._call("diff", timeout=120 + CALL_MARGIN)

    @property
    def alive(self) -> bool:
        if self._closed or not self.host.alive:
            return False
        try:
            return bool(self._backend.call(self.host, "alive", self.sandbox_id, timeout=30))
        except InfraError:
            return False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._backend.release(self)


class RayBackend:
    """Sandboxes on a Ray cluster's nodes; see the module docstring.

    ``limits``, ``network``, ``pull_policy``, ``warm_pool`` (per node), ``pool_memory`` (per node) and
    ``exec_mode`` configure each node's Docker backend. ``node_resource`` keeps to nodes that offer that
    custom resource (e.g. nodes started with ``--resources '{"docker": 1}'``), ``node_ids`` to those nodes;
    by default every alive node runs sandboxes.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        limits: Limits = Limits(),
        network: str = "internal",
        pull_policy: str = "missing",
        warm_pool: int = 3,
        pool_memory: str | int | None = "4g",
        exec_mode: str = "session",
        node_resource: str | None = None,
        node_ids: Sequence[str] | None = None,
    ) -> None:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        self.limits = limits
        self.pull_policy = pull_policy
        self.node_resource = node_resource
        self.node_ids = set(node_ids) if node_ids is not None else None
        self.options = dict(limits=limits, network=network, pull_policy=pull_policy, warm_pool=warm_pool,
                            pool_memory=pool_memory, exec_mode=exec_mode)
        self.predict_upcoming: Any = None  # set by an env that owns this backend (see base.unasked)
        self._predicted: list[Any] = []  # the tasks last predicted (already asked of a node)
        self._ahead: tuple[str, Host, Any] | None = None  # a start made ahead: task id, host, outcome ref
        self._hosts: dict[str, Host] = {}
        self._lock = threading.RLock()
        self._refreshed = 0.0
        self._prepared: dict[str, collections.deque[str]] = {}  # task id -> nodes holding a prepared one
        self._graded_on: dict[str, str] = {}  # task id -> node of its latest agent sandbox
        self._image_locks: dict[tuple[str, str], threading.Lock] = collections.defaultdict(threading.Lock)
        self._closed = False
        self.lost = 0  # host failures seen
        self.refresh(force=True)
        if not self._hosts:
            raise InfraError("the Ray cluster has no alive node to run sandboxes on"
                             + (f" (none offers the resource {node_resource!r})" if node_resource else "")
                             + (f" (none of the nodes {sorted(self.node_ids)})" if self.node_ids is not None else ""))

    # -- the nodes -------------------------------------------------------------------------------
    def _eligible_nodes(self) -> list[str]:
        nodes = []
        for node in _ray().nodes():
            if not node.get("Alive"):
                continue
            if self.node_resource and not node.get("Resources", {}).get(self.node_resource):
                continue
            if self.node_ids is not None and node["NodeID"] not in self.node_ids:
                continue
            nodes.append(node["NodeID"])
        return nodes

    def refresh(self, force: bool = False) -> None:
        """Read the node list again: a host for every new (or returned) node, dead ones dropped."""
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        with self._lock:
            if self._closed or (not force and time.monotonic() - self._refreshed < REFRESH_SECONDS):
                return
            self._refreshed = time.monotonic()
            nodes = self._eligible_nodes()
            for node_id in list(self._hosts):
                if node_id not in nodes or not self._hosts[node_id].alive:
                    self._drop(self._hosts[node_id])
            created = []
            for node_id in nodes:
                if node_id in self._hosts:
                    continue
                actor = ray.remote(NodeHost).options(
                    num_cpus=0,
                    max_concurrency=512,  # every sub-env's calls run at once, each on a thread of the actor
                    max_restarts=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
                ).remote(self.options)
                created.append(Host(node_id, actor))
        for host in created:
            try:
                host.info = ray.get(host.actor.describe.remote(), timeout=120)
            except Exception as error:  # a node that cannot run its host is left out this time
                log.warning("no sandbox host on node %s: %s", host.node_id[:12], error)
                _kill(host.actor)
                continue
            with self._lock:
                self._hosts[host.node_id] = host
            log.info("sandbox host on node %s (%s, pid %s, %s)", host.node_id[:12], host.info.get("hostname"),
                     host.info.get("pid"), host.info.get("docker_host"))

    def _drop(self, host: Host) -> None:
        host.alive = False
        if self._hosts.get(host.node_id) is host:
            del self._hosts[host.node_id]
            log.warning("node %s is gone: its sandboxes are lost", host.node_id[:12])

    def hosts(self) -> list[Host]:
        """The live hosts (the node list is read again every few seconds)."""
        self.refresh()
        with self._lock:
            hosts = [host for host in self._hosts.values() if host.alive]
        if not hosts:
            self.refresh(force=True)
            with self._lock:
                hosts = [host for host in self._hosts.values() if host.alive]
        if not hosts:
            raise SandboxLostError("no node of the Ray cluster is alive to run a sandbox")
        return hosts

    def call(self, host: Host, method: str, *args: Any, timeout: float) -> Any:
        """One call to ``host``'s actor; a dead or silent host raises :class:`SandboxLostError`."""
        if not host.alive:
            raise SandboxLostError(f"node {host.node_id[:12]} is gone")
        return self.result(host, method, getattr(host.actor, method).remote(*args), timeout=timeout)

    def result(self, host: Host, method: str, ref: Any, *, timeout: float) -> Any:
        """The result of a call to ``host``'s actor (``ref``); a dead or silent host raises
        :class:`SandboxLostError`."""
        ray = _ray()
        try:
            return ray.get(ref, timeout=timeout)
        except ray.exceptions.GetTimeoutError as error:
            raise SandboxLostError(f"node {host.node_id[:12]} did not answer {method} within {timeout:.0f} s") from error
        except (ray.exceptions.RayActorError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as error:
            with self._lock:
                if host.alive:
                    self.lost += 1
                self._drop(host)
            raise SandboxLostError(f"the sandbox host on node {host.node_id[:12]} died: {type(error).__name__}") from error

    # -- sandboxes -------------------------------------------------------------------------------
    def _place(self, task: Any, role: str) -> Host:
        hosts = {host.node_id: host for host in self.hosts()}
        with self._lock:
            if role == "grader":
                preferred = [self._graded_on.get(task.instance_id, "")]
            else:
                preferred = list(self._prepared.get(task.instance_id, ()))
            host = None
            for node_id in preferred:
                if node_id in hosts:
                    host = hosts[node_id]
                    if role != "grader":
                        self._prepared[task.instance_id].remove(node_id)
                        host.reserved = max(0, host.reserved - 1)
                    break
            if host is None:
                host = min(hosts.values(), key=lambda h: (h.open + h.reserved, h.node_id))
            host.open += 1  # counted from now, so that concurrent starts spread
            return host

    def start(self, task: Any, *, role: str = "agent") -> RaySandbox:
        """A fresh sandbox for ``task`` on a node of the cluster (see the module docstring)."""
        if not task.image:
            raise ImageNotFoundError(f"task {task.instance_id!r} names no image")
        started = self._take_ahead(task) if role == "agent" else None
        if started is None:
            host = self._place(task, role)
            try:
                self.ensure_image(host, task.image)
                started = host, unwrap(self.call(host, "start", task, role, (), timeout=600 + CALL_MARGIN))
            except BaseException:
                self._unplace(host)
                raise
        host, (sandbox_id, base, origin) = started
        sandbox = RaySandbox(self, host, sandbox_id, base, task.instance_id)
        sandbox.origin = origin  # how the node served it, for info["warm"]
        if role == "agent":
            with self._lock:
                self._graded_on[task.instance_id] = host.node_id
            self._start_ahead(task)
        return sandbox

    def _take_ahead(self, task: Any) -> tuple[Host, tuple[str, str, str | None]] | None:
        """The start made ahead for ``task``, once done (usually long since); a start made ahead for another
        task is given back to its node's pool. None when there is none to take, or it failed."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        task_id, host, ref = ahead
        if task_id != task.instance_id:  # back to the node's pool, once that start is done (Ray waits)
            self._unplace(host, "give_back", ref)
            return None
        try:
            return host, unwrap(self.result(host, "start", ref, timeout=600 + CALL_MARGIN))
        except BaseException as error:
            self._unplace(host)
            if not isinstance(error, InfraError):  # about the task itself: starting anew fails the same way
                raise
            log.info("the start made ahead for %s failed (%s): starting it now", task_id, error)
            return None

    def _start_ahead(self, started: Any) -> None:
        """Start the sandbox of the next reset the owning env predicts, now, on the node where it was
        prepared: that reset then only collects it - no call to wait for. The tasks predicted beyond it,
        not asked for yet, are prepared there by the node's warm pool. A wrong guess gives the sandbox back
        to that pool, untouched."""
        if self.predict_upcoming is None or self._closed:
            return
        upcoming = list(self.predict_upcoming())
        with self._lock:
            fresh = unasked(self._predicted, started, upcoming)
            self._predicted = upcoming
        if not upcoming:
            return
        later = fresh[1:] if len(fresh) == len(upcoming) else fresh  # the first is started now
        host = self._place(upcoming[0], "agent")
        try:
            self.ensure_image(host, upcoming[0].image)
            for task in later:
                self._reserve(host, task)
            ref = host.actor.start.remote(upcoming[0], "agent", later)
        except Exception as error:  # a guess only: the reset starts its sandbox itself
            log.debug("starting %s ahead on %s failed: %s", upcoming[0].instance_id, host.node_id[:12], error)
            self._unplace(host)
            return
        with self._lock:
            stale, self._ahead = self._ahead, (upcoming[0].instance_id, host, ref)
        if stale is not None:
            self._unplace(stale[1], "give_back", stale[2])

    def release(self, sandbox: RaySandbox) -> None:
        """Close ``sandbox`` on its node (without waiting: the node removes it in the background)."""
        self._unplace(sandbox.host, "close", sandbox.sandbox_id)

    def _unplace(self, host: Host, method: str | None = None, *args: Any) -> None:
        """One sandbox fewer counted on ``host`` (undoing :meth:`_place`); then, when ``method`` is given,
        that call to the host (``close``, ``give_back``) without waiting for it."""
        with self._lock:
            host.open = max(0, host.open - 1)
        if method is not None and host.alive:
            try:
                getattr(host.actor, method).remote(*args)
            except Exception as error:  # the host is gone: its watchdog removes the container
                log.debug("%s on %s: %s", method, host.node_id[:12], error)

    def _reserve(self, host: Host, task: Any) -> None:
        with self._lock:
            self._prepared.setdefault(task.instance_id, collections.deque()).append(host.node_id)
            host.reserved += 1
            if len(self._prepared[task.instance_id]) > 64:  # stale hints first out
                stale = self._prepared[task.instance_id].popleft()
                if stale in self._hosts:
                    self._hosts[stale].reserved = max(0, self._hosts[stale].reserved - 1)

    def prefetch(self, task: Any, count: int = 1) -> None:
        """Hint that ``task`` will be started soon: a node's warm pool prepares it, and the start goes there."""
        if self._closed:
            return
        for _ in range(count):
            try:
                hosts = self.hosts()
            except InfraError:
                return
            with self._lock:
                host = min(hosts, key=lambda h: (h.open + h.reserved, h.node_id))
            self._reserve(host, task)
            try:
                self.ensure_image(host, task.image)
                host.actor.prefetch.remote(task, 1)
            except Exception as error:  # a hint only
                log.debug("prefetch of %s on %s failed: %s", task.instance_id, host.node_id[:12], error)

    # -- images ----------------------------------------------------------------------------------
    def ensure_image(self, host: Host, image: str) -> None:
        """Make sure ``host``'s daemon has ``image``: built there from its content-tagged recipe (a built-in
        library's image, on its base - itself streamed when missing), or streamed from a node that has it;
        when neither works, the node's pull policy decides at start."""
        if image in host.images:
            return
        with self._image_locks[(host.node_id, image)]:
            if image in host.images:
                return
            if not self.call(host, "has_image", image, timeout=CALL_MARGIN):
                self._distribute(host, image)
            host.images.add(image)

    def _distribute(self, host: Host, image: str) -> None:
        started = time.monotonic()
        base = unwrap(self.call(host, "recipe_base", image, timeout=CALL_MARGIN))
        if base is not None:  # a recipe builds it in a second once its base is there
            self.ensure_image(host, base)
            unwrap(self.call(host, "build_recipe_image", image, timeout=IMAGE_SECONDS))
            log.info("image %s built on node %s from its recipe in %.1f s", image, host.node_id[:12],
                     time.monotonic() - started)
            return
        for donor in [other for other in self.hosts() if other is not host]:
            try:
                if not self.call(donor, "has_image", image, timeout=CALL_MARGIN):
                    continue
                saved = donor.actor.save_image.remote(image)  # stays in the object store: node to node
                unwrap(self.call(host, "load_image", saved, image, timeout=IMAGE_SECONDS))
            except InfraError as error:
                log.warning("streaming %s from node %s failed: %s", image, donor.node_id[:12], error)
                continue
            log.info("image %s streamed to node %s from node %s in %.1f s", image, host.node_id[:12],
                     donor.node_id[:12], time.monotonic() - started)
            return
        log.info("no node has %s and no recipe builds it: node %s applies its pull policy (%s)", image,
                 host.node_id[:12], self.pull_policy)

    # -- the rest --------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Pool counters summed over the nodes, and each node's own."""
        per_node: dict[str, dict[str, Any]] = {}
        for host in self.hosts():
            try:
                per_node[host.node_id] = self.call(host, "stats", timeout=CALL_MARGIN)
            except InfraError:
                continue
        total: dict[str, Any] = collections.Counter()
        for counters in per_node.values():
            total.update({k: v for k, v in counters.items() if isinstance(v, (int, float))})
        return {**total, "nodes": per_node, "lost": self.lost}

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every node's warm pool has made what was asked of it (benchmarks and tests use it);
        False when ``timeout`` ran out first on some node."""
        ray = _ray()
        refs = [host.actor.wait_idle.remote(timeout) for host in self.hosts()]
        try:
            return all(ray.get(refs, timeout=timeout + CALL_MARGIN))
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
            return False

    def close(self, timeout: float = 120.0) -> None:
        """Close every node's sandboxes and warm pool, then end the host actors; safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            hosts, self._hosts = list(self._hosts.values()), {}
            self._ahead = None  # its node closes it: shutdown waits for starts in flight
        ray = _ray()
        pending = {host.actor.shutdown.remote(): host for host in hosts}
        try:
            ray.wait(list(pending), num_returns=len(pending), timeout=timeout)
        except Exception as error:  # a dead node: its watchdog removes what is left
            log.warning("closing the sandbox hosts: %s", error)
        for host in hosts:
            _kill(host.actor)


def _kill(actor: Any) -> None:
    try:
        _ray().kill(actor, no_restart=True)
    except Exception:  # already gone
        pass


def gc_cluster(address: str | None = None, all_runs: bool = True, node_resource: str | None = None) -> dict[str, int]:
    """``swe-gym-env gc`` on every node of a Ray cluster: each node removes the project's containers on
    its own daemon (every run's with ``all_runs``, else those of dead processes). Returns node -> count."""
    ray = _ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not ray.is_initialized():
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)

    def sweep(everything: bool) -> int:
        from ..docker.cleanup import gc, remove_orphans

        return gc() if everything else remove_orphans()

    remote = ray.remote(num_cpus=0)(sweep)
    refs = {}
    for node in ray.nodes():
        if node.get("Alive") and (not node_resource or node.get("Resources", {}).get(node_resource)):
            strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
            refs[node["NodeID"]] = remote.options(scheduling_strategy=strategy).remote(all_runs)
    return {node_id: ray.get(ref, timeout=300) for node_id, ref in refs.items()}

