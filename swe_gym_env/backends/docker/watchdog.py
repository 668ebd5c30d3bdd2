"""Remove a process's containers when it dies, however it dies: a small process that outlives it.

``atexit`` handlers and signal handlers cover an orderly exit, SIGINT, SIGTERM and SIGHUP; nothing in a
process runs after SIGKILL (or after Ray ends a node actor with its driver). So the first time a
process makes a container it also starts a watchdog (:func:`ensure_watchdog`): ``python -m
swe_gym_env.backends.docker.watchdog``, detached (in a session of its own, and not its child), holding the read end of a pipe whose
write end only the watched process holds. When that process ends, the pipe reads EOF at once; the
watchdog then removes every container labelled with the process's run id, pid and host (what an
orderly exit already removed is simply not there) and exits. It polls the pid as well, in case a
forked child keeps the pipe open.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

_lock = threading.Lock()
_started: dict[int, int] = {}  # pid of the watched process -> its end of the watchdog's pipe


def ensure_watchdog() -> None:
    """Start this process's watchdog unless it runs already (once per process; cheap after the first)."""
    pid = os.getpid()
    if pid in _started:
        return
    with _lock:
        if pid in _started:
            return
        from .client import HOSTNAME, RUN_ID

        read_end, write_end = os.pipe()
        command = [sys.executable, "-m", __name__, "--pid", str(pid), "--run", RUN_ID, "--host", HOSTNAME,
                   "--fd", str(read_end)]
        try:
            # A shell starts the watchdog in the background and exits: the watchdog is no child of this
            # process (Ray, for one, ends a worker's children with it) and sits in a session of its own.
            launcher = subprocess.Popen(
                ["sh", "-c", '"$@" &', "sh", *command],
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
            launcher.wait(30)
        except (OSError, subprocess.TimeoutExpired) as error:  # no watchdog: exit handlers and gc remain
            log.warning("could not start the container watchdog: %s", error)
            os.close(write_end)
            return
        finally:
            os.close(read_end)
        _started[pid] = write_end  # held open for this process's life: its closing is the signal


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = f"/proc/{pid}/stat"
    try:
        with open(stat) as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return True


def wait_for_exit(pid: int, fd: int) -> None:
    """Block until ``pid`` has ended: EOF on ``fd`` (its end of the pipe closed) or the pid is gone."""
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready and not os.read(fd, 4096):
            return
        if not _alive(pid):
            return


def remove_containers_of(run_id: str, pid: int, host: str) -> int:
    """Remove every container labelled with ``run_id``, ``pid`` and ``host``; returns how many."""
    import docker

    from .client import LABEL

    removed = 0
    for attempt in range(5):
        try:
            client = docker.from_env(timeout=60)
            filters = {"label": [f"{LABEL}.run={run_id}", f"{LABEL}.pid={pid}", f"{LABEL}.host={host}"]}
            for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
                try:
                    container.remove(force=True, v=True)
                    removed += 1
                except docker.errors.NotFound:
                    pass
            return removed
        except Exception as error:  # the daemon restarting: try again a few times
            log.warning("watchdog: removing containers failed (%s), attempt %d", error, attempt + 1)
            time.sleep(2.0 * (attempt + 1))
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    wait_for_exit(args.pid, args.fd)
    time.sleep(0.2)  # let an orderly exit finish its own removals first
    remove_containers_of(args.run, args.pid, args.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
