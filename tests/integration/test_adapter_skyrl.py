"""SkyRL-gym: our env from its registry with its own make(), driven the way SkyRL's generator drives envs."""

import json
import os

import pytest
import skyrl_gym
from omegaconf import OmegaConf

from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, get_client
from swe_gym_env.integrations.common import EpisodeFailure
from swe_gym_env.integrations.skyrl import SWESkyRLEnv, register
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

TASK = load_tasks("builtin")[4]
SUBMIT = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'
# as in SkyRL's config: the env's section of `skyrl_gym` (an omegaconf DictConfig)
ENV_CONFIG = OmegaConf.create({"tasks": "builtin", "command_timeout": 60})


def mine():
    return [c.name for c in project_containers(get_client()) if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid())]


def call(name, **arguments):
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


def gold_actions(patch):
    return [
        "Let me write the fix.\n" + call("str_replace_editor", command="create", path="/tmp/fix.patch", file_text=patch),
        call("bash", command="git apply /tmp/fix.patch && rm /tmp/fix.patch && git status --short"),
        SUBMIT,
    ]


def rollout(env_id, actions, extras):
    """SkyRLGymGenerator's agent loop (trajectory-wise), with scripted model text in place of sampling."""
    env = skyrl_gym.make(env_id, env_config=ENV_CONFIG, extras=extras)
    chat, _ = env.init([{"role": "system", "content": "You are a software engineer."}])
    done, rewards, outputs = False, [], []
    turn = 0
    while not done:
        out = env.step(actions[turn])
        turn += 1
        outputs.append(out)
        rewards.append(out["reward"])
        done = out["done"]
        chat += out["observations"]
    metrics = env.get_metrics()
    env.close()
    return chat, rewards, outputs, metrics


def test_registered_env_resolves_the_gold_fix_and_not_an_empty_one():
    env_id = register()
    assert register() == env_id and skyrl_gym.registry[env_id].entry_point.endswith(":SWESkyRLEnv")
    extras = {"instance_id": TASK.instance_id, "max_turns": 10, "reward_spec": {}}
    chat, rewards, outputs, metrics = rollout(env_id, gold_actions(TASK.patch), extras)
    assert rewards == [0.0, 0.0, 1.0] and metrics["resolved"] and metrics["steps"] == 3
    assert chat[0]["role"] == "system" and TASK.problem_statement.strip() in chat[1]["content"]
    assert chat[2] == {"role": "user", "content": "File created: /tmp/fix.patch"}
    assert outputs[-1]["observations"] == [] and outputs[-1]["metadata"]["report"]["status"] == "RESOLVED_FULL"

    _, rewards, outputs, metrics = rollout(env_id, [SUBMIT], {"task_id": TASK.instance_id})
    assert rewards == [0.0] and not metrics["resolved"] and outputs[0]["metadata"]["report"]["empty_patch"]
    assert mine() == []


def test_max_turns_from_the_generator_ends_the_episode():
    env = skyrl_gym.make(register(), env_config={"tasks": "builtin"}, extras={"task_id": TASK.instance_id, "max_turns": 2})
    prompt, metadata = env.init([{"role": "user", "content": "Fix this."}])
    assert len(prompt) == 1 and prompt[0]["content"].startswith("Fix this.\n\n") and metadata["tools"]
    assert not env.step("no tool call here")["done"]  # a format error is an observation
    out = env.step(call("bash", command="true"))
    assert out["done"] and out["reward"] == 0.0 and out["metadata"]["format_errors"] == 1
    env.close()
    assert mine() == []


def test_an_infrastructure_failure_raises_and_releases_the_sandbox():
    env = skyrl_gym.make(register(), env_config=ENV_CONFIG, extras={"task_id": TASK.instance_id})
    assert isinstance(env, SWESkyRLEnv)
    env.init([])
    env.step(call("bash", command="ls"))
    env.swe_env.sandbox.container.kill()  # the container dies from outside, mid-episode
    with pytest.raises(EpisodeFailure) as caught:
        env.step(call("bash", command="ls"))
    assert caught.value.failure["type"] == "sandbox_lost" and caught.value.task_id == TASK.instance_id
    assert mine() == []  # SkyRL does not call close() after a rollout that raised


def test_an_exception_mid_episode_leaves_no_container():
    extras = {"task_id": TASK.instance_id}
    with pytest.raises(RuntimeError, match="generation failed"), \
            skyrl_gym.make(register(), env_config=ENV_CONFIG, extras=extras) as env:
        env.init([])
        env.step(call("bash", command="ls"))
        raise RuntimeError("generation failed")
    assert mine() == []
