"""mini-swe-agent's own DefaultAgent, with its SWE-bench config and its scripted model, in our containers."""

import os
import tempfile

import pytest

os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")  # its import prints a banner and reads a user config dir
os.environ.setdefault("MSWEA_GLOBAL_CONFIG_DIR", tempfile.mkdtemp(prefix="mswea-"))

import yaml
from minisweagent.agents.default import DefaultAgent
from minisweagent.config import builtin_config_dir
from minisweagent.models.test_models import DeterministicModel, make_output

from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, get_client
from swe_gym_env.integrations.common import EpisodeFailure
from swe_gym_env.integrations.mini_swe_agent import SWEMiniEnvironment
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

CONFIG = yaml.safe_load((builtin_config_dir / "benchmarks" / "swebench.yaml").read_text())
TASK = load_tasks("builtin")[0]
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"


def mine():
    return [c.name for c in project_containers(get_client()) if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid())]


def environment(**kwargs):
    options = {k: v for k, v in CONFIG["environment"].items() if k in ("cwd", "timeout", "env")}
    return SWEMiniEnvironment(TASK.instance_id, tasks="builtin", **{**options, **kwargs})


def agent(env, *commands):
    outputs = [make_output(f"THOUGHT: step {i}", [{"command": command}]) for i, command in enumerate(commands)]
    model = DeterministicModel(outputs=outputs, observation_template=CONFIG["model"]["observation_template"])
    return DefaultAgent(model, env, **CONFIG["agent"])


def gold_commands(patch):
    return [
        f"cat > /tmp/fix.patch <<'SWE_GYM_EOF'\n{patch}SWE_GYM_EOF",
        "git apply /tmp/fix.patch && git status --short",
        SUBMIT,
    ]


def test_gold_patch_through_the_default_agent_is_resolved():
    with environment() as env:
        run = agent(env, *gold_commands(TASK.patch))
        result = run.run(TASK.problem_statement)
        assert result["exit_status"] == "Submitted" and result["reward"] == 1.0, result
        assert result["report"]["status"] == "RESOLVED_FULL"
        assert result["submission"].startswith("diff --git")  # the agent's own submission text, kept
        observations = [m["content"] for m in run.messages if m["role"] == "user"][1:]
        assert "<returncode>0</returncode>" in observations[1] and " M " in observations[1]
        assert env.swe_env.sandbox is None  # graded: the episode's sandbox is released
    assert mine() == []


def test_empty_submission_scores_zero():
    with environment() as env:
        run = agent(env, "git status --short && false", SUBMIT)
        result = run.run(TASK.problem_statement)
        assert result["exit_status"] == "Submitted" and result["reward"] == 0.0
        assert result["report"]["empty_patch"]
        assert "<returncode>1</returncode>" in run.messages[3]["content"]  # a failing command is an observation
        assert env.serialize()["info"]["swe_gym_env"]["reward"] == 0.0  # in the saved trajectory too


def test_execute_follows_mini_swe_agents_output_contract():
    with environment(timeout=2) as env:
        out = env.execute({"command": "pwd; echo $PAGER; exit 3"})
        assert out == {"output": "/testbed\ncat\n", "returncode": 3, "exception_info": ""}
        assert env.execute({"command": "pwd"}, cwd="/tmp")["output"] == "/tmp\n"
        missing = env.execute({"command": "pwd"}, cwd="/nowhere")  # the agent's mistake, not a fault
        assert missing["returncode"] != 0 and "nowhere" in missing["output"]
        slow = env.execute({"command": "sleep 30"}, timeout=1)
        assert slow["returncode"] == -1 and "timed out" in slow["exception_info"]
        assert env.get_template_vars()["instance_id"] == TASK.instance_id


def before_second_command(run, action):
    """Run ``action`` just before the agent's model is asked for its second command."""
    original = run.model.query

    def query(messages, **kwargs):
        if run.n_calls == 2:
            action()
        return original(messages, **kwargs)

    run.model.query = query
    return run


def test_a_lost_container_is_an_error_not_a_zero_and_leaves_nothing():
    env = environment()
    run = before_second_command(agent(env, "echo one", "echo two", SUBMIT),
                                lambda: env.swe_env.sandbox.container.kill())  # it dies from outside
    with pytest.raises(EpisodeFailure) as caught:
        run.run(TASK.problem_statement)
    assert caught.value.failure["type"] == "sandbox_lost" and env.reward is None
    assert run.messages[-1]["extra"]["exit_status"] == "EpisodeFailure"  # how mini records an errored run
    assert mine() == []  # released before raising, without close()


def test_an_exception_mid_episode_leaves_no_container():
    def crash():
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"), environment() as env:
        before_second_command(agent(env, "ls", "ls", SUBMIT), crash).run(TASK.problem_statement)
    assert mine() == []
