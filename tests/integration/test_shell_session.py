"""The persistent shell in real containers: terminal semantics, the wrapper's guarantees, recovery."""

import pytest
from steps import apply_patch_with_tools, bash, submit

from swe_gym_env.backends.base import Limits
from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

TASK = load_tasks("builtin")[0]
LIMITS = Limits(command_timeout=4, pids=128, output_head=2000, output_tail=500)


@pytest.fixture
def env(make_env):
    env = make_env(limits=LIMITS, max_steps=100, warm_pool=0)
    env.reset(options={"task_id": TASK.instance_id})
    assert env.sandbox.exec_mode == "session"
    return env


def test_cwd_variables_and_functions_carry_over_like_a_terminal(env):
    bash(env, "cd /tmp && export GREETING=hello && count=3 && shout() { echo \"$1!\"; }")
    obs, _ = bash(env, 'pwd; echo "$GREETING $count"; shout hey')
    assert obs.splitlines()[:3] == ["/tmp", "hello 3", "hey!"]
    obs, info = bash(env, "cd /testbed && exit 5")
    assert info["exit_code"] == 5
    obs, _ = bash(env, "pwd")
    assert obs.strip() == "/testbed"


def test_agent_state_does_not_reach_the_diff_or_the_grader(env):
    apply_patch_with_tools(env, TASK.patch)
    bash(env, "export GIT_DIR=/nowhere GIT_INDEX_FILE=/nowhere; git() { echo fake; }; cd /")
    obs, reward, terminated, _, info = submit(env)
    assert terminated and reward == 1.0, info.get("report")
    assert info["patch"].startswith("diff --git")


def test_timeout_kills_inside_the_container_and_the_session_goes_on(env):
    obs, info = bash(env, "sleep 1000 & sleep 1000")
    assert info["timed_out"]
    obs, _ = bash(env, "ps -eo args | grep -c '^sleep 1000' || true")
    assert obs.strip() == "0"


def test_fork_bomb_is_contained_and_the_session_survives(env):
    pid = env.sandbox._session.pid
    bash(env, ":(){ :|:& };:")
    obs, _ = bash(env, "echo alive; ps -e --no-headers | wc -l")
    assert obs.splitlines()[0] == "alive" and int(obs.splitlines()[1]) < 20
    assert env.sandbox._session.pid == pid


def test_floods_background_holders_and_small_writes(env):
    obs, info = bash(env, "yes")
    assert info["truncated_output"] and len(obs) < 4000
    obs, _ = bash(env, "sleep 1000 & echo started")
    assert obs.startswith("started")
    obs, info = bash(env, "for i in $(seq 1500); do echo $i; done; echo end")
    assert info["exit_code"] == 0 and obs.rstrip().endswith("end")


def test_killing_the_session_shell_is_reported_then_recovered(env):
    bash(env, "cd /tmp && marker=kept")
    pid = env.sandbox._session.pid
    obs, info = bash(env, f"kill -9 {pid}; sleep 2")
    assert "shell session was killed" in obs
    obs, _ = bash(env, 'pwd; echo "$marker"')
    assert obs.splitlines()[:2] == ["/tmp", "kept"] and env.sandbox._session.pid != pid


def test_killing_everything_in_the_container_is_the_agents_own_doing(env):
    bash(env, "cd /tmp && marker=kept")
    obs, reward, terminated, truncated, info = env.step({"name": "bash", "arguments": {"command": "kill -9 -1"}})
    assert not (terminated or truncated) and "failure" not in info  # PID 1 survives: the episode goes on
    obs, _ = bash(env, 'pwd; echo "$marker"')
    assert obs.splitlines()[-2:] == ["/tmp", "kept"]


def test_a_container_that_really_dies_is_an_infrastructure_failure(env):
    env.sandbox.container.kill()
    obs, reward, terminated, truncated, info = env.step({"name": "bash", "arguments": {"command": "echo hi"}})
    assert truncated and not terminated and info["failure"]["type"] == "sandbox_lost"


def test_stateless_mode_is_still_available():
    backend = DockerBackend(limits=LIMITS, exec_mode="stateless")
    sandbox = backend.start(TASK)
    try:
        assert sandbox._session is None
        sandbox.exec("cd /tmp && export X=1")
        result = sandbox.exec('pwd; echo "[$X]"')
        assert result.output.splitlines() == ["/testbed", "[]"]
    finally:
        sandbox.close()
        backend.close()
