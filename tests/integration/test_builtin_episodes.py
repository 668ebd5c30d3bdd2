"""Every built-in task, through the real env: gold fix -> 1.0, no change -> 0.0, a plausible wrong fix -> 0.0."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from steps import apply_patch_with_tools, bash, submit

import swe_gym_env
from swe_gym_env.synth.builtin import wrong_patch
from swe_gym_env.tasks.builtin.specs import ALL_SPECS

TASKS = {task.instance_id: task for task in swe_gym_env.load_tasks("builtin")}
SPECS = {spec.instance_id: spec for spec in ALL_SPECS}
IDS = sorted(TASKS)


@pytest.fixture(scope="module")
def env():
    env = gym.make("SWE-v0", tasks="builtin")
    yield env
    env.close()


def test_quickstart_from_the_readme():
    tasks = swe_gym_env.load_tasks("builtin")
    env = gym.make("SWE-v0", tasks="builtin")
    obs, info = env.reset(seed=0, options={"task_id": tasks[0].instance_id})
    obs, reward, terminated, truncated, info = env.step(
        '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>')
    assert "tests" in obs and reward == 0.0 and not terminated and not truncated and info["exit_code"] == 0
    env.close()


@pytest.mark.parametrize("instance_id", IDS)
def test_gold_patch_through_the_tools_is_resolved(env, instance_id):
    env.reset(options={"task_id": instance_id})
    apply_patch_with_tools(env, TASKS[instance_id].patch)
    obs, reward, terminated, truncated, info = submit(env)
    assert (reward, terminated, truncated) == (1.0, True, False), info["report"]
    assert info["report"]["status"] == "RESOLVED_FULL" and not info["report"]["tampered"]


@pytest.mark.parametrize("instance_id", IDS)
def test_no_change_is_not_resolved(env, instance_id):
    env.reset(options={"task_id": instance_id})
    obs, reward, terminated, truncated, info = submit(env)
    assert (reward, terminated) == (0.0, True)
    assert info["report"]["empty_patch"] and info["report"]["fail_to_pass"]["failure"]


@pytest.mark.parametrize("instance_id", IDS)
def test_plausible_wrong_fix_is_not_resolved(env, instance_id):
    env.reset(options={"task_id": instance_id})
    apply_patch_with_tools(env, wrong_patch(SPECS[instance_id]))
    obs, reward, terminated, truncated, info = submit(env)
    assert (reward, terminated) == (0.0, True)
    assert not info["report"]["empty_patch"] and info["report"]["status"] != "RESOLVED_FULL"


def test_visible_tests_run_inside_the_container(env):
    env.reset(options={"task_id": IDS[0]})
    obs, info = bash(env, "python3 -m pytest -q -p no:cacheprovider 2>&1 | tail -1")
    assert "passed" in obs


def test_check_env_passes_against_docker():
    env = swe_gym_env.SWEEnv(tasks="builtin", max_steps=5)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()
