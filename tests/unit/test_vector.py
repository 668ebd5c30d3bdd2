"""The thread-based vector env on the in-memory backend: batching, autoreset modes, failure isolation."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import swe_gym_env
from swe_gym_env import ConfigError
from swe_gym_env.backends.base import ExecResult, unasked
from swe_gym_env.backends.fake import FakeBackend
from swe_gym_env.env import SWEEnv
from swe_gym_env.errors import SandboxLostError, SandboxStartError
from swe_gym_env.vector import ThreadVectorEnv, make_vector_env

TASKS = swe_gym_env.load_tasks("builtin")
SUBMIT = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'


def bash(command: str) -> dict:
    return {"name": "bash", "arguments": {"command": command}}


def make(n=3, mode=AutoresetMode.NEXT_STEP, **kwargs):
    return gym.make_vec("SWE-v0", num_envs=n, backend="fake", autoreset_mode=mode, **kwargs)


def test_make_vec_uses_the_thread_vector_env():
    envs = make(3)
    assert isinstance(envs, ThreadVectorEnv) and envs.num_envs == 3
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.spec is not None and envs.spec.id == "SWE-v0"
    assert isinstance(envs.observation_space, gym.spaces.Tuple) and len(envs.observation_space) == 3
    envs.close()
    envs.close()  # a second close is fine


def test_reset_batches_strings_and_infos_with_masks():
    envs = make(3)
    obs, info = envs.reset(seed=7)
    assert isinstance(obs, tuple) and all(isinstance(o, str) and o for o in obs)
    assert obs in envs.observation_space
    assert info["task_id"].shape == (3,) and info["_task_id"].all()
    _, info2 = envs.reset(seed=7)
    assert list(info2["task_id"]) == list(info["task_id"])  # seed, seed+1, ... per sub-env
    ids = [TASKS[0].instance_id, None, TASKS[5].instance_id]
    _, info3 = envs.reset(options={"task_id": ids})
    assert info3["task_id"][0] == ids[0] and info3["task_id"][2] == ids[2]
    with pytest.raises(ConfigError):
        envs.reset(options={"task_id": ids[:2]})
    with pytest.raises(ConfigError):
        envs.reset(seed=[1, 2])
    envs.close()


def test_step_batches_results_and_nested_infos():
    envs = make(2)
    envs.reset(seed=0)
    obs, rewards, terminated, _, info = envs.step([bash("echo hi"), "not an action"])
    assert obs[0].startswith("hi") and "could not be used" in obs[1]
    assert rewards.dtype == np.float64 and terminated.dtype == np.bool_ and not terminated.any()
    assert list(info["format_error"]) == [False, True] and info["_format_error"].all()
    with pytest.raises(ConfigError, match="2 actions"):
        envs.step([bash("ls")])
    envs.close()


def test_next_step_autoreset_resets_on_the_following_step():
    envs = make(2, AutoresetMode.NEXT_STEP)
    envs.reset(seed=0)
    _, rewards, terminated, _, info = envs.step([SUBMIT, bash("true")])
    assert list(terminated) == [True, False] and info["_report"][0] and not info["_report"][1]
    obs, rewards, terminated, truncated, info = envs.step([bash("ignored"), bash("true")])
    assert "issue" in obs[0] and rewards[0] == 0 and not terminated[0] and not truncated[0]
    assert info["_tools"][0] and not info["_tools"][1]  # the reset info of sub-env 0 only
    envs.close()


def test_same_step_autoreset_reports_the_final_observation():
    envs = make(2, AutoresetMode.SAME_STEP)
    envs.reset(seed=0)
    obs, _, terminated, _, info = envs.step([SUBMIT, bash("true")])
    assert terminated[0] and "issue" in obs[0]  # already reset
    assert info["_final_obs"][0] and info["final_obs"][0].startswith("Submitted")
    assert info["final_info"]["report"]["status"][0] and not info["_final_obs"][1]
    obs, _, terminated, _, _ = envs.step([bash("echo again"), bash("true")])
    assert obs[0].startswith("again") and not terminated.any()
    envs.close()


def test_disabled_autoreset_with_reset_mask_for_episodic_rollouts():
    envs = make(3, AutoresetMode.DISABLED, max_steps=2)
    envs.reset(seed=1)
    _, _, terminated, _, _ = envs.step([SUBMIT, bash("true"), bash("true")])
    assert list(terminated) == [True, False, False]
    with pytest.raises(ConfigError, match="reset_mask"):
        envs.step([bash("true"), bash("true"), bash("true")])
    last, _, terminated, truncated, info = envs.step([None, bash("true"), bash("true")])
    obs = last
    assert obs[0] == "" and not terminated[0] and list(truncated) == [False, True, True]
    assert not info["_step"][0] and info["_step"][1:].all()
    mask = np.array([True, False, True])
    obs, info = envs.reset(options={"reset_mask": mask})
    assert list(info["_task_id"]) == [True, False, True]
    assert "issue" in obs[0] and obs[1] == last[1] and "issue" in obs[2]  # sub-env 1 keeps its last one
    envs.step([bash("true"), None, bash("true")])
    with pytest.raises(ConfigError):
        envs.reset(options={"reset_mask": np.zeros(3, dtype=bool)})
    envs.close()


class Handler:
    """A fake command handler: 'boom' raises a bug, 'lost' an infra error, 'wait' meets the others."""

    def __init__(self, n: int):
        self.barrier = threading.Barrier(n, timeout=10)

    def __call__(self, command: str) -> ExecResult:
        if command == "boom":
            raise KeyError("a bug in a tool")
        if command == "lost":
            raise SandboxLostError("the container is gone")
        if command == "wait":
            self.barrier.wait()  # raises BrokenBarrierError unless every sub-env runs at once
            return ExecResult("met\n", 0)
        return ExecResult(f"ran {command}\n", 0)


def make_with(handler, n, mode=AutoresetMode.NEXT_STEP, backend=None):
    backend = backend or FakeBackend(handler=handler)
    return ThreadVectorEnv([lambda: SWEEnv(TASKS, backend=backend)] * n, autoreset_mode=mode)


def test_sub_envs_step_concurrently():
    n = 4
    envs = make_with(Handler(n), n)
    envs.reset(seed=0)
    obs, *_ = envs.step([bash("wait")] * n)
    assert all(o.startswith("met") for o in obs)
    envs.close()


def test_a_failing_sub_env_is_reported_and_does_not_stop_the_others():
    envs = make_with(Handler(3), 3)
    envs.reset(seed=0)
    obs, _, terminated, truncated, info = envs.step([bash("boom"), bash("lost"), bash("fine")])
    assert list(truncated) == [True, True, False] and not terminated.any()
    assert info["failure"]["type"][0] == "env_error" and "KeyError" in info["failure"]["message"][0]
    assert info["failure"]["type"][1] == "sandbox_lost" and info["failure"]["phase"][1] == "step"
    assert not info["failure"]["_type"][2] and obs[2].startswith("ran fine")
    obs, _, _, truncated, info = envs.step([bash("x"), bash("x"), bash("fine")])  # next step: autoreset
    assert "issue" in obs[0] and "issue" in obs[1] and not truncated.any()
    envs.close()


class FlakyBackend(FakeBackend):
    """Fails the sandbox start of one sub-env's task with an infra error, another with a bug."""

    def __init__(self, bad_infra: str, bad_bug: str):
        super().__init__()
        self.bad_infra, self.bad_bug = bad_infra, bad_bug

    def start(self, task, *, role="agent"):
        if task.instance_id == self.bad_infra:
            raise SandboxStartError("no container today")
        if task.instance_id == self.bad_bug:
            raise ZeroDivisionError("a bug in the backend")
        return super().start(task, role=role)


def test_failed_resets_are_reported_then_truncate():
    backend = FlakyBackend(TASKS[0].instance_id, TASKS[1].instance_id)
    envs = make_with(None, 3, backend=backend)
    ids = [TASKS[0].instance_id, TASKS[1].instance_id, TASKS[2].instance_id]
    obs, info = envs.reset(options={"task_id": ids})
    assert info["failure"]["type"][0] == "sandbox_start" and info["failure"]["phase"][0] == "reset"
    assert info["failure"]["type"][1] == "env_error" and "ZeroDivisionError" in info["failure"]["message"][1]
    assert not info["failure"]["_type"][2] and obs[1] == ""
    _, _, _, truncated, info = envs.step([bash("true")] * 3)
    assert list(truncated) == [True, True, False]
    assert info["failure"]["type"][1] == "env_error"
    envs.close()


def test_call_get_attr_set_attr_and_render():
    envs = make(2, render_mode="ansi")
    envs.reset(seed=0)
    assert envs.get_attr("max_steps") == (50, 50)
    envs.set_attr("max_steps", [3, 4])
    assert envs.call("prompt", TASKS[0])[0].startswith("You are working")
    assert envs.get_attr("max_steps") == (3, 4)
    assert all(isinstance(frame, str) for frame in envs.render())
    envs.close()


def test_peek_next_task_matches_the_next_reset():
    env = SWEEnv("builtin", backend="fake")
    env.reset(seed=3)
    for _ in range(5):
        predicted = env.peek_next_task()
        _, info = env.reset()
        assert info["task_id"] == predicted.instance_id
    env.close()


def test_random_draws_are_predicted_two_ahead():
    env = SWEEnv("builtin", backend="fake")
    env.reset(seed=5)
    for _ in range(4):
        first, second = env.peek_next_tasks(2)
        assert env.reset()[1]["task_id"] == first.instance_id
        assert env.reset()[1]["task_id"] == second.instance_id
    env.close()


def test_explicit_ids_predict_a_repeat_until_the_caller_walks_or_announces():
    env = SWEEnv("builtin", backend="fake")
    a, b = (task.instance_id for task in env.tasks[:2])
    env.reset(options={"task_id": a})
    assert [t.instance_id for t in env.peek_next_tasks()] == [a]  # a GRPO group, an eval's samples
    env.reset(options={"task_id": a})
    assert [t.instance_id for t in env.peek_next_tasks()] == [a]
    env.reset(options={"task_id": b})
    assert env.peek_next_tasks() == [] and env.peek_next_task() is None  # walking over ids: no guess
    env.reset(options={"task_id": b})
    assert [t.instance_id for t in env.peek_next_tasks()] == [b]  # repeating again
    env.prefetch([a])
    assert env.peek_next_tasks() == []  # announced ids replace guesses
    env.close()


def test_a_prediction_is_asked_of_the_pool_once():
    a, b, c, d = (SimpleNamespace(instance_id=name) for name in "abcd")
    assert unasked([], a, [b, c]) == [b, c]
    assert unasked([b, c], b, [c, d]) == [d]  # c was asked for one reset ago, two ahead
    assert unasked([b, c], b, [c, c]) == [c]  # the same task twice ahead: a second container
    assert unasked([b, c], a, [a, b]) == [a, b]  # the prediction missed (a seeded reset): all of it again
    assert unasked([b], b, []) == []


def test_make_vector_env_validates_arguments():
    with pytest.raises(ConfigError):
        make_vector_env(0, backend="fake")
    with pytest.raises(ConfigError):
        make_vector_env(2, backend="fake", autoreset_mode="Sometimes")
    with pytest.raises(ConfigError):
        make_vector_env(2, exec_mode="telepathy")
