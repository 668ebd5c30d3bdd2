"""The bottom of the Docker backend: the client, the labels every container carries, the retry policy.

One docker client per process (:func:`get_client`), its connection pool sized to the threads that use
it. Every container gets labels that name the project, the run, the owning process and host, so that
``swe-gym-env gc`` (and every new run, for the leftovers of dead processes) can find and remove it.
Retries (tenacity, :data:`daemon_retry`) wrap only idempotent daemon calls and only transient errors;
daemon errors become the package's typed :class:`InfraError` s here (:func:`daemon_error`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import docker
import docker.errors
import requests.adapters
import requests.exceptions
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from ...errors import DaemonError, InfraError, SandboxLostError

log = logging.getLogger(__name__)

LABEL = "swe-gym-env"
RUN_ID = uuid.uuid4().hex[:12]
HOSTNAME = socket.gethostname()
CLIENT_TIMEOUT = 4 * 3600  # read timeout of daemon calls; long evals stream nothing until they end
DOCKER_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)

T = TypeVar("T")
_client_lock = threading.Lock()
_clients: dict[int, docker.DockerClient] = {}


def get_client(pool_size: int = 16) -> docker.DockerClient:
    """The process's docker client (one per process), with a connection pool of at least ``pool_size``.

    Size the pool to the number of threads that talk to the daemon at once (env threads, warm-pool
    workers, the reaper): a thread that finds the pool empty opens a throwaway connection. A later call
    asking for more connections grows the pool of the same client.
    """
    pid = os.getpid()
    pool_size = max(pool_size, 10)
    with _client_lock:
        client = _clients.get(pid)
        if client is not None:
            if getattr(client, "_swe_gym_pool", 0) < pool_size:
                _grow_pool(client, pool_size)
            return client
        try:
            new = docker.from_env(timeout=CLIENT_TIMEOUT, max_pool_size=pool_size)
            daemon_retry(new.ping)()
        except DOCKER_ERRORS as error:
            raise DaemonError(
                "cannot reach the Docker daemon: start it (`swe-gym-env engine` as root installs and starts one) "
                f"or point DOCKER_HOST at a running engine ({error})"
            ) from error
        new._swe_gym_pool = pool_size  # type: ignore[attr-defined]
        _clients[pid] = new
        return new


def _grow_pool(client: docker.DockerClient, size: int) -> None:
    """Let ``client`` keep ``size`` connections per host (new pools get the size; idle ones are dropped)."""
    api = client.api
    candidates = [getattr(api, "_custom_adapter", None), *api.adapters.values()]
    adapters = {id(a): a for a in candidates if a is not None}
    for adapter in adapters.values():
        if hasattr(adapter, "max_pool_size") and hasattr(adapter, "pools"):  # unix socket, ssh, npipe
            adapter.max_pool_size = size
            adapter.pools.clear()
        elif isinstance(adapter, requests.adapters.HTTPAdapter):  # tcp / tls
            adapter.init_poolmanager(adapter._pool_connections, size, block=adapter._pool_block)
    client._swe_gym_pool = size  # type: ignore[attr-defined]


def is_transient(error: BaseException) -> bool:
    """Errors worth retrying on an idempotent daemon call: lost connections and daemon-side 5xx."""
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(error, docker.errors.APIError) and not isinstance(error, docker.errors.NotFound):
        status = error.status_code or 0
        return status >= 500 and "No such" not in str(error)
    return False


daemon_retry = retry(
    retry=retry_if_exception(is_transient),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.25, max=4),
    reraise=True,
)


def labels_for(role: str, task_id: str = "") -> dict[str, str]:
    """The labels of a container this process makes (``gc`` and the orphan sweep select on them)."""
    return {
        LABEL: "1",
        f"{LABEL}.run": RUN_ID,
        f"{LABEL}.pid": str(os.getpid()),
        f"{LABEL}.host": HOSTNAME,
        f"{LABEL}.role": role,
        f"{LABEL}.task": task_id[:200],
    }


def with_deadline(fn: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``fn`` in a thread and give up after ``seconds`` (the host-side guard of every exec)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # handed to the caller below
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True, name="swe-gym-exec")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise SandboxLostError(f"{what} did not return within {seconds:.0f} s; the container is not responding")
    if "error" in box:
        raise box["error"]
    return box["value"]


def daemon_error(error: BaseException, what: str) -> InfraError:
    """The typed error for a daemon call that failed while doing ``what``."""
    if isinstance(error, docker.errors.NotFound):
        return SandboxLostError(f"{what}: the container is gone ({error})")
    if isinstance(error, docker.errors.APIError) and error.status_code == 409 and "not running" in str(error):
        return SandboxLostError(f"{what}: the container stopped ({error})")
    return DaemonError(f"{what}: {type(error).__name__}: {error}")


def remove_container(container: Any, *, quiet: bool = False) -> bool:
    """Force-remove a container; a container that is already gone is fine. False if it could not be."""

    @daemon_retry
    def attempt() -> None:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code == 409 and "already in progress" in str(error):
                return
            raise

    try:
        attempt()
    except DOCKER_ERRORS as error:
        if not quiet:
            log.warning("could not remove container %s: %s (run `swe-gym-env gc`)", getattr(container, "id", "?"), error)
        return False
    return True
