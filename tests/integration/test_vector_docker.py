"""gym.make_vec("SWE-v0") on the real daemon: concurrent sub-envs, isolation of failures, nothing left."""

import os

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import swe_gym_env  # noqa: F401  (registers SWE-v0)
from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, RUN_ID, get_client
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

TASKS = load_tasks("builtin")
SUBMIT = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'


def bash(command):
    return {"name": "bash", "arguments": {"command": command}}


def mine():
    return [c for c in project_containers(get_client(), RUN_ID) if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid())]


def test_episodic_rollout_with_disabled_autoreset():
    n = 3
    envs = gym.make_vec("SWE-v0", num_envs=n, autoreset_mode=AutoresetMode.DISABLED, max_steps=5, command_timeout=5)
    try:
        ids = [TASKS[0].instance_id, TASKS[4].instance_id, TASKS[8].instance_id]
        obs, info = envs.reset(seed=0, options={"task_id": ids})
        assert list(info["task_id"]) == ids and all("issue" in o for o in obs)
        obs, _, _, _, info = envs.step([bash("cd /tmp && export A=1"), bash("echo $HOSTNAME"), bash("pwd")])
        assert obs[2].strip() == "/testbed" and not info.get("_failure", np.zeros(n)).any()
        obs, *_ = envs.step([bash("pwd; echo $A"), bash("true"), bash("true")])
        assert obs[0].split() == ["/tmp", "1"]
        # sub-env 1 loses its container from outside: only it ends, with a typed failure
        envs.envs[1].sandbox.container.kill()
        obs, rewards, terminated, truncated, info = envs.step([SUBMIT, bash("echo hi"), bash("echo hi")])
        assert terminated[0] and rewards[0] == 0.0 and info["report"]["status"][0] == "RESOLVED_NO"
        assert truncated[1] and info["failure"]["type"][1] == "sandbox_lost"
        assert not terminated[2] and not truncated[2] and obs[2].strip() == "hi"
        obs, info = envs.reset(options={"reset_mask": np.array([True, True, False]), "task_id": ids})
        assert list(info["_task_id"]) == [True, True, False]
        obs, _, _, truncated, info = envs.step([bash("echo ok"), bash("echo ok"), bash("echo ok")])
        assert [o.strip() for o in obs] == ["ok"] * 3 and not truncated.any()
    finally:
        envs.close()
    assert mine() == []


def test_next_step_autoreset_and_grading_in_parallel():
    n = 2
    envs = gym.make_vec("SWE-v0", num_envs=n, max_steps=20)
    try:
        envs.reset(seed=3)
        _, rewards, terminated, _, info = envs.step([SUBMIT, SUBMIT])
        assert terminated.all() and (rewards == 0).all()
        assert set(info["report"]["status"]) == {"RESOLVED_NO"}
        obs, _, terminated, _, info = envs.step([bash("x"), bash("x")])  # the autoreset step
        assert all("issue" in o for o in obs) and not terminated.any() and info["_task_id"].all()
    finally:
        envs.close()
    assert mine() == []
