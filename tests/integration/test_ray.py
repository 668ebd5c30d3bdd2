"""SWE-v0 on a real Ray cluster on this machine: two raylets, the second with a Docker daemon of its own.

``ray.cluster_utils.Cluster`` starts a head node (on the host's daemon) and a second node whose
environment points ``DOCKER_HOST`` at a private ``dockerd`` (own data root, socket and containerd), so
the second node starts with no image at all: image distribution, per-node cleanup and node faults are
exercised for real. Slow: the cluster and the private daemon start once for the module.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import gymnasium as gym  # noqa: E402
from steps import apply_patch_with_tools  # noqa: E402

import swe_gym_env  # noqa: E402, F401
from swe_gym_env.backends.docker.client import LABEL  # noqa: E402
from swe_gym_env.backends.docker.engine import PrivateDaemon  # noqa: E402
from swe_gym_env.tasks.task import load_tasks  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASKS = load_tasks("builtin")
SUBMIT = {"name": "submit", "arguments": {}}
BY_ID = {task.instance_id: task for task in TASKS}


def _project_containers(client, **labels):
    filters = {"label": [LABEL] + [f"{LABEL}.{key}={value}" for key, value in labels.items()]}
    return client.containers.list(all=True, filters=filters, ignore_removed=True)  # removed meanwhile: skip


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def cluster():
    """A head node on the host's daemon and a second node on a private, empty daemon."""
    from swe_gym_env.backends.ray.local import LocalCluster

    if not PrivateDaemon.available():
        pytest.skip("a second Docker daemon needs root, dockerd and ip")
    local = LocalCluster(nodes=2).start()
    head, second = local.node_ids
    private = local.daemons[second]
    try:
        yield {"nodes": {"head": head, "second": second}, "private": private, "address": local.address}
        leftover = _project_containers(private.client())
        assert not leftover, f"containers left on the second node's daemon: {[c.name for c in leftover]}"
    finally:
        local.stop()


def _make_vec(num_envs: int, **kwargs):
    return gym.make_vec("SWE-v0", num_envs=num_envs, tasks="builtin", backend="ray",
                        autoreset_mode="Disabled", max_steps=20, **kwargs)


def test_gold_resolves_and_empty_does_not_on_both_nodes(cluster, caplog):
    """The issue's acceptance run: 4 sub-envs over two nodes, gold patches 1.0, empty submissions 0.0."""
    private_client = cluster["private"].client()
    ids = [task.instance_id for task in TASKS[:4]]
    with caplog.at_level(logging.INFO, logger="swe_gym_env.backends.ray.backend"):
        envs = _make_vec(4)
        try:
            obs, info = envs.reset(seed=0, options={"task_id": ids})
            assert not info.get("_failure", np.zeros(4, bool)).any(), info.get("failure")
            nodes = set(info["node_id"])
            assert nodes == set(cluster["nodes"].values()), f"sandboxes on {nodes}, not on both nodes"
            assert set(info["warm"]) <= {"task", "image", "cold"}  # how each node served its reset
            for i, task_id in enumerate(ids):
                apply_patch_with_tools(envs.envs[i].unwrapped, BY_ID[task_id].patch)
            _, rewards, terminated, truncated, info = envs.step([SUBMIT] * 4)
            assert terminated.all() and not truncated.any(), info
            assert rewards.tolist() == [1.0] * 4, [r.get("notes") for r in _reports(info)]
            assert set(info["node_id"]) == nodes  # grading ran on the episodes' nodes

            obs, info = envs.reset(options={"task_id": ids, "reset_mask": np.ones(4, dtype=bool)})
            assert set(info["node_id"]) == nodes
            _, rewards, terminated, _, info = envs.step([SUBMIT] * 4)
            assert terminated.all() and rewards.tolist() == [0.0] * 4
            stats = envs.envs[0].unwrapped.backend.stats()
            assert set(stats["nodes"]) == nodes
        finally:
            envs.close()
    # the private daemon started empty: the task images reached it through the object store or a build
    for task_id in ids:
        assert private_client.images.get(BY_ID[task_id].image)
    assert any("streamed to node" in r.message or "from its recipe" in r.message for r in caplog.records)
    assert not _project_containers(private_client)


def test_a_predicted_reset_collects_the_start_made_ahead(cluster):
    """One env owning its Ray backend: its next random draw is started ahead on a node, so that reset makes
    no start call; a wrong guess goes back to that node's pool untouched, and nothing is left behind."""
    import ray

    from swe_gym_env.env import SWEEnv

    env = SWEEnv("builtin", backend="ray", max_steps=20)
    backend = env.backend
    calls: list[str] = []
    real_call = backend.call

    def call(host, method, *args, timeout):
        calls.append(method)
        return real_call(host, method, *args, timeout=timeout)

    backend.call = call
    try:
        env.reset(seed=3)
        predicted = env.peek_next_task().instance_id
        assert backend._ahead is not None and backend._ahead[0] == predicted
        ray.get(backend._ahead[2], timeout=300)  # done (from the node's pool, or started cold there)
        calls.clear()
        _, info = env.reset()
        assert info["task_id"] == predicted and info["warm"] in {"task", "image", "cold"}
        assert "start" not in calls, calls  # collected, not called for
        apply_patch_with_tools(env, BY_ID[predicted].patch)
        _, reward, terminated, _, info = env.step(SUBMIT)
        assert terminated and reward == 1.0, info.get("report")

        guessed = backend._ahead[0]
        ray.get(backend._ahead[2], timeout=300)
        other = next(task.instance_id for task in TASKS if task.instance_id != guessed)
        _, info = env.reset(options={"task_id": other})  # not the guess: it goes back to the pool
        assert info["task_id"] == other and info.get("failure") is None
        _wait_until(lambda: backend.stats()["returned"] >= 1, 60, "the guessed sandbox given back")
        _, _, _, _, info = env.step(SUBMIT)
        assert info["report"]["resolved"] is False
        env.reset(seed=11)  # a new sequence: its next draw, not prepared, is started ahead now ...
        assert backend._ahead is not None
        hosts = [host.info for host in backend.hosts()]
    finally:
        env.close()  # ... and the env closed at once, while that start may still be in flight
    clients = {cluster["nodes"]["head"]: swe_gym_env_client(), cluster["nodes"]["second"]: cluster["private"].client()}
    for host in hosts:
        assert not _project_containers(clients[host["node_id"]], run=host["run_id"])


def swe_gym_env_client():
    from swe_gym_env.backends.docker.client import get_client

    return get_client()


def _reports(info):
    reports = info.get("report", {})
    keys = list(reports)
    if not keys:
        return []
    return [{key: reports[key][i] for key in keys if not key.startswith("_")} for i in range(len(reports[keys[0]]))]


def test_a_recipe_image_is_built_on_the_node_and_others_are_streamed(cluster, caplog):
    """A node that lacks a built-in library's image builds it from the same content-tagged recipe (its base
    streamed from another node first); an image with no recipe is streamed whole from a node that has it."""
    from swe_gym_env.backends.docker.images import base_image_tag, build_image
    from swe_gym_env.backends.ray.backend import RayBackend

    task = BY_ID["swe-gym__tinyini-1"]
    private_client = cluster["private"].client()
    for image in (task.image, base_image_tag()):
        try:
            private_client.images.remove(image, force=True)
        except Exception:  # not there yet
            pass
    custom = build_image(swe_gym_env_client(), "swe-gym-env/test-stream:1",
                         f"FROM {base_image_tag()}\nRUN echo streamed > /marker\n")
    backend = RayBackend(warm_pool=0)
    try:
        host = next(h for h in backend.hosts() if h.node_id == cluster["nodes"]["second"])
        with caplog.at_level(logging.INFO, logger="swe_gym_env.backends.ray.backend"):
            backend.ensure_image(host, task.image)
            backend.ensure_image(host, custom)
        assert private_client.images.get(task.image) and private_client.images.get(base_image_tag())
        assert private_client.containers.run(custom, ["cat", "/marker"], remove=True) == b"streamed\n"
        messages = [r.message for r in caplog.records]
        assert any(f"{task.image} built on node" in m and "from its recipe" in m for m in messages), messages
        assert any(f"{base_image_tag()} streamed to node" in m for m in messages), messages
        assert any(f"{custom} streamed to node" in m for m in messages), messages
    finally:
        backend.close()
        for client in (private_client, swe_gym_env_client()):
            try:
                client.images.remove(custom, force=True)
            except Exception:  # already gone
                pass


def test_a_killed_node_actor_loses_only_its_episode(cluster):
    """Killing the host actor of one node: its episode ends truncated with sandbox_lost, the other env
    goes on, the next reset lands on a live node, and the dead host's containers are removed."""
    envs = _make_vec(2)
    try:
        _, info = envs.reset(seed=1, options={"task_id": ["swe-gym__textkit-1", "swe-gym__intervals-1"]})
        backend = envs.envs[0].unwrapped.backend
        by_node = {node: i for i, node in enumerate(info["node_id"])}
        assert set(by_node) == set(cluster["nodes"].values())
        victim_node = cluster["nodes"]["second"]
        victim, survivor = by_node[victim_node], 1 - by_node[victim_node]
        host = backend._hosts[victim_node]
        pid = host.info["pid"]
        ray.kill(host.actor, no_restart=True)
        step = {"name": "bash", "arguments": {"command": "echo alive"}}
        actions = [None, None]
        actions[victim], actions[survivor] = step, step
        obs, rewards, terminated, truncated, info = envs.step(actions)
        assert truncated[victim] and not terminated[victim]
        assert info["failure"]["type"][victim] == "sandbox_lost", info["failure"]
        assert not truncated[survivor] and "alive" in obs[survivor]
        # the killed host's containers go with it (its watchdog), on the private daemon
        private_client = cluster["private"].client()
        _wait_until(lambda: not _project_containers(private_client, pid=pid), 60, "the dead host's containers to go")
        mask = np.zeros(2, dtype=bool)
        mask[victim] = True
        obs, info = envs.reset(options={"reset_mask": mask, "task_id": ["swe-gym__textkit-1"] * 2})
        assert "failure" not in info or not info["_failure"][victim]
        assert info["node_id"][victim] in cluster["nodes"].values()
        obs, *_ = envs.step([step if i == victim else None for i in range(2)])
        assert "alive" in obs[victim]
        assert backend.lost >= 1
    finally:
        envs.close()


DRIVER = textwrap.dedent("""
    import json, logging, sys, time
    import gymnasium as gym, ray
    import swe_gym_env
    ray.init(address=sys.argv[1], logging_level=logging.WARNING, log_to_driver=False)
    envs = gym.make_vec("SWE-v0", num_envs=2, tasks="builtin", backend="ray", autoreset_mode="Disabled")
    obs, info = envs.reset(seed=0)
    hosts = envs.envs[0].unwrapped.backend.hosts()
    print(json.dumps([h.info for h in hosts]), flush=True)
    time.sleep(600)
""")


def test_a_killed_driver_leaves_no_container(cluster, tmp_path):
    """SIGKILL of the driver: Ray ends the host actors, and each node's watchdog removes their containers."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    driver = subprocess.Popen([sys.executable, str(script), cluster["address"]], stdout=subprocess.PIPE, text=True)
    try:
        line = driver.stdout.readline()
        assert line, "the driver did not report its hosts"
        hosts = json.loads(line)
        assert {h["node_id"] for h in hosts} == set(cluster["nodes"].values())
        clients = {h["node_id"]: (cluster["private"].client() if h["node_id"] == cluster["nodes"]["second"]
                                  else swe_gym_env_client()) for h in hosts}
        for h in hosts:  # the episodes and the warm pools are there
            _wait_until(lambda h=h: _project_containers(clients[h["node_id"]], run=h["run_id"]), 60, "containers")
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(30)
        for h in hosts:
            _wait_until(lambda h=h: not _project_containers(clients[h["node_id"]], run=h["run_id"]), 90,
                        f"the containers of node {h['node_id'][:12]} to be removed")
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(30)


def test_gc_sweeps_every_node(cluster):
    """`swe-gym-env gc --ray ADDRESS --orphans` reaches each node's own daemon (and spares live processes')."""
    from swe_gym_env.backends.docker.client import labels_for

    private_client = cluster["private"].client()
    image = TASKS[0].image
    dead = subprocess.Popen(["true"])
    dead.wait()
    stray = private_client.containers.create(image, ["true"], labels={**labels_for("stray"), f"{LABEL}.pid": str(dead.pid)})
    alive = private_client.containers.create(image, ["true"], labels=labels_for("alive"))
    try:
        done = subprocess.run([sys.executable, "-m", "swe_gym_env.cli", "gc", "--ray", cluster["address"], "--orphans"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "node(s)" in done.stdout
        assert not _project_containers(private_client, role="stray")
        assert _project_containers(private_client, role="alive")  # this process lives: not an orphan
    finally:
        for container in (stray, alive):
            try:
                container.remove(force=True)
            except Exception:  # removed by the gc, as it should be
                pass
