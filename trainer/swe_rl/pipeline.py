"""The SWE-RL recipe end to end: evaluate, warm start on oracle answers, GRPO with the similarity reward.

The same run directory, state, checkpoints, metrics and resume as :class:`trainer.pipeline.Pipeline`
(whose plumbing it inherits); what differs is the data (single-turn records, not episodes in SWE-v0),
the reward during training (similarity to the oracle change: no environment, no container) and the
evaluation after each stage: the mean similarity reward and the **test-judged resolve rate** - the
answers' edits as a patch, graded with the tasks' hidden tests in SWE-v0's sandboxes - on the
training and held-out records.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from swe_gym_env.tasks.task import load_tasks

from .. import distributed
from ..config import TrainConfig, save_config
from ..episode import save_episodes
from ..metrics import MetricsLogger
from ..models import load_checkpoint, load_model
from ..pipeline import Pipeline, Progress
from ..policy import make_policy
from ..rft import fine_tune, is_sharded
from .data import chat_format, fitting, grpo_rows, oracle_episode, run_records, split_records, system_prompt
from .evaluate import HiddenTestJudge, Sample, answer_samples, correlation, sample_stats
from .report import plot_progress, summary_lines

log = logging.getLogger(__name__)

STAGES = ("base", "warm_start", "rl")


class SweRLPipeline(Pipeline):
    """One run of the single-turn recipe; ``run()`` returns the summary it writes to ``<run>/summary.json``."""

    def __init__(self, config: TrainConfig, progress: Progress | None = None, run_dir: str | Path | None = None,
                 stages: Sequence[str] = STAGES) -> None:
        super().__init__(config, progress, run_dir, stages)
        self.stages = [stage for stage in STAGES if stage in stages]
        self.judge: HiddenTestJudge | None = None
        self.backend: Any = None

    def _make_policy(self, weights: str | None = None) -> Any:
        backend = self.config.model.generation_backend
        return make_policy(
            weights if backend == "vllm" else self.model, self.tokenizer, backend,
            sampling=replace(self.config.sampling, max_new_tokens=self.config.env.max_new_tokens),
            seed=self.config.run.seed, system_prompt=system_prompt(self.config),
        )

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, label: str, per_record: int) -> dict[str, Any]:
        """Similarity and test-judged resolve rate of fresh answers on the training and held-out records."""
        heldout = self.heldout if self.config.eval.heldout else []
        requests = [(r, "train") for r in self.train for _ in range(per_record)]
        requests += [(r, "heldout") for r in heldout for _ in range(per_record)]
        name = f"eval_{label.replace(' ', '_')}"
        self.progress.start(name, len(requests))
        try:
            samples: list[Sample] = distributed.collect_sharded(
                requests, lambda mine: answer_samples(self.policy, self.chat, mine, self.config.env.max_new_tokens,
                                                      self.judge, on_sample=lambda n: self.progress.advance(n)))
        finally:
            self.progress.finish()
        if distributed.is_main():
            path = self.run_dir / "episodes" / f"{name}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(s.as_dict()) + "\n" for s in samples), encoding="utf-8")
        values: dict[str, Any] = {"label": label}
        values.update(sample_stats([s for s in samples if s.split == "train"], "eval/train"))
        if heldout:
            values.update(sample_stats([s for s in samples if s.split == "heldout"], "eval/heldout"))
        values["eval/correlation"] = correlation(samples)
        self.logger.log("eval", len(self.state["evals"]), values)
        self.state["evals"].append(values)
        self._save_state()
        self.progress.message(_eval_line(values))
        return values

    # -- stages --------------------------------------------------------------------------------------
    def stage_base(self) -> dict[str, Any]:
        values = self.evaluate("base", self.config.eval.base_samples_per_task)
        return {k: v for k, v in values.items() if not isinstance(v, dict)}

    def stage_warm_start(self) -> dict[str, Any]:
        mode = self.config.warm_start.mode
        writes_answers = self.state["done"].get("base", {}).get("eval/train/well_formed", 0.0) > 0
        if mode == "never" or (mode == "auto" and writes_answers):
            self.progress.message(f"[warm start] skipped (mode={mode}, the base model already writes well-formed answers)")
            return {"skipped": True}
        episodes = [oracle_episode(record, self.chat) for record in self.train]
        if distributed.is_main():
            save_episodes(episodes, self.run_dir / "episodes" / "oracle_answers.jsonl")
        self.progress.message(f"[warm start] {len(episodes)} oracle answers (SEARCH/REPLACE); fine-tuning")
        started = time.monotonic()
        metrics = fine_tune(self.model, self.tokenizer, episodes, self.config.warm_start.sft,
                            self.run_dir / "sft_warm_start", seed=self.config.run.seed, report_to=self.report_to,
                            callbacks=self._callbacks("warm_start"))
        metrics.update(seconds=time.monotonic() - started, answers=len(episodes))
        self.logger.log("warm_start", 0, {f"warm_start/{k}": v for k, v in metrics.items()})
        if "full_model_dir" in metrics:
            self._use_weights(metrics["full_model_dir"])
        self._checkpoint("warm_start")
        self.evaluate("warm start", self.config.eval.samples_per_task)
        return metrics

    def stage_rl(self) -> dict[str, Any]:
        from datasets import Dataset
        from trl import GRPOTrainer

        from ..callbacks import quiet
        from ..rl import grpo_config
        from .reward import SimilarityReward

        cfg = self.config.rl
        reward = SimilarityReward(self.train, self.tokenizer, self.logger)
        sampling = self.config.sampling
        args = grpo_config(cfg, self.run_dir / "rl", seed=self.config.run.seed, report_to=self.report_to,
                           max_context_tokens=self.config.env.max_new_tokens,  # one answer is the whole completion
                           temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k,
                           num_processes=distributed.world_size(),
                           use_vllm=self.config.model.generation_backend == "vllm")
        args.mask_truncated_completions = cfg.mask_truncated  # DAPO overlong filtering: cut answers carry no loss
        trainer = GRPOTrainer(model=self.model, reward_funcs=[reward], args=args,
                              train_dataset=Dataset.from_list(grpo_rows(self.train, self.config)),
                              processing_class=self.tokenizer, callbacks=self._callbacks("rl"))
        quiet(trainer)
        rl_dir = self.run_dir / "rl"
        resume = rl_dir.is_dir() and any(rl_dir.glob("checkpoint-*"))
        self.progress.message(
            f"[rl] GRPO with the DAPO loss and the similarity reward: {cfg.steps} steps, {cfg.tasks_per_step} records x "
            f"{cfg.num_generations} answers per rollout, {cfg.minibatches * cfg.num_iterations} steps per rollout"
            + (" (resuming)" if resume else "")
        )
        started = time.monotonic()
        result = trainer.train(resume_from_checkpoint=True if resume else None)
        if is_sharded(trainer):
            self._use_weights(self._checkpoint("rl", trainer))
        else:
            self.model = trainer.accelerator.unwrap_model(trainer.model)
            self.policy.model = self.model
            self._checkpoint("rl")
        self.evaluate("after RL", self.config.eval.samples_per_task)
        return {
            "seconds": time.monotonic() - started,
            "steps": trainer.state.global_step,
            "train_loss": result.metrics.get("train_loss"),
            "rollout_similarity": [h["rollout/reward"] for h in reward.history],
        }

    # -- the run -------------------------------------------------------------------------------------
    def setup(self, resume: bool) -> None:
        import torch

        from ..device import configure_threads

        configure_threads(self.config.run.cpu_threads)
        torch.manual_seed(self.config.run.seed)
        distributed.init()
        self.run_dir = Path(distributed.broadcast(str(self.run_dir)))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.state_path.is_file():
            self.state = json.loads(self.state_path.read_text())
        self.state.setdefault("done", {})
        self.state.setdefault("evals", [])
        self.state["run_dir"] = str(self.run_dir)
        if distributed.is_main():
            save_config(self.config, self.run_dir / "config.yaml")
        tasks = load_tasks(self.config.tasks.source, split=self.config.tasks.split)
        self.train, self.heldout = split_records(run_records(self.config, tasks), self.config)
        self.report_to = list(self.config.run.report_to)
        self.logger = MetricsLogger(self.run_dir, self.report_to if distributed.is_main() else [],
                                    self.config.to_dict(), enabled=distributed.is_main())
        checkpoint = self._latest_checkpoint() if resume else None
        if checkpoint is not None:
            self.progress.message(f"resuming from {checkpoint}")
            self.model, self.tokenizer = load_checkpoint(checkpoint)
        else:
            if distributed.is_main() and self.config.model.name_or_path is None:
                self._build_tiny()
            distributed.barrier()
            self.model, self.tokenizer = load_model(self.config, [], self.run_dir)
        self.chat = chat_format(self.tokenizer, self.config)
        budget = self.config.env.max_context_tokens - self.config.env.max_new_tokens
        self.train, dropped = fitting(self.train, self.chat, budget)
        self.heldout, dropped_heldout = fitting(self.heldout, self.chat, budget)
        if dropped or dropped_heldout:
            self.progress.message(f"left out {len(dropped) + len(dropped_heldout)} record(s) whose prompt is longer "
                                  f"than {budget} tokens (env.max_context_tokens - env.max_new_tokens)")
        if not self.train:
            raise ValueError("no training record fits the context: raise env.max_context_tokens")
        self.policy = self._make_policy(str(checkpoint or self.config.model.name_or_path or self.run_dir / "tiny"))
        if self.config.swe_rl.grade:
            from swe_gym_env.backends.factory import make_backend, resolve_limits
            from swe_gym_env.grading import make_grader

            workers = self.config.swe_rl.grading_workers
            self.backend = make_backend(self.config.env.backend, num_envs=workers, warm_pool=workers + 1,
                                        limits=resolve_limits(None, self.config.env.command_timeout))
            grader = make_grader(self.backend, timeout=self.config.swe_rl.grading_timeout)
            self.judge = HiddenTestJudge(grader, {t.instance_id: t for t in tasks}, workers, self.backend)

    def _build_tiny(self) -> None:
        from ..tiny import build_tiny, tokenizer_corpus
        from .data import tokenizer_texts

        tiny_dir = self.run_dir / "tiny"
        if not (tiny_dir / "config.json").is_file():
            shape = replace(self.config.model.tiny, seed=self.config.run.seed)
            build_tiny(tokenizer_corpus([], tokenizer_texts(self.train, self.config)), shape, tiny_dir)

    def run(self, resume: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self.setup(resume)
            self.progress.message(
                f"run directory: {self.run_dir}\nrecipe: swe_rl (single-turn, similarity reward)\n"
                f"training records ({len(self.train)}), held-out records ({len(self.heldout)}): split by task"
            )
            for stage in self.stages:
                if stage in self.state["done"]:
                    continue
                if stage == "rl" and not self.config.rl.enabled:
                    continue
                self.state["done"][stage] = getattr(self, f"stage_{stage}")()
                self._save_state()
        finally:
            if self.backend is not None:
                self.backend.close()
        return self._summarize(time.monotonic() - started)

    def _summarize(self, seconds: float) -> dict[str, Any]:
        evals = list(self.state["evals"])
        summary = {
            "recipe": "swe_rl",
            "run_dir": str(self.run_dir),
            "seconds": round(seconds, 1),
            "train_records": [r.id for r in self.train],
            "heldout_records": [r.id for r in self.heldout],
            "evals": evals,
            "correlation": correlation(self._all_samples()),
            "stages": dict(self.state["done"]),
        }
        plot = final = None
        if distributed.is_main():
            final = self._link_final()
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
            plot = plot_progress(self.logger.records(), self.run_dir / "progress.png")
        self.logger.close()
        lines = summary_lines(evals, summary["correlation"])
        lines.append(f"run directory: {self.run_dir}" + (f"  (plot: {plot})" if plot else ""))
        if final is not None:
            lines.append(f"final model: {final} -> {final.resolve()}")
        lines.append(f"wall time: {seconds / 60:.1f} min")
        self.progress.message("\n".join(lines))
        return summary

    def _all_samples(self) -> list[Sample]:
        samples = []
        for path in sorted((self.run_dir / "episodes").glob("eval_*.jsonl")):
            samples += [Sample(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
        return samples


def _eval_line(values: dict[str, Any]) -> str:
    def part(prefix: str) -> str:
        if f"{prefix}/similarity" not in values:
            return "-"
        rate = values.get(f"{prefix}/resolve_rate")
        judged = f"{rate:.0%} of {values[f'{prefix}/judged']:.0f}" if rate is not None else "not judged"
        return (f"similarity {values[f'{prefix}/similarity']:+.3f} ({values[f'{prefix}/well_formed']:.0%} well-formed), "
                f"test-judged resolve rate {judged}")

    return f"[{values['label']}] train: {part('eval/train')} | held-out: {part('eval/heldout')}"
