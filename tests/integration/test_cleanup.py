"""Nothing is left behind: not after close, SIGINT, SIGTERM or SIGHUP (even mid-grading), not after SIGKILL
(the process's watchdog removes its containers; without the watchdog, gc or the next run does)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.common import default_signals
from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, get_client

CHILD = """
import sys, time
from swe_gym_env.backends.docker.client import RUN_ID
from swe_gym_env.env import SWEEnv
envs = [SWEEnv(tasks="builtin") for _ in range(2)]
for seed, env in enumerate(envs):
    env.reset(seed=seed)
print("ready", RUN_ID, flush=True)
time.sleep(600)
"""


def containers_of(pid):
    return [c for c in project_containers(get_client()) if (c.labels or {}).get(f"{LABEL}.pid") == str(pid)]


def start_child():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    line = child.stdout.readline().split()
    assert line[:1] == ["ready"], line
    assert len(containers_of(child.pid)) >= 2  # the two episodes, and any warm-pool spares
    return child, line[1]


def test_close_removes_the_container(make_env):
    env = make_env()
    env.reset(seed=0)
    container_id = env.sandbox.id
    env.close()
    assert container_id not in {c.id for c in project_containers(get_client())}


def test_sigint_leaves_nothing():
    child, _ = start_child()
    child.send_signal(signal.SIGINT)
    child.wait(timeout=60)
    assert containers_of(child.pid) == []


def watchdog_of(pid):
    """The pid of the watchdog process that watches ``pid``."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"swe_gym_env.backends.docker.watchdog" in argv and str(pid).encode() in argv:
            return int(proc.name)
    return None


def wait_until_gone(pid, seconds):
    deadline = time.monotonic() + seconds
    while containers_of(pid) and time.monotonic() < deadline:
        time.sleep(0.25)
    return containers_of(pid)


def test_sigkill_leaves_nothing_once_the_watchdog_has_run():
    child, _ = start_child()
    assert watchdog_of(child.pid) is not None
    child.kill()
    child.wait(timeout=30)
    assert wait_until_gone(child.pid, 30) == []


def kill_watchdog(child):
    watchdog = watchdog_of(child.pid)
    assert watchdog is not None
    os.kill(watchdog, signal.SIGKILL)


def test_sigkill_then_gc_leaves_nothing():
    child, run_id = start_child()
    kill_watchdog(child)  # nothing in or beside the process cleans up now...
    child.kill()
    child.wait(timeout=30)
    left = len(containers_of(child.pid))
    assert left >= 2
    done = subprocess.run([sys.executable, "-m", "swe_gym_env.cli", "gc", "--run", run_id], capture_output=True, text=True)
    assert done.returncode == 0 and f"removed {left} container(s)" in done.stdout
    assert containers_of(child.pid) == []  # ...but gc can


def test_the_next_run_sweeps_what_a_killed_run_left():
    child, _ = start_child()
    kill_watchdog(child)
    child.kill()
    child.wait(timeout=30)
    assert len(containers_of(child.pid)) >= 2
    done = subprocess.run([sys.executable, "-m", "swe_gym_env.cli", "gc", "--orphans"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert containers_of(child.pid) == []
    next_run = subprocess.run(
        [sys.executable, "-c", "from swe_gym_env.env import SWEEnv; e = SWEEnv(tasks='builtin'); e.reset(seed=0); e.close()"],
        capture_output=True, text=True,
    )
    assert next_run.returncode == 0, next_run.stderr


UNTRACKED = """
import sys
from swe_gym_env.backends.docker.client import RUN_ID, get_client, labels_for
from swe_gym_env.env import SWEEnv
from swe_gym_env.backends.docker.images import base_image_tag
env = SWEEnv(tasks="builtin")
env.reset(seed=0)
# what an interrupt during create leaves: a container of this process that no sandbox object knows
get_client().containers.run(base_image_tag(), ["sleep", "600"], labels=labels_for("agent"), detach=True)
print("ready", RUN_ID, flush=True)
"""


def test_a_container_this_process_made_but_never_tracked_is_removed_at_exit():
    child = subprocess.Popen([sys.executable, "-c", UNTRACKED], stdout=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    line = child.stdout.readline().split()
    assert line[:1] == ["ready"], line
    assert child.wait(timeout=120) == 0
    assert containers_of(child.pid) == []


GRADING = """
import sys, threading
from swe_gym_env.backends.docker.client import RUN_ID
from swe_gym_env.env import SWEEnv
env = SWEEnv(tasks="builtin")
env.reset(options={"task_id": "swe-gym__textkit-1"})
# a patch that makes the package loop at import: the grading hangs until its bound
env.step({"name": "bash", "arguments": {"command": "echo 'while True: pass' >> textkit/__init__.py"}})
print("ready", RUN_ID, flush=True)
env.step({"name": "submit", "arguments": {}})
print("graded", flush=True)
"""


def grading_in(container):
    """Whether ``container`` is running an eval script now."""
    try:
        return "swe-gym-eval" in str(container.top().get("Processes"))
    except Exception:  # gone, or not running
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_in_the_middle_of_a_grading_leaves_nothing(sig):
    """SIGTERM (timeout, Kubernetes, Slurm, systemd) and SIGHUP stop the process like SIGINT: the grading in
    flight is abandoned and every container is removed before it exits - by the process itself: its
    watchdog is killed first, so only the exit path can have removed them."""
    child = subprocess.Popen([sys.executable, "-c", GRADING], stdout=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    assert child.stdout.readline().split()[:1] == ["ready"]
    deadline = time.monotonic() + 120
    while not any(grading_in(c) for c in containers_of(child.pid)):
        assert time.monotonic() < deadline, "no grading started"
        time.sleep(0.5)
    kill_watchdog(child)
    time.sleep(1.0)  # the eval script is running
    child.send_signal(sig)
    assert child.wait(timeout=120) == 128 + sig
    assert containers_of(child.pid) == []
