"""Nothing is left behind: not after close, not after SIGINT, not after SIGKILL once gc (or the next run) sweeps."""

import signal
import subprocess
import sys

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
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
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


def test_sigkill_then_gc_leaves_nothing():
    child, run_id = start_child()
    child.kill()
    child.wait(timeout=30)
    left = len(containers_of(child.pid))
    assert left >= 2  # a killed process cannot clean up...
    done = subprocess.run([sys.executable, "-m", "swe_gym_env.cli", "gc", "--run", run_id], capture_output=True, text=True)
    assert done.returncode == 0 and f"removed {left} container(s)" in done.stdout
    assert containers_of(child.pid) == []  # ...but gc can


def test_the_next_run_sweeps_what_a_killed_run_left():
    child, _ = start_child()
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
    child = subprocess.Popen([sys.executable, "-c", UNTRACKED], stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline().split()
    assert line[:1] == ["ready"], line
    assert child.wait(timeout=120) == 0
    assert containers_of(child.pid) == []
