"""SWE-RL with real containers: records read from a task's image, answers judged by the hidden tests, and a
short end-to-end run of the single-turn recipe (`python -m trainer --config configs/tiny-swe-rl.yaml`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swe_gym_env import load_tasks
from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.grading import Grader
from swe_gym_env.grading.answer import format_answer, parse_edits, split_answer
from swe_gym_env.grading.single_turn import answer_patch, score_answer
from swe_gym_env.swe_rl import MiningConfig, oracle_answer
from swe_gym_env.swe_rl.from_tasks import record_from_task, records_from_tasks
from swe_gym_env.swe_rl.sources import builtin_files, image_files

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def backend():
    backend = DockerBackend(pull_policy="never")
    yield backend
    backend.close()


def test_records_read_from_the_image_match_the_libraries(backend):
    tasks = [load_tasks("builtin")[0], load_tasks("synth")[0]]
    config = MiningConfig(related_files=2)
    from_image, skipped = records_from_tasks(tasks, image_files(backend), config)
    assert not skipped
    for task, record in zip(tasks, from_image, strict=True):
        assert record == record_from_task(task, builtin_files(task), config)


def test_answers_are_judged_by_the_hidden_tests(backend):
    task = load_tasks("synth")[0]
    record = record_from_task(task, builtin_files(task))
    grader = Grader(backend, timeout=600)

    def verdict(answer: str):
        score = score_answer(record.context, record.oracle_new, answer)
        assert score.well_formed, score.error
        return score.reward, grader.grade(task, answer_patch(record.context, score.predicted))

    reward, report = verdict(oracle_answer(record))
    assert reward == 1.0 and report.resolved
    # the same edit undone: well-formed, similar in shape, but the bug stays
    thought, _ = split_answer(oracle_answer(record))
    (edit,) = parse_edits(oracle_answer(record).split("<solution>")[1])
    line = edit.search.splitlines()[-1]
    wrong = format_answer(thought, [type(edit)(edit.path, line, line + "  # looked at")])
    reward, report = verdict(wrong)
    assert 0.0 <= reward < 1.0 and not report.resolved and report.patch_applied


def test_the_recipe_end_to_end(tmp_path):
    """The embedded default, shortened: every stage prints similarity and the test-judged resolve rate."""
    overrides = [
        "swe_rl.train_per_repo=2", "tasks.heldout_per_repo=1", "warm_start.sft.epochs=3",
        "rl.steps=4", "rl.tasks_per_step=2", "rl.num_generations=2", "eval.samples_per_task=2", "run.report_to=[]",
    ]
    command = [sys.executable, "-m", "trainer", "--config", "configs/tiny-swe-rl.yaml", "--quiet",
               "--output-dir", str(tmp_path)]
    for override in overrides:
        command += ["--set", override]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    for label in ("base", "warm start", "after RL"):
        line = next(line for line in done.stdout.splitlines() if line.startswith(f"[{label}] train:"))
        assert line.count("similarity") == 2 and line.count("test-judged resolve rate") == 2, line
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [e["label"] for e in summary["evals"]] == ["base", "warm start", "after RL"]
    assert len(summary["train_records"]) == 2 and len(summary["heldout_records"]) == 1
    judged = summary["evals"][-1]["eval/train/judged"] + summary["evals"][-1]["eval/heldout/judged"]
    assert judged == 6 and summary["correlation"]["all"]["n"] == 3 + 6 + 6
    assert (tmp_path / "progress.png").is_file() and (tmp_path / "checkpoints" / "rl" / "config.json").is_file()
