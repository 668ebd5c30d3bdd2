"""The trace tool in real task containers: FAIL_TO_PASS tests of every built-in task, limits, no trace left behind."""

import ast
import re

import pytest
from steps import apply_patch_with_tools, bash, submit

import swe_gym_env
from swe_gym_env.patches import split_patch
from swe_gym_env.tasks.builtin import starting_files

TASKS = {task.instance_id: task for task in swe_gym_env.load_tasks("builtin")}
IDS = sorted(TASKS)


@pytest.fixture(scope="module")
def env():
    from swe_gym_env.env import SWEEnv

    env = SWEEnv(tasks="builtin", command_timeout=20)
    yield env
    env.close()


def trace(env, **arguments):
    obs, reward, terminated, truncated, info = env.step({"name": "trace", "arguments": arguments})
    assert not terminated and not truncated and info["tool"] == "trace", (obs, info)
    return obs, info


def gold_function_lines(task):
    """path -> line numbers of the functions the gold patch changes, in the starting state's files."""
    files = starting_files(task)
    lines = {}
    for part in split_patch(task.patch):
        tree = ast.parse(files[part.path])
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for match in re.finditer(r"^@@ -(\d+)(?:,(\d+))?", part.text, re.MULTILINE):
            start, count = int(match.group(1)), int(match.group(2) or 1)
            for node in functions:
                if node.lineno <= start + count and node.end_lineno >= start:
                    lines.setdefault(part.path, set()).update(range(node.lineno + 1, node.end_lineno + 1))
    return lines


@pytest.mark.parametrize("instance_id", IDS)
def test_trace_of_a_fail_to_pass_test_shows_the_function_the_gold_patch_changes(env, instance_id):
    task = TASKS[instance_id]
    env.reset(options={"task_id": instance_id})
    apply_patch_with_tools(env, task.test_patch)  # the hidden tests, as the check asks
    obs, info = trace(env, command=f"python3 -m pytest -q -p no:cacheprovider {task.FAIL_TO_PASS[0]}")
    assert info["exit_code"] != 0 and info["trace_lines"] > 0, obs
    shown = {(path, int(line)) for path, line in re.findall(r"^\s*(\S+\.py):(\d+)  ", obs, re.MULTILINE)}
    wanted = {(path, line) for path, lines in gold_function_lines(task).items() for line in lines}
    assert shown & wanted, f"no line of the changed function in the trace:\n{obs}"


def test_trace_leaves_no_change_in_the_diff_nor_in_tmp_and_grading_is_unaffected(env):
    task = TASKS["swe-gym__textkit-1"]
    env.reset(options={"task_id": task.instance_id})
    apply_patch_with_tools(env, task.patch)
    before = env.sandbox.diff()
    obs, info = trace(env, command="python3 -m pytest -q tests/test_wrap.py", include_tests=True, max_lines=50)
    assert info["exit_code"] == 0 and "call test_" in obs
    assert env.sandbox.diff() == before
    obs, _ = bash(env, "ls -a /tmp | grep -c swe-gym-trace; git status --short; echo \"n=${n-unset} f=${f-unset}\"; pwd")
    assert obs.split("\n")[0] == "0" and "n=unset f=unset" in obs and "/testbed" in obs
    assert "?? " not in obs  # no untracked file appeared
    obs, reward, terminated, truncated, info = submit(env)
    assert reward == 1.0 and info["report"]["status"] == "RESOLVED_FULL"


def test_plain_script_crash_timeout_and_megabytes_are_clean_observations(env):
    env.reset(options={"task_id": "swe-gym__textkit-1"})
    env.step({"name": "str_replace_editor", "arguments": {"command": "create", "path": "/tmp/try_it.py", "file_text":
              "from textkit.wrap import truncate\nprint(truncate('hello world again', 14, word_boundary=True))\n"}})
    obs, info = trace(env, command="cd /tmp && PYTHONPATH=/testbed:$PYTHONPATH python3 try_it.py")
    assert "call truncate(text='hello world again', length=14" in obs and "return truncate -> 'hello...'" in obs
    assert obs.rstrip().endswith("hello...") and info["exit_code"] == 0
    obs, info = trace(env, command="python3 -c 'from textkit.wrap import truncate; truncate(\"abc\", -1)'")
    assert "raised ValueError: length must not be negative, got -1" in obs and "Traceback" in obs
    assert info["exit_code"] == 1
    obs, info = trace(env, command="python3 -c 'from textkit.wrap import truncate\nwhile True: truncate(\"a b c\", 4)'",
                      max_lines=30)
    assert info["timed_out"] and "[command timed out after 20 s" in obs and "call truncate(" in obs
    obs, info = trace(env, command="python3 -c 'from textkit.wrap import truncate; print(\"x\" * 5_000_000); "
                                   "truncate(\"a b\", 2)'")
    assert info["truncated_output"] and "characters of output omitted" in obs and "call truncate(" in obs
    assert len(obs) < 40_000
    obs, _ = bash(env, "ps -eo comm | grep -c python3; ls -a /tmp | grep -c swe-gym-trace")
    assert obs.split("\n")[:2] == ["0", "0"], obs


def test_stateless_exec_mode_and_a_disabled_trace_tool(make_env):
    env = make_env(exec_mode="stateless", warm_pool=0)
    env.reset(options={"task_id": "swe-gym__intervals-1"})
    obs, info = trace(env, command="python3 -m pytest -q -p no:cacheprovider tests/test_ops.py", max_lines=10)
    assert info["trace_lines"] == 10 and "trace cap reached (10 lines" in obs
    env = make_env(tools=["bash", "str_replace_editor", "submit"], warm_pool=0)
    env.reset(options={"task_id": "swe-gym__intervals-1"})
    obs, _reward, _terminated, _truncated, info = env.step({"name": "trace", "arguments": {"command": "python3 -V"}})
    assert info["format_error"] and "Unknown tool 'trace'" in obs
