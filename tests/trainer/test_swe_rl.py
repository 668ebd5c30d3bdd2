"""The SWE-RL recipe on the in-memory backend with a very small model: split, oracle answers, the TRL reward
function, judging answers, the stages with resume, and the CLI's recipe switch."""

from __future__ import annotations

import json

import pytest
from trainer_helpers import SMALL

from swe_gym_env import load_tasks
from swe_gym_env.backends.fake import FakeBackend
from swe_gym_env.grading.fake import FakeGrader
from swe_gym_env.swe_rl import MiningConfig, oracle_answer
from swe_gym_env.swe_rl.from_tasks import records_from_tasks
from swe_gym_env.swe_rl.sources import builtin_files
from trainer.config import ConfigError, load_config
from trainer.swe_rl.data import chat_format, grpo_rows, oracle_episode, split_records, tokenizer_texts
from trainer.swe_rl.evaluate import HiddenTestJudge, answer_samples, correlation, pearson, sample_stats
from trainer.swe_rl.pipeline import SweRLPipeline
from trainer.swe_rl.reward import SimilarityReward
from trainer.tiny import build_tiny, tokenizer_corpus

TASKS = load_tasks("builtin")
RECORDS, _ = records_from_tasks(TASKS, builtin_files, MiningConfig(related_files=1))
QUICK = [
    "env.backend=fake", "env.max_context_tokens=3072", "env.max_new_tokens=16",
    "model.tiny.hidden_size=32", "model.tiny.num_layers=1", "model.tiny.num_heads=2", "model.tiny.num_kv_heads=1",
    "model.tiny.intermediate_size=64", "model.tiny.vocab_size=1024",
    "tasks.source=builtin", "tasks.train_ids=[swe-gym__textkit-1, swe-gym__intervals-1]",
    "tasks.heldout_ids=[swe-gym__tinyini-1]", "swe_rl.repos=null", "swe_rl.grading_workers=2",
    "warm_start.sft.max_steps=2", "warm_start.sft.learning_rate=0.01", "warm_start.sft.stop_at_replay=0",
    "rl.steps=1", "rl.tasks_per_step=2", "rl.num_generations=2", "rl.minibatches=1", "rl.num_iterations=1",
    "eval.samples_per_task=1", "eval.base_samples_per_task=1", "run.report_to=[]",
]


@pytest.fixture(scope="module")
def tiny():
    import torch

    torch.set_num_threads(1)
    config = load_config("configs/tiny-swe-rl.yaml", QUICK)
    model, tokenizer = build_tiny(tokenizer_corpus([], tokenizer_texts(RECORDS[:6], config)), SMALL)
    return model, tokenizer, chat_format(tokenizer, config)


class OraclePolicy:
    """Answers with each record's oracle answer, or a fixed text for the records in ``others``."""

    def __init__(self, chat, others=None):
        self.chat = chat
        self.others = others or {}
        self.model = None
        self.by_prompt = {tuple(oracle_episode(r, chat).prompt_ids): r for r in RECORDS}

    def generate(self, contexts, budgets):
        from trainer.policy import Generation

        out = []
        for context in contexts:
            record = self.by_prompt[tuple(context)]
            text = self.others.get(record.id, oracle_answer(record))
            ids = self.chat.action_ids(text)
            out.append(Generation(tuple(ids), (0.0,) * len(ids), True))
        return out


def test_the_split_is_by_task_and_the_default_holds_out_the_last_tasks_of_each_library():
    records, _ = records_from_tasks(load_tasks("synth"), builtin_files, MiningConfig(related_files=0))
    config = load_config("configs/tiny-swe-rl.yaml")
    train, heldout = split_records(records, config)
    assert not {r.task_id for r in train} & {r.task_id for r in heldout}
    assert {r.repo for r in heldout} == {r.repo for r in train}
    assert len(heldout) == config.tasks.heldout_per_repo * len({r.repo for r in train})
    assert len(train) == config.swe_rl.train_per_repo * len({r.repo for r in train})
    only = load_config("configs/tiny-swe-rl.yaml", ["swe_rl.repos=[swe-gym/textkit]"])
    assert {r.repo for r in split_records(records, only)[0]} == {"swe-gym/textkit"}
    with pytest.raises(ConfigError, match="nowhere"):
        split_records(records, load_config("configs/tiny-swe-rl.yaml", ["swe_rl.repos=[nowhere/repo]"]))


def test_oracle_answers_train_on_the_answer_only(tiny):
    _, tokenizer, chat = tiny
    record = RECORDS[0]
    episode = oracle_episode(record, chat)
    assert chat.decode_action(episode.completion_ids) == oracle_answer(record)
    assert episode.completion_ids[-1] == chat.eos_token_id and all(episode.env_mask)
    rendered = tokenizer.decode(list(episode.prompt_ids))
    assert "<<<<<<< SEARCH" in rendered and record.statement.strip()[:40] in rendered and "<think>" in rendered
    row = grpo_rows([record], load_config("configs/tiny-swe-rl.yaml"))[0]
    assert row["record_id"] == record.id and [m["role"] for m in row["prompt"]] == ["system", "user"]


def test_the_reward_function_decodes_ids_and_scores_them(tiny):
    _, tokenizer, chat = tiny
    reward = SimilarityReward(RECORDS[:2], tokenizer)
    good = chat.action_ids(oracle_answer(RECORDS[0]))
    bad = chat.action_ids("I would fix it.")
    out = reward(prompts=[None, None], completions=[None, None], completion_ids=[good, bad],
                 record_id=[RECORDS[0].id, RECORDS[1].id])
    assert out == [1.0, -1.0]
    assert reward.history[-1]["rollout/reward"] == 0.0 and reward.history[-1]["rollout/well_formed"] == 0.5


def test_answers_are_judged_by_similarity_and_by_the_grader(tiny):
    _, _, chat = tiny
    a, b, c = RECORDS[0], RECORDS[1], RECORDS[2]
    wrong = oracle_answer(b).replace("<<<<<<< SEARCH", "<<<<<<< SEARCH\n" + "import os", 1)  # SEARCH not found
    other_edit = oracle_answer(c).split("</think>")[0] + "</think>\n<solution>\n```python\n### " + c.changed[0] + \
        "\n<<<<<<< SEARCH\n" + c.context[c.changed[0]].split("\n")[0] + "\n=======\n# a comment\n>>>>>>> REPLACE\n```\n</solution>"
    policy = OraclePolicy(chat, {b.id: wrong, c.id: other_edit})
    backend = FakeBackend()
    judge = HiddenTestJudge(FakeGrader(backend), {t.instance_id: t for t in TASKS}, workers=2, backend=backend)
    samples = answer_samples(policy, chat, [(a, "train"), (b, "train"), (c, "heldout"), (a, "train")], 64, judge)
    assert [s.reward == 1.0 for s in samples] == [True, False, False, True]
    assert samples[0].resolved is True and samples[0].status == "RESOLVED_FULL" and samples[0].patch
    assert samples[1].reward == -1.0 and samples[1].resolved is False and samples[1].status == "malformed"
    assert 0 <= samples[2].reward < 1 and samples[2].resolved is False
    stats = sample_stats([s for s in samples if s.split == "train"], "eval/train")
    assert stats["eval/train/resolve_rate"] == pytest.approx(2 / 3) and stats["eval/train/well_formed"] == pytest.approx(2 / 3)
    assert stats["eval/train/graded"] == 2.0 and len(judge._cache) == 2  # the repeated answer: one grading
    association = correlation(samples)
    expected = pearson([s.reward for s in samples], [1.0, 0.0, 0.0, 1.0])
    assert association["all"]["n"] == 4 and association["all"]["pearson_r"] == pytest.approx(expected) and expected > 0.8
    assert association["well_formed"]["reward_resolved"] == 1.0
    assert pearson([1, 1], [0, 1]) is None


def test_stages_then_resume(tmp_path):
    config = load_config("configs/tiny-swe-rl.yaml", QUICK + [f"run.output_dir={tmp_path}"])
    first = SweRLPipeline(config, stages=["base", "warm_start"]).run()
    assert [e["label"] for e in first["evals"]] == ["base", "warm start"]
    assert (tmp_path / "checkpoints" / "warm_start" / "config.json").is_file()
    assert (tmp_path / "episodes" / "oracle_answers.jsonl").is_file()
    second = SweRLPipeline(config).run(resume=True)
    assert [e["label"] for e in second["evals"]] == ["base", "warm start", "after RL"]
    for e in second["evals"]:
        for split in ("train", "heldout"):
            assert {f"eval/{split}/similarity", f"eval/{split}/resolve_rate"} <= set(e)
    assert second["train_records"] == ["swe-gym__textkit-1", "swe-gym__intervals-1"]
    assert second["heldout_records"] == ["swe-gym__tinyini-1"]
    assert (tmp_path / "final").resolve() == (tmp_path / "checkpoints" / "rl").resolve()
    assert (tmp_path / "progress.png").is_file() and (tmp_path / "summary.json").is_file()
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("rollout/reward" in r for r in records) and any("rl/loss" in r for r in records)
    samples = (tmp_path / "episodes" / "eval_after_RL.jsonl").read_text().splitlines()
    assert len(samples) == 3 and {"reward", "resolved", "answer"} <= set(json.loads(samples[0]))


def test_cli_runs_the_recipe_and_checks_its_name(tmp_path, capsys):
    from trainer.cli import main

    args = ["--config", "configs/tiny-swe-rl.yaml", "--quiet", "--stages", "base", "--output-dir", str(tmp_path)]
    for override in QUICK:
        args += ["--set", override]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[base] train: similarity -1.000" in out and "test-judged resolve rate 0% of 2" in out
    assert main(["--set", "recipe=nope"]) == 2
    assert "recipe" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["configs/tiny-swe-rl.yaml", "configs/qwen2.5-coder-7b-swe-rl.yaml"])
def test_the_shipped_configs_make_a_grpo_config(path, tmp_path):
    from trainer.rl import grpo_config

    config = load_config(path)
    processes = 1 if "tiny" in path else 8
    args = grpo_config(config.rl, tmp_path, seed=0, report_to=[], max_context_tokens=config.env.max_new_tokens,
                       num_processes=processes)
    assert config.recipe == "swe_rl" and args.loss_type == "dapo" and args.beta == 0.0
    assert args.per_device_train_batch_size * processes * config.rl.minibatches == \
        config.rl.tasks_per_step * config.rl.num_generations
