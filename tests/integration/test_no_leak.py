"""The fix cannot be found inside the agent's container: no history, reflog, stash, loose object or file holds it."""

import shlex

import pytest
from steps import bash

import swe_gym_env
from swe_gym_env.tasks.builtin import starting_files

TASKS = swe_gym_env.load_tasks("builtin")


def gold_only_lines(task):
    """Lines the gold patch adds that appear nowhere in the task's starting state."""
    present = "\n".join(starting_files(task).values())
    added = [line[1:].strip() for line in task.patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return [line for line in added if len(line) > 12 and line not in present]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.instance_id)
def test_git_holds_only_the_starting_state(make_env, task):
    env = make_env()
    env.reset(options={"task_id": task.instance_id})
    checks = {
        "commits": "git log --all --oneline | wc -l",
        "reflog": "git reflog | wc -l",
        "stash": "git stash list | wc -l",
        "refs": "git for-each-ref | wc -l",
        "unreachable": "git fsck --unreachable --no-reflogs 2>/dev/null | wc -l",
        "extra_objects": "echo $(( $(git cat-file --batch-all-objects --batch-check | wc -l)"
                         " - $(git rev-list --all --objects | wc -l) ))",
        "pyc": "find / -xdev -name '*.pyc' -path '*testbed*' 2>/dev/null | wc -l",
        "head": "git rev-parse HEAD",
    }
    values = {}
    for name, command in checks.items():
        obs, info = bash(env, command)
        values[name] = obs.strip()
    assert values == {"commits": "1", "reflog": "1", "stash": "0", "refs": "1", "unreachable": "0",
                      "extra_objects": "0", "pyc": "0", "head": task.base_commit}


@pytest.mark.parametrize("task", TASKS[::4], ids=lambda t: t.instance_id)
def test_no_file_anywhere_holds_the_fixed_code(make_env, task):
    lines = gold_only_lines(task)
    assert lines, "the gold patch adds no distinctive line to look for"
    env = make_env(command_timeout=300)
    env.reset(options={"task_id": task.instance_id})
    patterns = " ".join(f"-e {shlex.quote(line)}" for line in lines)
    obs, info = bash(env, f"grep -rIlF {patterns} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null;"
                          " echo done")
    assert obs.strip() == "done", f"the fixed code was found in: {obs}"
