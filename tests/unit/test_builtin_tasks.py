"""The committed tasks.jsonl is what the specs and library sources produce today."""

import pytest

from swe_gym_env import load_tasks
from swe_gym_env.patches import apply_patch
from swe_gym_env.synth.builtin import task_for
from swe_gym_env.tasks.builtin import libraries, repo_files, starting_files
from swe_gym_env.tasks.builtin.specs import ALL_SPECS

TASKS = {task.instance_id: task for task in load_tasks("builtin")}


def test_every_spec_is_in_tasks_jsonl():
    assert set(TASKS) == {spec.instance_id for spec in ALL_SPECS}
    assert len(libraries()) >= 2 and len(TASKS) >= 6


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.name)
def test_row_is_up_to_date_with_its_spec(spec):
    fresh = task_for(spec)
    stored = TASKS[spec.instance_id]
    for name in ("image", "base_commit", "setup_patch", "patch", "test_patch", "eval_script", "problem_statement"):
        assert getattr(stored, name) == getattr(fresh, name), (
            f"{name} is stale: run `make tasks` (python -m swe_gym_env.synth.builtin)"
        )


@pytest.mark.parametrize("task", list(TASKS.values()), ids=lambda task: task.instance_id)
def test_gold_patch_undoes_the_setup_patch(task):
    library = task.repo.split("/")[1]
    pristine = {name: data.decode() for name, data in repo_files(library).items()}
    assert apply_patch(starting_files(task), task.patch) == pristine
    assert not any(name.startswith("tests/") for name in task.setup_patch.split("diff --git")[1:])


def test_problem_statements_do_not_leak_the_fix():
    for task in TASKS.values():
        added = [line[1:].strip() for line in task.patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
        for line in added:
            if len(line) > 25:
                assert line not in task.problem_statement, task.instance_id
