"""The whole recipe on the in-memory backend with a very small model: stages, evaluations, resume, CLI."""

import json

import pytest
from trainer_helpers import TASKS

from trainer.cli import main
from trainer.config import load_config
from trainer.pipeline import Pipeline
from trainer.tasks import split_tasks

QUICK = [
    "env.backend=fake", "env.num_envs=4", "env.max_turns=6", "env.max_context_tokens=2048", "env.max_new_tokens=24",
    "model.tiny.hidden_size=32", "model.tiny.num_layers=1", "model.tiny.num_heads=2", "model.tiny.num_kv_heads=1",
    "model.tiny.intermediate_size=64", "model.tiny.vocab_size=1024",
    "tasks.train_ids=[swe-gym__textkit-1, swe-gym__intervals-1]", "tasks.heldout_ids=[swe-gym__tinyini-1]",
    "warm_start.sft.max_steps=3", "warm_start.sft.learning_rate=0.01", "warm_start.sft.stop_at_replay=0",
    "rft.samples_per_task=1", "rl.steps=1", "rl.tasks_per_step=1", "rl.num_generations=2", "rl.max_resample_rounds=0",
    "rl.minibatches=1", "rl.num_iterations=1",
    "eval.samples_per_task=1", "eval.base_samples_per_task=1", "run.report_to=[]",
]


def test_default_split_holds_out_the_last_task_of_each_library():
    train, heldout = split_tasks(TASKS, load_config("configs/tiny.yaml"))
    assert [t.instance_id for t in heldout] == ["swe-gym__textkit-4", "swe-gym__intervals-4", "swe-gym__tinyini-4"]
    assert len(train) == 9 and not {t.instance_id for t in train} & {t.instance_id for t in heldout}


def test_stages_then_resume_after_the_last_finished_one(tmp_path):
    config = load_config("configs/tiny.yaml", QUICK + [f"run.output_dir={tmp_path}"])
    first = Pipeline(config, stages=["base", "warm_start"]).run()
    assert [e["label"] for e in first["evals"]] == ["base", "warm start"]
    assert (tmp_path / "checkpoints" / "warm_start" / "config.json").is_file()
    demos = (tmp_path / "episodes" / "demos.jsonl").stat().st_mtime_ns

    second = Pipeline(config).run(resume=True)
    labels = [e["label"] for e in second["evals"]]
    assert labels == ["base", "warm start", "warm start", "after RFT", "after RL"]  # RFT's sample re-measures
    assert (tmp_path / "episodes" / "demos.jsonl").stat().st_mtime_ns == demos  # warm start was not redone
    for name in ("rft", "rl"):
        assert (tmp_path / "checkpoints" / name / "config.json").is_file()
    assert (tmp_path / "progress.png").is_file() and (tmp_path / "metrics.jsonl").is_file()
    assert (tmp_path / "final").resolve() == (tmp_path / "checkpoints" / "rl").resolve()
    state = json.loads((tmp_path / "state.json").read_text())
    assert set(state["done"]) == {"base", "warm_start", "rft", "rl"}
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("rl/loss" in r for r in records) and any("rollout/resolve_rate" in r for r in records)


def test_cli_reports_config_errors(capsys):
    assert main(["--set", "rl.no_such_key=1"]) == 2
    assert "no_such_key" in capsys.readouterr().err


def test_accelerate_launch_runs_the_cli(tmp_path):
    """``accelerate launch`` with the CPU config runs the same entry point as ``python -m trainer``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    launcher = Path(sys.executable).with_name("accelerate")
    command = [str(launcher), "launch", "--config_file", "configs/accelerate/cpu.yaml", "-m", "trainer", "--quiet",
               "--stages", "base", "--output-dir", str(tmp_path)]
    for override in QUICK:
        command += ["--set", override]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((tmp_path / "state.json").read_text())
    assert set(state["done"]) == {"base"} and [e["label"] for e in state["evals"]] == ["base"]


def test_unknown_task_ids_are_named():
    config = load_config("configs/tiny.yaml", ["tasks.heldout_ids=[swe-gym__textkit-1, no-such-task]"])
    with pytest.raises(ValueError, match="no-such-task"):
        split_tasks(TASKS, config)
