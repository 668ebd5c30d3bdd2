"""Patches that hang, fork or flood are ended by the task's bound: 0.0, a clear note, nothing else harmed.

The built-in rows carry their measured test cost, so with SWE-v0's defaults their grading is bounded by
about a minute (``grading.cost``), not SWE-bench's 1800 s.
"""

import gymnasium as gym
import numpy as np
import pytest
from steps import apply_patch_with_tools, bash, submit

import swe_gym_env

TASKS = {t.instance_id: t for t in swe_gym_env.load_tasks("builtin")}
TASK = TASKS["swe-gym__textkit-1"]

HOSTILE = {
    "hangs": "while True:\n    pass",
    "forks": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    "floods": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
}


def test_builtin_rows_carry_their_test_cost_and_get_a_tight_bound(make_env):
    env = make_env()
    _, info = env.reset(options={"task_id": TASK.instance_id})
    assert info["limits"]["grading_timeout"] <= 120, info["limits"]
    assert "expected cost from the row" in info["limits"]["grading_rule"]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_patch_is_ended_by_the_bound_and_the_next_gold_episode_resolves(make_env, kind):
    env = make_env()
    env.reset(options={"task_id": TASK.instance_id})
    bash(env, f"cat >> textkit/__init__.py <<'EOF'\n{HOSTILE[kind]}\nEOF")
    _, reward, terminated, truncated, info = submit(env)
    report = info["report"]
    assert terminated and not truncated and "failure" not in info, info.get("failure")
    assert reward == 0.0 and report["status"] in ("timeout", "invalid_log", "RESOLVED_NO"), report["status"]
    assert report["timeout"]["seconds"] <= 120 and report["notes"], report
    if kind == "hangs":
        assert report["status"] == "timeout" and "did not finish within" in report["notes"][-1]
    env.reset(options={"task_id": TASK.instance_id})
    apply_patch_with_tools(env, TASK.patch)
    _, reward, _, _, info = submit(env)
    assert reward == 1.0, info["report"]["notes"]


def test_a_hanging_grading_does_not_harm_the_other_sub_envs():
    envs = gym.make_vec("SWE-v0", num_envs=2, autoreset_mode="Disabled", max_steps=20)
    try:
        ids = [TASK.instance_id, "swe-gym__intervals-1"]
        envs.reset(options={"task_id": ids})
        bash(envs.envs[0].unwrapped, f"cat >> textkit/__init__.py <<'EOF'\n{HOSTILE['hangs']}\nEOF")
        apply_patch_with_tools(envs.envs[1].unwrapped, TASKS[ids[1]].patch)
        submit_action = {"name": "submit", "arguments": {}}
        _, rewards, terminated, truncated, info = envs.step([submit_action, submit_action])
        assert terminated.all() and not truncated.any()
        assert rewards.tolist() == [0.0, 1.0]
        assert not info.get("_failure", np.zeros(2, bool)).any()
        assert info["report"]["status"][0] == "timeout"
    finally:
        envs.close()
