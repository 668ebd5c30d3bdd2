"""Soak and faults: many episodes on concurrent envs, normal/malformed/hostile actions, a daemon restart,
runs interrupted with SIGINT and killed with SIGKILL. Reports what broke and what was left behind.

    .venv/bin/python -m benchmarks.soak                      # 200 episodes, 8 envs, no daemon restart
    .venv/bin/python -m benchmarks.soak --daemon private     # restart a private dockerd mid-run (root)
    .venv/bin/python -m benchmarks.soak --daemon main        # restart the host's dockerd mid-run (root)

Daemon restart modes (``--daemon``):

- ``none``: no restart.
- ``private`` (needs root and ``dockerd`` on PATH): the soak starts its own Docker engine (own socket,
  data root, exec root and containerd, no bridge, no iptables), loads the task images into it, runs
  against it with ``network="none"``, restarts it once mid-run (SIGTERM, then a new ``dockerd`` with
  the same arguments) and removes it at the end. Other users of the host's engine are not disturbed,
  which is why this is the mode to use on a shared machine.
- ``main`` (needs root, and a ``dockerd`` that was started by hand - not by systemd): the host's
  daemon is stopped with SIGTERM and started again with the same command line, its output going to
  ``/tmp/dockerd.log``. Every container on the host dies with it (no live-restore), other users' too.

A restart stops every container (there is no live-restore): the episodes running then end truncated
with a typed ``info["failure"]``; the env must go on once the daemon is back, and nothing may be left.

The report (``benchmarks/results/soak.json`` and stdout): episodes completed, rewards, infrastructure
failures by type and phase (from ``info["failure"]``), sub-env bugs caught by the vector env
(``env_error``, should be 0), Python exceptions escaping the env (must be 0), and containers left
behind after close and after ``gc`` (must be 0), for the main run and for the SIGINT and SIGKILL runs.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_signals
from swe_gym_env.backends.docker.engine import PrivateDaemon, stop_process, wait_for_daemon

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("soak")



# -- the scripted agent ----------------------------------------------------------------------------
def bash(command: str) -> dict[str, Any]:
    return {"name": "bash", "arguments": {"command": command}}


def editor(**arguments: Any) -> dict[str, Any]:
    return {"name": "str_replace_editor", "arguments": arguments}


SUBMIT = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'
NORMAL = [
    bash("ls"),
    bash("git status --short"),
    bash("grep -rn 'def ' --include=*.py . | head -5"),
    bash("python3 -c 'print(6 * 7)'"),
    bash("cd tests 2>/dev/null; pwd"),
    bash("export SOAK=$RANDOM; echo $SOAK"),
    "```bash\nls -la | head -5\n```",
    "<function=bash><parameter=command>echo xml form</parameter></function>",
    editor(command="view", path="/testbed"),
    editor(command="create", path="/testbed/soak_notes.txt", file_text="notes\n"),
]
MALFORMED = [
    "I think I should look at the code first.",
    '<tool_call>{"name": "bash", "arguments": {</tool_call>',
    {"name": "teleport", "arguments": {}},
    {"name": "bash", "arguments": {}},
    {"name": "bash", "arguments": {"command": 42}},
    editor(command="view", path="/no/such/file"),
    editor(command="str_replace", path="/testbed/nope.py", old_str="a", new_str="b"),
    '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call><tool_call>{"name": "submit"}</tool_call>',
    12345,
    "",
]
HOSTILE = [
    bash("sleep 1000"),
    bash("yes"),
    bash(":(){ :|:& };:"),
    bash("exit 7"),
    bash("sleep 1000 & echo holding stdout"),
    bash("kill -9 $(pgrep -o -f 'bash --noprofile --norc')"),  # the session shell itself
    bash("head -c 300000000 /dev/zero > /tmp/big; ls -la /tmp/big"),
    bash("python3 -c 'b = bytearray(3 << 30)'"),
    bash("cd / && export PATH=/nowhere && ls"),
    bash("rm -rf /testbed/.git"),
    bash("kill -9 -1"),  # everything in the container: the sandbox is lost
    bash("printf '\\xff\\xfe\\x00 binary'"),
]


def plan_episode(rng: random.Random, task: Any, max_steps: int) -> list[Any]:
    """A mix of normal, malformed and hostile actions; usually ending with submit (sometimes with a fix)."""
    actions: list[Any] = []
    for _ in range(rng.randint(1, max_steps - 1)):
        roll = rng.random()
        pool = NORMAL if roll < 0.55 else MALFORMED if roll < 0.8 else HOSTILE
        actions.append(rng.choice(pool))
    if rng.random() < 0.3:  # a real fix, written with the editor and applied with git
        actions += [editor(command="create", path="/tmp/fix.patch", file_text=task.patch), bash("git apply /tmp/fix.patch")]
    if rng.random() < 0.8:
        actions.append(SUBMIT)
    return actions


# -- the soak --------------------------------------------------------------------------------------
@dataclass
class SoakReport:
    episodes: int = 0  # ended (terminated or truncated)
    clean_episodes: int = 0  # ended without an infrastructure failure
    steps: int = 0
    resolved: int = 0
    submitted: int = 0
    truncated: int = 0
    infra_failures: dict[str, int] = field(default_factory=dict)  # "type/phase" -> count
    env_errors: int = 0  # sub-env bugs reported by the vector env
    escaped_exceptions: int = 0  # exceptions out of reset/step/close: must be 0
    escaped: list[str] = field(default_factory=list)
    daemon_restarts: int = 0
    restart_seconds: float = 0.0
    wall_seconds: float = 0.0
    left_after_close: int = -1
    left_after_gc: int = -1
    pool: dict[str, int] = field(default_factory=dict)


def run_soak(
    episodes: int,
    num_envs: int,
    *,
    seed: int = 0,
    max_steps: int = 8,
    command_timeout: float = 5.0,
    network: str = "internal",
    fault: Any = None,
    fault_at: float = 0.4,
    forever: bool = False,
    on_ready: Any = None,
) -> SoakReport:
    """Run until ``episodes`` episodes ended without an infrastructure failure, on ``num_envs`` envs
    (Disabled autoreset, episodic), then close and count what is left.

    ``fault()`` is called on a background thread once ``fault_at`` of the episodes are done (a daemon
    restart, or killing containers from outside); it returns how long it took.
    """
    from gymnasium.vector import AutoresetMode

    from swe_gym_env.backends.docker.cleanup import gc, project_containers
    from swe_gym_env.backends.docker.client import RUN_ID, get_client
    from swe_gym_env.vector import make_vector_env

    report = SoakReport()
    rng = random.Random(seed)
    started = time.monotonic()
    # what this run (process) already had is not the soak's to count (inside a test session: earlier tests')
    before = {container.id for container in project_containers(get_client(), RUN_ID)}
    envs = make_vector_env(
        num_envs,
        max_steps=max_steps,
        command_timeout=command_timeout,
        network=network,
        grading_timeout=300,
        autoreset_mode=AutoresetMode.DISABLED,
    )
    tasks = envs.envs[0].tasks
    by_id = {task.instance_id: task for task in tasks}
    plans: list[list[Any]] = [[] for _ in range(num_envs)]
    failures: collections.Counter[str] = collections.Counter()
    fault_thread: threading.Thread | None = None

    def guarded(what: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as error:  # counted: nothing may escape the env
            report.escaped_exceptions += 1
            report.escaped.append(f"{what}: {type(error).__name__}: {error}")
            log.exception("exception escaped the env in %s", what)
            return None

    def start(mask: np.ndarray) -> None:
        result = guarded("reset", lambda: envs.reset(seed=rng.randrange(1 << 30), options={"reset_mask": mask}))
        if result is None:
            return
        _, info = result
        for i in np.flatnonzero(mask):
            task = by_id.get(str(info["task_id"][i])) if info.get("_task_id", np.zeros(1))[i] else tasks[0]
            plans[i] = plan_episode(rng, task, max_steps)

    start(np.ones(num_envs, dtype=np.bool_))
    ready_sent = False
    try:
        while forever or report.clean_episodes < episodes:
            actions = [plan.pop(0) if plan else bash("true") for plan in plans]
            result = guarded("step", lambda: envs.step(actions))
            if result is None:
                start(np.ones(num_envs, dtype=np.bool_))
                continue
            _, rewards, terminated, truncated, info = result
            report.steps += num_envs
            if on_ready is not None and not ready_sent:
                on_ready()
                ready_sent = True
            ended = np.logical_or(terminated, truncated)
            for i in np.flatnonzero(ended):
                report.episodes += 1
                report.resolved += bool(rewards[i] == 1.0)
                report.submitted += bool(terminated[i])
                report.truncated += bool(truncated[i])
                if "failure" not in info or not info["failure"]["_type"][i]:
                    report.clean_episodes += 1
                else:
                    kind = f"{info['failure']['type'][i]}/{info['failure']['phase'][i]}"
                    failures[kind] += 1
                    if info["failure"]["type"][i] == "env_error":
                        report.env_errors += 1
                        log.error("sub-env bug: %s", info["failure"]["message"][i])
            if fault is not None and fault_thread is None and report.clean_episodes >= fault_at * episodes:
                def run_fault() -> None:
                    report.restart_seconds = fault()
                    report.daemon_restarts += 1

                fault_thread = threading.Thread(target=run_fault, name="soak-fault")
                fault_thread.start()
            if ended.any():
                start(ended)
    finally:
        if fault_thread is not None:
            fault_thread.join()
        report.pool = asdict(envs.backend.pool.stats) if getattr(envs.backend, "pool", None) else {}
        report.pool.pop("extra", None)
        guarded("close", envs.close)
    report.infra_failures = dict(sorted(failures.items()))
    report.wall_seconds = round(time.monotonic() - started, 1)
    client = get_client()
    report.left_after_close = len([c for c in project_containers(client, RUN_ID) if c.id not in before])
    gc(run_id=RUN_ID, client=client, remove_network=False)
    report.left_after_gc = len(project_containers(client, RUN_ID))
    return report


# -- killing a run from outside --------------------------------------------------------------------
def containers_of_run(run_id: str) -> int:
    from swe_gym_env.backends.docker.cleanup import project_containers
    from swe_gym_env.backends.docker.client import get_client

    return len(project_containers(get_client(), run_id))


def signal_run(sig: int, num_envs: int, network: str, wait: float = 3.0) -> dict[str, Any]:
    """Start a child soak, let it step for ``wait`` s, send ``sig``; count what it left, gc, count again."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.soak", "--child", "--envs", str(num_envs), "--network", network],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        preexec_fn=default_signals,
    )
    assert child.stdout is not None
    line = child.stdout.readline().split()
    if line[:1] != ["ready"]:
        child.kill()
        child.wait()
        return {"signal": signal.Signals(sig).name, "error": f"the child did not start: {line}"}
    run_id = line[1]
    time.sleep(wait)
    started = time.monotonic()
    child.send_signal(sig)
    try:
        code = child.wait(timeout=180)
    except subprocess.TimeoutExpired:
        child.kill()
        code = child.wait()
    exit_seconds = time.monotonic() - started
    left = containers_of_run(run_id)
    done = subprocess.run(
        [sys.executable, "-m", "swe_gym_env.cli", "gc", "--run", run_id], capture_output=True, text=True, check=False
    )
    return {
        "signal": signal.Signals(sig).name,
        "run_id": run_id,
        "exit_code": code,
        "exit_seconds": round(exit_seconds, 1),
        "left_after_exit": left,
        "gc": done.stdout.strip(),
        "left_after_gc": containers_of_run(run_id),
    }


def kill_containers_fault(fraction: float = 0.5) -> Any:
    """A fault that needs no root: kill some of this run's containers from outside (what a restart does)."""

    def fault() -> float:
        from swe_gym_env.backends.docker.cleanup import project_containers
        from swe_gym_env.backends.docker.client import RUN_ID, get_client

        started = time.monotonic()
        victims = [c for c in project_containers(get_client(), RUN_ID) if c.status == "running"]
        for container in victims[: max(1, int(len(victims) * fraction))]:
            try:
                container.kill()
            except Exception as error:  # already gone
                log.info("kill: %s", error)
        return time.monotonic() - started

    return fault


# -- daemons ---------------------------------------------------------------------------------------
def restart_main_daemon() -> float:
    """Stop the host's hand-started dockerd (SIGTERM) and start it again with the same command line."""
    pids = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=False).stdout.split()
    if os.geteuid() != 0 or len(pids) != 1:
        raise RuntimeError("--daemon main needs root and exactly one dockerd")
    pid = int(pids[0])
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    started = time.monotonic()
    stop_process(pid)
    with open("/tmp/dockerd.log", "ab") as out:
        subprocess.Popen([arg.decode() for arg in argv], stdout=out, stderr=out, start_new_session=True)
    if not wait_for_daemon(None):
        raise RuntimeError("dockerd did not come back; see /tmp/dockerd.log")
    return time.monotonic() - started


# -- entry points ----------------------------------------------------------------------------------
def child_main(num_envs: int, network: str) -> int:
    """A soak that runs until killed; prints "ready <run id>" once it is stepping."""
    from swe_gym_env.backends.docker.client import RUN_ID

    def ready() -> None:
        print("ready", RUN_ID, flush=True)

    run_soak(10**9, num_envs, forever=True, on_ready=ready, network=network, seed=os.getpid())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--daemon", choices=["none", "private", "main"], default="none")
    parser.add_argument("--kill-containers", action="store_true", help="without a restart: kill containers")
    parser.add_argument("--no-signals", action="store_true", help="skip the SIGINT and SIGKILL runs")
    parser.add_argument("--network", default=None, help="sandbox network (default: internal; none with private)")
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    network = args.network or ("none" if args.daemon == "private" else "internal")
    if args.child:
        return child_main(args.envs, network)

    private = None
    fault = kill_containers_fault() if args.kill_containers else None
    if args.daemon == "private":
        private = PrivateDaemon("soak")
        fault = private.restart
    elif args.daemon == "main":
        fault = restart_main_daemon
    try:
        if private is not None:
            from swe_gym_env.tasks.task import load_tasks

            private.start()
            private.load_images(sorted({task.image for task in load_tasks("builtin")}))
            os.environ["DOCKER_HOST"] = private.url  # for this process (before its first client) and children
        report = run_soak(args.episodes, args.envs, seed=args.seed, network=network, fault=fault)
        signals = [] if args.no_signals else [signal_run(s, 2, network) for s in (signal.SIGINT, signal.SIGKILL)]
    finally:
        if private is not None:
            private.stop()
    result = {
        "config": {
            "episodes": args.episodes,
            "envs": args.envs,
            "seed": args.seed,
            "daemon": args.daemon,
            "network": network,
        },
        "main": asdict(report),
        "signals": signals,
        "ok": report.escaped_exceptions == 0
        and report.left_after_close == 0
        and report.left_after_gc == 0
        and all(s.get("left_after_gc") == 0 for s in signals),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
