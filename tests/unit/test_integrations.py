"""The framework adapters' own logic on the in-memory backend; the real frameworks against Docker are in
tests/integration/test_adapter_*.py."""

import json
import os
import subprocess
import sys

import pytest

import swe_gym_env
from swe_gym_env.backends.fake import FakeBackend
from swe_gym_env.env import SWEEnv
from swe_gym_env.errors import ConfigError, InfraError, SandboxStartError
from swe_gym_env.integrations.common import EpisodeFailure, require, task_id_from
from swe_gym_env.integrations.trl import TRLEnvironmentFactory, TRLSWEEnvironment
from swe_gym_env.patches import split_patch
from swe_gym_env.tools import TOOL_SCHEMAS

TASKS = swe_gym_env.load_tasks("builtin")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Broken(FakeBackend):
    def start(self, task, *, role="agent"):
        raise SandboxStartError("no container for you")


def test_integrations_import_no_framework_until_an_adapter_needs_it():
    code = (
        "import sys, swe_gym_env.integrations, swe_gym_env.integrations.common, swe_gym_env.integrations.trl, "
        "swe_gym_env.integrations.mini_swe_agent\n"
        "print([m for m in ('trl', 'transformers', 'minisweagent', 'skyrl_gym', 'openai') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.stdout.strip() == "[]"


def test_require_names_the_extra_that_installs_a_missing_framework():
    with pytest.raises(ImportError, match=r"pip install 'swe-gym-env\[skyrl\]'"):
        require("no_such_framework_here", "skyrl")


def test_a_row_names_its_task_by_task_id_or_instance_id():
    assert task_id_from({"task_id": "a", "instance_id": "b"}) == "a"
    assert task_id_from({"instance_id": "b", "prompt": []}) == "b"
    assert task_id_from({"prompt": []}) is None
    with pytest.raises(ConfigError, match="names no task"):
        task_id_from({"prompt": []}, required=True)
    with pytest.raises(ConfigError, match="non-empty string"):
        task_id_from({"task_id": 3})


def test_episode_failure_is_a_typed_infra_error():
    error = EpisodeFailure({"type": "sandbox_lost", "message": "gone", "phase": "step"}, "t-1")
    assert isinstance(error, InfraError) and error.kind == "sandbox_lost" and "t-1" in str(error)


def test_trl_tools_have_the_schemas_of_info_tools():
    from transformers.utils import get_json_schema

    for schema in TOOL_SCHEMAS:
        expected = schema["function"]
        got = get_json_schema(getattr(TRLSWEEnvironment, expected["name"]))["function"]
        assert got["description"] == expected["description"]
        assert set(got["parameters"]["properties"]) == set(expected["parameters"]["properties"])
        assert got["parameters"].get("required", []) == expected["parameters"]["required"]
        for name, spec in expected["parameters"]["properties"].items():
            assert got["parameters"]["properties"][name]["type"] == spec["type"]
            assert got["parameters"]["properties"][name].get("enum") == spec.get("enum")


def test_trl_environment_exposes_only_tools_and_the_reset_reward_pair():
    import inspect

    public = [name for name, _ in inspect.getmembers(TRLSWEEnvironment, inspect.isfunction) if not name.startswith("_")]
    assert sorted(public) == ["bash", "get_reward", "reset", "str_replace_editor", "submit", "trace"]


def test_trl_environment_episode_on_the_fake_backend():
    with TRLEnvironmentFactory(tasks="builtin", backend="fake") as factory:
        environment = factory()
        prompt = environment.reset(prompt=[], task_id=TASKS[2].instance_id)
        assert TASKS[2].problem_statement.strip() in prompt
        assert environment.str_replace_editor("view", "/testbed").startswith("Files and directories")
        assert environment.submit().startswith("Submitted") and environment.done
        assert environment.get_reward() == 0.0 and environment.turns == 2
        assert environment.bash("ls") == "The episode is over."
        drawn = environment.reset(prompt=[])  # no task id in the row: the env draws one
        assert "<issue>" in drawn and environment.env.task in factory.tasks


def test_trl_get_reward_is_none_when_the_infrastructure_broke_the_episode():
    environment = TRLSWEEnvironment(SWEEnv(tasks="builtin", backend=Broken()))
    environment.reset(task_id=TASKS[0].instance_id)
    assert environment.get_reward() is None  # no tool call was made: still not a zero
    assert "infrastructure failure" in environment.bash("ls") and environment.done
    assert environment.get_reward() is None and environment.failure["type"] == "sandbox_start"


def test_trl_unsubmitted_episode_is_graded_only_with_grade_on_truncation():
    for grade, expected in ((False, 0.0), (True, 1.0)):
        environment = TRLSWEEnvironment(SWEEnv(tasks="builtin", backend="fake", grade_on_truncation=grade))
        task = TASKS[0]
        environment.reset(task_id=task.instance_id)
        for part in split_patch(task.patch):
            lines = part.text.splitlines(keepends=True)[4:]
            old = "".join(line[1:] for line in lines if line[:1] in " -")
            new = "".join(line[1:] for line in lines if line[:1] in " +")
            assert environment.str_replace_editor("str_replace", part.path, old_str=old, new_str=new).startswith("Edited")
        assert environment.get_reward() == expected and environment.done == grade


def test_mini_swe_agent_environment_raises_episode_failure_when_the_sandbox_cannot_start():
    from swe_gym_env.integrations.mini_swe_agent import SWEMiniEnvironment

    with pytest.raises(EpisodeFailure) as caught:
        SWEMiniEnvironment(TASKS[0].instance_id, backend=Broken())
    assert caught.value.failure["phase"] == "reset" and caught.value.kind == "sandbox_start"


def test_skyrl_env_needs_a_task_and_raises_on_a_failed_start():
    skyrl = pytest.importorskip("swe_gym_env.integrations.skyrl")
    with pytest.raises(ConfigError, match="names no task"):
        skyrl.SWESkyRLEnv({"backend": "fake"}, {"reward_spec": {}})
    env = skyrl.SWESkyRLEnv({"backend": Broken()}, {"task_id": TASKS[0].instance_id, "max_turns": 7})
    assert env.max_turns == 7 and env.swe_env.max_steps == 7
    with pytest.raises(EpisodeFailure, match="sandbox_start"):
        env.init([])


def test_skyrl_step_output_is_json_serializable_on_the_fake_backend():
    skyrl = pytest.importorskip("swe_gym_env.integrations.skyrl")
    env = skyrl.SWESkyRLEnv({"backend": "fake"}, {"task_id": TASKS[0].instance_id})
    env.init([{"role": "system", "content": "s"}])
    out = env.step('<tool_call>{"name": "submit", "arguments": {}}</tool_call>')
    assert out["done"] and out["observations"] == [] and set(out) == {
        "observations", "reward", "done", "metadata", "postprocessed_action"}
    json.dumps(out)
    env.close()
