"""Leave nothing behind: remove the project's containers, now, at exit, and after a crash.

Every container carries the labels of :func:`.client.labels_for`. ``gc`` removes them all
(or those of one run); ``sweep_orphans`` removes the containers whose owning process on this host is
dead - every process runs it once before its first container, so a run that was killed with
SIGKILL is cleaned up by the next one (and, at once, by its watchdog: :mod:`.watchdog`). Live
sandboxes are also closed at interpreter exit, and SIGTERM and SIGHUP lead there the way SIGINT does
(:func:`exit_on_signals`).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import Any

import docker.errors

from .client import DOCKER_ERRORS, HOSTNAME, LABEL, RUN_ID, get_client, remove_container
from .network import NETWORK_NAME

log = logging.getLogger(__name__)

_live: weakref.WeakSet[Any] = weakref.WeakSet()
_swept = False
_sweep_lock = threading.Lock()


def track(sandbox: Any) -> None:
    """Close ``sandbox`` at interpreter exit if nobody closed it before."""
    _live.add(sandbox)


@atexit.register
def close_live() -> None:
    for sandbox in list(_live):
        try:
            sandbox.close()
        except Exception:  # exiting: best effort
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def project_containers(client: Any, run_id: str | None = None) -> list[Any]:
    filters = {"label": [LABEL] + ([f"{LABEL}.run={run_id}"] if run_id else [])}
    return client.containers.list(all=True, filters=filters, ignore_removed=True)  # removed meanwhile: skip


def gc(run_id: str | None = None, client: Any = None, remove_network: bool = True) -> int:
    """Remove every container this project made (or only ``run_id``'s); returns how many."""
    client = client or get_client()
    containers = project_containers(client, run_id)
    for container in containers:
        remove_container(container)
    if remove_network and run_id is None:
        for network in client.networks.list(names=[NETWORK_NAME]):
            try:
                network.remove()
            except docker.errors.APIError as error:  # still in use by another run
                log.info("network %s kept: %s", NETWORK_NAME, error)
    return len(containers)


def sweep_own(client: Any = None) -> int:
    """At exit, after every tracked sandbox is closed: remove what this process made but never tracked.

    An interrupt (SIGINT) that lands while the client waits on ``create``/``start`` abandons the
    request on the client's side only; the daemon finishes it, and the container has no owner left.
    Nothing is asked of the daemon when this process never made a container.
    """
    if not _swept:
        return 0
    removed = 0
    try:
        client = client or get_client()
        filters = {"label": [f"{LABEL}.run={RUN_ID}", f"{LABEL}.pid={os.getpid()}", f"{LABEL}.host={HOSTNAME}"]}
        for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
            remove_container(container, quiet=True)
            removed += 1
    except DOCKER_ERRORS as error:
        log.warning("removing this process's untracked containers failed: %s", error)
    if removed:
        log.info("removed %d container(s) whose creation was interrupted", removed)
    return removed


def sweep_orphans(client: Any = None) -> int:
    """Remove containers made on this host by processes that no longer exist; once per process."""
    global _swept
    with _sweep_lock:
        if _swept:
            return 0
        _swept = True
    return remove_orphans(client)


def remove_orphans(client: Any = None) -> int:
    """Remove the containers on this daemon made on this host by processes that no longer exist."""
    client = client or get_client()
    removed = 0
    try:
        for container in project_containers(client):
            labels = container.labels or {}
            if labels.get(f"{LABEL}.host") != HOSTNAME:
                continue
            pid = int(labels.get(f"{LABEL}.pid", "0") or 0)
            if pid and pid != os.getpid() and not _pid_alive(pid):
                remove_container(container)
                removed += 1
    except DOCKER_ERRORS as error:
        log.warning("sweeping leftover containers failed: %s", error)
    if removed:
        log.info("removed %d containers left behind by dead processes", removed)
    return removed


EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_signals_done = False


def _exit_on_signal(signum: int, frame: Any) -> None:
    log.warning("%s: abandoning gradings and commands in flight, removing this process's containers",
                signal.Signals(signum).name)
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """Make SIGTERM and SIGHUP (what ``timeout``, Kubernetes, Slurm and systemd send) end this process the way
    SIGINT does - an exception in the main thread, so exit handlers run and remove every container - where
    the process has left them at their default action. Called from the main thread; elsewhere a no-op."""
    global _signals_done
    if _signals_done or threading.current_thread() is not threading.main_thread():
        return
    _signals_done = True
    for signum in EXIT_SIGNALS:
        try:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _exit_on_signal)
        except (ValueError, OSError) as error:  # an embedded interpreter: the watchdog still cleans up
            log.debug("cannot handle %s: %s", signum, error)
