import pytest

from swe_gym_env import TaskError, load_tasks
from swe_gym_env.grading import ProtectedPaths, check_gradable, patch_similarity
from swe_gym_env.grading.eval_script import pytest_eval_script
from swe_gym_env.grading.eval_script import test_patch_files as hidden_test_files
from swe_gym_env.patches import make_patch

TASK = load_tasks("builtin")[0]


@pytest.mark.parametrize(
    "path, protected",
    [
        ("conftest.py", True),
        ("pkg/sub/conftest.py", True),
        ("pytest.ini", True),
        ("tox.ini", True),
        ("site-packages/evil.pth", True),
        ("sitecustomize.py", True),
        ("tests/test_wrap.py", True),
        ("tests/helpers.py", True),
        ("pkg/tests/data.txt", True),
        ("test_repro.py", True),
        ("pkg/module_test.py", True),
        ("textkit/wrap.py", False),
        ("README.md", False),
        ("textkit/testing_utils.py", False),
        ("setup.cfg", True),
        ("pyproject.toml", True),
        ("sub/pytest.toml", True),
        ("textkit.egg-info/entry_points.txt", True),
        ("build/lib/textkit.dist-info/METADATA", True),
        ("test/helpers.py", True),
        ("setup.py", False),
    ],
)
def test_protected_paths(path, protected):
    assert ProtectedPaths().matcher(TASK)(path) is protected


def test_hidden_test_files_are_always_protected():
    hidden = next(iter(hidden_test_files(TASK.test_patch)[0]))
    assert ProtectedPaths(basenames=(), directories=()).matcher(TASK)(hidden)


def test_patch_similarity_follows_swe_rl():
    assert patch_similarity("", TASK.patch) == -1.0
    assert patch_similarity("not a diff", TASK.patch) == -1.0
    assert patch_similarity(TASK.patch, TASK.patch) == 1.0
    other = make_patch({"elsewhere.py": "a\n"}, {"elsewhere.py": "b\n"})
    assert patch_similarity(other, TASK.patch) == 0.0  # union of files: each side's file scores 0
    near = TASK.patch.replace("text[keep]", "text[keep ]")
    assert 0.9 < patch_similarity(near, TASK.patch) < 1.0


def test_eval_script_restores_applies_and_runs_with_configuration_ignored():
    test_patch = make_patch({"tests/test_a.py": "def test_a():\n    pass\n"},
                            {"tests/test_a.py": "def test_a():\n    pass\n\n\ndef test_b():\n    assert 1\n"})
    script = pytest_eval_script("f" * 40, test_patch, ["tests/test_a.py", "tests/test_c.py"])
    lines = script.splitlines()
    assert lines[:2] == ["#!/bin/bash", "set -uxo pipefail"]
    assert f"git checkout {'f' * 40} -- tests/test_a.py" in lines
    assert ": '>>>>> Start Test Output'" in lines and ": '>>>>> End Test Output'" in lines
    run = next(line for line in lines if "-m pytest" in line)
    assert "-c /dev/null" in run and "tests/test_c.py" in run and "canary" not in script
    with pytest.raises(ValueError):
        pytest_eval_script("", test_patch, [])


def test_check_gradable_names_missing_fields():
    task = load_tasks([{"instance_id": "a", "repo": "o/r", "problem_statement": "p"}])[0]
    with pytest.raises(TaskError, match="image, eval_script, log_parser"):
        check_gradable(task)
    check_gradable(TASK)


@pytest.mark.parametrize("applied", [True, False])
def test_a_run_whose_canaries_could_not_be_added_is_never_resolved(tmp_path, applied):
    """The canary patch applies to the starting state (validation checks it); if it did not apply in a
    grading, the agent's patch got in its way, and the run cannot be trusted: 0 whatever the log says."""
    from swebench.harness.constants import START_TEST_OUTPUT

    from swe_gym_env.backends.fake import FakeBackend
    from swe_gym_env.grading.cost import CostCache
    from swe_gym_env.grading.grader import Grader, TestRun

    task = load_tasks("builtin")[0]
    grader = Grader(FakeBackend(), seed=7, cost_cache=CostCache(tmp_path / "cost.json"))
    hardening = grader._harden(task, task.eval_script, FakeBackend().start(task))
    assert hardening.canaries and hardening.marker
    status = {test: "PASSED" for test in (*task.FAIL_TO_PASS, *task.PASS_TO_PASS)}
    status.update({canary: "FAILED" for canary in hardening.canary_ids})
    head = "" if applied else f"error: patch failed\n{hardening.marker}\n"
    run = TestRun(status, True, f"{head}{START_TEST_OUTPUT}\n...", False, True, "diff --git a/x b/x\n", (), 1.0,
                  hardening=hardening)
    report = grader.verdict(task, run)
    assert report.resolved is applied and report.reward == float(applied)
    if not applied:
        assert "canary patch did not apply" in report.integrity["limits"]
        assert any("cannot be trusted" in note for note in report.notes)
