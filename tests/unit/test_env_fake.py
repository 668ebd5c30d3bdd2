"""SWEEnv's contract on the in-memory backend: no Docker needed."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import swe_gym_env
from swe_gym_env import ConfigError
from swe_gym_env.backends.fake import FakeBackend
from swe_gym_env.env import SWEEnv
from swe_gym_env.errors import SandboxStartError

TASKS = swe_gym_env.load_tasks("builtin")


def make(**kwargs):
    return SWEEnv(tasks="builtin", backend="fake", **kwargs)


def apply_gold_with_editor(env, task):
    """Replay the gold patch as str_replace calls (the fake applies edits exactly)."""
    from swe_gym_env.patches import split_patch

    for part in split_patch(task.patch):
        old = "".join(l[1:] for l in part.text.splitlines(keepends=True)[4:] if l[:1] in " -")
        new = "".join(l[1:] for l in part.text.splitlines(keepends=True)[4:] if l[:1] in " +")
        obs, *_ = env.step({"name": "str_replace_editor",
                            "arguments": {"command": "str_replace", "path": part.path, "old_str": old, "new_str": new}})
        assert obs.startswith("Edited"), obs


def test_check_env_passes():
    env = gym.make("SWE-v0", tasks="builtin", backend="fake")
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_reset_picks_by_id_or_seeded_rng():
    env = make()
    obs, info = env.reset(seed=0, options={"task_id": TASKS[3].instance_id})
    assert info["task_id"] == TASKS[3].instance_id and TASKS[3].problem_statement.strip() in obs
    assert [t["function"]["name"] for t in info["tools"]] == ["bash", "str_replace_editor", "trace", "submit"]
    picks = [env.reset(seed=s)[1]["task_id"] for s in (1, 2, 3)]
    assert picks == [env.reset(seed=s)[1]["task_id"] for s in (1, 2, 3)]
    with pytest.raises(ConfigError, match="not one of"):
        env.reset(options={"task_id": "nope"})


def test_gold_edit_then_submit_is_rewarded_and_terminates():
    env = make()
    task = TASKS[0]
    env.reset(options={"task_id": task.instance_id})
    apply_gold_with_editor(env, task)
    obs, reward, terminated, truncated, info = env.step('<tool_call>{"name": "submit", "arguments": {}}</tool_call>')
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["report"]["resolved"] and info["patch"] and info["patch_similarity"] > 0.5
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("ls")


def test_submit_without_change_gets_zero():
    env = make()
    env.reset(options={"task_id": TASKS[1].instance_id})
    _, reward, terminated, _, info = env.step({"name": "submit", "arguments": {}})
    assert reward == 0.0 and terminated and info["report"]["empty_patch"]


def test_format_errors_are_observations_and_counted():
    env = make()
    env.reset(seed=0)
    for bad in ("", "nonsense", '<tool_call>{"name": "bash"', {"name": "nope"}):
        obs, reward, terminated, truncated, info = env.step(bad)
        assert obs.startswith("Your action could not be used") and reward == 0 and not (terminated or truncated)
        assert info["format_error"]
    assert info["format_errors"] == 4 and info["step"] == 4


def test_step_limit_truncates_and_can_grade():
    env = make(max_steps=2, grade_on_truncation=True)
    task = TASKS[0]
    env.reset(options={"task_id": task.instance_id})
    env.step("```bash\nls\n```")
    obs, reward, terminated, truncated, info = env.step("```bash\nls\n```")
    assert truncated and not terminated and "step limit" in obs and "report" in info


def test_patch_similarity_reward():
    env = make(reward="patch_similarity")
    env.reset(options={"task_id": TASKS[0].instance_id})
    _, reward, *_ = env.step({"name": "submit", "arguments": {}})
    assert reward == -1.0  # no patch: unusable output
    env.reset(options={"task_id": TASKS[0].instance_id})
    apply_gold_with_editor(env, TASKS[0])
    _, reward, *_ = env.step({"name": "submit", "arguments": {}})
    assert reward > 0.9


def test_infra_failure_at_reset_is_typed_and_truncates():
    class Broken(FakeBackend):
        def start(self, task, *, role="agent"):
            raise SandboxStartError("no container for you")

    env = SWEEnv(tasks="builtin", backend=Broken())
    obs, info = env.reset(seed=0)
    assert info["failure"]["type"] == "sandbox_start" and info["failure"]["phase"] == "reset"
    obs, reward, terminated, truncated, info = env.step("```bash\nls\n```")
    assert truncated and not terminated and reward == 0.0 and "infrastructure failure" in obs
    assert info["failure"]["type"] == "sandbox_start"


def test_infra_failure_during_a_step():
    from swe_gym_env.errors import SandboxLostError

    def handler(command):
        raise SandboxLostError("container vanished")

    env = SWEEnv(tasks="builtin", backend=FakeBackend(handler=handler))
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("```bash\nls\n```")
    assert truncated and info["failure"] == {"type": "sandbox_lost", "message": "SandboxLostError: container vanished",
                                             "phase": "step"}


def test_close_is_idempotent_and_step_before_reset_is_an_error():
    env = make()
    with pytest.raises(RuntimeError, match="reset"):
        env.step("ls")
    env.reset(seed=0)
    env.close()
    env.close()


@pytest.mark.parametrize("kwargs", [{"max_steps": 0}, {"reward": "vibes"}, {"render_mode": "human"}, {"backend": "k8s"}])
def test_bad_options_raise_config_errors(kwargs):
    with pytest.raises(ConfigError):
        make(**kwargs) if "backend" not in kwargs else SWEEnv(tasks="builtin", **kwargs)


def test_tools_option_offers_only_the_named_tools():
    env = make(tools=["bash", "str_replace_editor", "submit"])
    obs, info = env.reset(options={"task_id": TASKS[0].instance_id})
    assert [t["function"]["name"] for t in info["tools"]] == ["bash", "str_replace_editor", "submit"]
    obs, reward, terminated, truncated, info = env.step({"name": "trace", "arguments": {"command": "python3 x.py"}})
    assert info["format_error"] and "Unknown tool 'trace'" in obs and "trace" not in obs.replace("'trace'", "")
    assert "Available tools: bash, str_replace_editor, submit." in obs
    with pytest.raises(ConfigError, match="must include 'submit'"):
        make(tools=["bash"])
    with pytest.raises(ConfigError, match=r"unknown tool\(s\) \['grep'\]"):
        make(tools=["grep", "submit"])
    with pytest.raises(ConfigError, match="not the string"):
        make(tools="bash")
    envs = gym.make_vec("SWE-v0", num_envs=2, tasks="builtin", backend="fake", tools=["trace", "submit"])
    _, info = envs.reset(seed=0)
    assert envs.envs[0].tool_names == ("trace", "submit")
    envs.close()


def test_trace_in_a_sandbox_without_bash_is_a_tool_error():
    env = make()
    env.reset(options={"task_id": TASKS[0].instance_id})
    obs, reward, terminated, truncated, info = env.step({"name": "trace", "arguments": {"command": "python3 x.py"}})
    assert obs.startswith("Error: the tracer could not be put in place") and info["tool_error"] and not terminated
