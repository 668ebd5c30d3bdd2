"""The recipe end to end: evaluate, warm start on demonstrations, RFT, DAPO RL - evaluating after each stage.

Stages run in order and each one records itself in ``<run>/state.json`` with a checkpoint under
``<run>/checkpoints/``, so ``resume`` picks up after the last finished stage (and RL from its last
GRPOTrainer checkpoint). The training tasks' resolve rate is printed before and after every stage,
and the held-out tasks' next to it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from swe_gym_env.tasks.task import load_tasks

from . import distributed
from .config import TrainConfig, save_config
from .demos import collect_demos
from .envs import EnvPool, make_envs
from .episode import Episode, save_episodes
from .metrics import MetricsLogger, episode_stats, per_task_rates, plot_progress
from .models import load_checkpoint, load_model
from .policy import make_policy
from .rft import fine_tune, select_for_rft
from .rollout import RolloutLimits, collect_episodes, requests_for
from .tasks import split_tasks

log = logging.getLogger(__name__)

STAGES = ("base", "warm_start", "rft", "rl")


class Progress(Protocol):
    """What the pipeline tells a console: stage boundaries, finished episodes, summaries."""

    def start(self, name: str, total: int | None) -> None: ...
    def advance(self, count: int = 1, **postfix: Any) -> None: ...
    def finish(self) -> None: ...
    def message(self, text: str) -> None: ...


class _LogProgress:
    def start(self, name: str, total: int | None) -> None:
        log.info("%s ...", name)

    def advance(self, count: int = 1, **postfix: Any) -> None:
        pass

    def finish(self) -> None:
        pass

    def message(self, text: str) -> None:
        log.info("%s", text)


def run_directory(config: TrainConfig) -> Path:
    text = config.run.output_dir.format(time=time.strftime("%Y%m%d-%H%M%S"), seed=config.run.seed)
    return Path(text)


class Pipeline:
    """One run of the recipe; ``run()`` returns the summary it also writes to ``<run>/summary.json``."""

    def __init__(self, config: TrainConfig, progress: Progress | None = None, run_dir: str | Path | None = None,
                 stages: Sequence[str] = STAGES) -> None:
        self.config = config
        self.progress = progress or _LogProgress()
        self.run_dir = Path(run_dir) if run_dir is not None else run_directory(config)
        self.stages = [stage for stage in STAGES if stage in stages]
        self.state_path = self.run_dir / "state.json"
        self.state: dict[str, Any] = {"done": {}}
        self.model: Any = None
        self.tokenizer: Any = None
        self.policy: Any = None
        self.envs: EnvPool | None = None

    # -- plumbing ------------------------------------------------------------------------------------
    def _save_state(self) -> None:
        if distributed.is_main():
            self.state_path.write_text(json.dumps(self.state, indent=2))

    def _checkpoint(self, name: str, trainer: Any = None) -> Path:
        path = self.run_dir / "checkpoints" / name
        if trainer is not None:
            trainer.save_model(str(path))  # gathers sharded weights; writes on the main process
        elif distributed.is_main():
            self.model.save_pretrained(path)
        if distributed.is_main():
            self.tokenizer.save_pretrained(path)
        distributed.barrier()
        self._refresh_policy(path)
        return path

    def _refresh_policy(self, weights: str | Path) -> None:
        """A vLLM policy is an engine loaded from saved weights: reload it after each stage."""
        if self.config.model.generation_backend == "vllm":
            self.policy = self._make_policy(str(weights))

    def _make_policy(self, weights: str | None = None) -> Any:
        backend = self.config.model.generation_backend
        return make_policy(
            weights if backend == "vllm" else self.model, self.tokenizer, backend,
            sampling=replace(self.config.sampling, max_new_tokens=self.config.env.max_new_tokens),
            seed=self.config.run.seed, system_prompt=self.config.model.system_prompt,
        )

    def _use_weights(self, directory: str | Path) -> None:
        """Continue with the full weights saved in ``directory`` (after a sharded training stage)."""
        from transformers import AutoModelForCausalLM

        self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=self.model.dtype).to(self.model.device)
        self.policy.model = self.model

    def _latest_checkpoint(self) -> Path | None:
        for name in ("rl", "rft", "warm_start"):
            path = self.run_dir / "checkpoints" / name
            if name in self.state["done"] and (path / "config.json").is_file():
                return path
        return None

    def limits(self) -> RolloutLimits:
        env = self.config.env
        return RolloutLimits(env.max_turns, env.max_context_tokens, env.max_new_tokens, env.batch_wait_s)

    def collect(self, task_ids: Sequence[str], per_task: int, name: str) -> list[Episode]:
        requests = requests_for(task_ids, per_task)
        self.progress.start(name, len(requests))
        resolved = [0]

        def done(episode: Episode) -> None:
            resolved[0] += episode.resolved
            self.progress.advance(1, resolved=resolved[0])

        try:
            episodes = distributed.collect_sharded(
                requests, lambda mine: collect_episodes(self.policy, self.envs, mine, self.limits(), on_episode=done)
            )
        finally:
            self.progress.finish()
        if self.config.run.save_episodes and distributed.is_main():
            save_episodes(episodes, self.run_dir / "episodes" / f"{name}.jsonl")
        return episodes

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, label: str, per_task: int, train_episodes: Sequence[Episode] | None = None) -> dict[str, Any]:
        """Resolve rates on the training and held-out tasks; ``train_episodes`` reuses a fresh sample."""
        train_ids = [task.instance_id for task in self.train]
        heldout_ids = [task.instance_id for task in self.heldout] if self.config.eval.heldout else []
        wanted = ([] if train_episodes is not None else train_ids) + heldout_ids
        fresh = self.collect(wanted, per_task, f"eval_{label}") if wanted else []
        train_eps = list(train_episodes) if train_episodes is not None else fresh[: len(train_ids) * per_task]
        heldout_eps = fresh[len(fresh) - len(heldout_ids) * per_task :] if heldout_ids else []
        values: dict[str, Any] = {"label": label}
        values.update(episode_stats(train_eps, "eval/train"))
        if heldout_eps:
            values.update(episode_stats(heldout_eps, "eval/heldout"))
        values["eval/train/per_task"] = per_task_rates(train_eps)
        if heldout_eps:
            values["eval/heldout/per_task"] = per_task_rates(heldout_eps)
        self.logger.log("eval", len(self.state["evals"]), values)
        self.state["evals"].append(values)
        self._save_state()
        heldout = f", held-out {values['eval/heldout/resolve_rate']:.0%}" if heldout_eps else ""
        self.progress.message(
            f"[{label}] resolve rate: train {values['eval/train/resolve_rate']:.0%} "
            f"({len(train_eps)} episodes){heldout}"
        )
        return values

    # -- stages --------------------------------------------------------------------------------------
    def stage_base(self) -> dict[str, Any]:
        values = self.evaluate("base", self.config.eval.base_samples_per_task)
        return {k: v for k, v in values.items() if not k.endswith("per_task")}

    def stage_warm_start(self) -> dict[str, Any]:
        mode = self.config.warm_start.mode
        base = self.state["done"].get("base", {})
        solves_nothing = base.get("eval/train/resolve_rate", 0.0) == 0.0
        if mode == "never" or (mode == "auto" and not solves_nothing):
            self.progress.message(f"[warm start] skipped (mode={mode}, base resolves some training tasks)")
            return {"skipped": True}
        self.progress.start("demonstrations", len(self.train))
        trace_every = self.config.warm_start.trace_demos
        demos = distributed.collect_sharded(
            self.train, lambda mine: collect_demos(mine, self.envs, self.policy.chat, trace_every=trace_every))
        self.progress.finish()
        if distributed.is_main():
            save_episodes(demos, self.run_dir / "episodes" / "demos.jsonl")
        traces = self._trace_examples()
        self.progress.message(f"[warm start] {len(demos)} demonstrations from gold patches"
                              + (f" and {len(traces)} execution-trace examples" if traces else "") + "; fine-tuning")
        started = time.monotonic()
        metrics = fine_tune(self.model, self.tokenizer, demos + traces, self.config.warm_start.sft,
                            self.run_dir / "sft_warm_start", seed=self.config.run.seed, report_to=self.report_to,
                            callbacks=self._callbacks("warm_start"), replay_episodes=demos)
        metrics["seconds"] = time.monotonic() - started
        metrics["demos"] = len(demos)
        metrics["trace_examples"] = len(traces)
        self.logger.log("warm_start", 0, {f"warm_start/{k}": v for k, v in metrics.items()})
        if "full_model_dir" in metrics:
            self._use_weights(metrics["full_model_dir"])
        self._checkpoint("warm_start")
        if not (self.config.rft.enabled and "rft" in self.stages):  # else RFT's sample is this evaluation
            self.evaluate("warm start", self.config.eval.samples_per_task)
        return metrics

    def stage_rft(self) -> dict[str, Any]:
        cfg = self.config.rft
        ids = [task.instance_id for task in self.train]
        samples = self.collect(ids, cfg.samples_per_task, "rft_samples")
        label = "warm start" if "warm_start" in self.state["done"] and not self.state["done"]["warm_start"].get("skipped") else "before RFT"
        before = self.evaluate(label, cfg.samples_per_task, train_episodes=samples)
        kept = select_for_rft(samples)
        episodes = kept + (self._demos() if cfg.include_demos else [])
        self.progress.message(
            f"[rft] kept {len(kept)}/{len(samples)} resolved episodes from {len(ids)} tasks; fine-tuning"
        )
        started = time.monotonic()
        metrics = fine_tune(self.model, self.tokenizer, episodes, cfg.sft, self.run_dir / "sft_rft",
                            seed=self.config.run.seed, report_to=self.report_to, callbacks=self._callbacks("rft"))
        metrics.update(seconds=time.monotonic() - started, kept=len(kept), sampled=len(samples),
                       sample_resolve_rate=before["eval/train/resolve_rate"])
        self.logger.log("rft", 0, {f"rft/{k}": v for k, v in metrics.items()})
        if "full_model_dir" in metrics:
            self._use_weights(metrics["full_model_dir"])
        self._checkpoint("rft")
        self.evaluate("after RFT", self.config.eval.samples_per_task)
        return metrics

    def stage_rl(self) -> dict[str, Any]:
        from .rl import EpisodeRolloutFunc, build_grpo_trainer, grpo_config

        cfg = self.config.rl
        ids = [task.instance_id for task in self.train]
        rollout = EpisodeRolloutFunc(
            self.policy, self.envs, ids, self.limits(), cfg, seed=self.config.run.seed, logger=self.logger,
            episodes_dir=self.run_dir / "episodes" if self.config.run.save_episodes else None,
        )
        sampling = self.config.sampling
        args = grpo_config(cfg, self.run_dir / "rl", seed=self.config.run.seed, report_to=self.report_to,
                           max_context_tokens=self.config.env.max_context_tokens, temperature=sampling.temperature,
                           top_p=sampling.top_p, top_k=sampling.top_k, num_processes=distributed.world_size(),
                           use_vllm=self.config.model.generation_backend == "vllm")
        trainer = build_grpo_trainer(self.model, self.tokenizer, rollout, ids, args, callbacks=self._callbacks("rl"))
        from .callbacks import quiet

        quiet(trainer)
        resume = any((self.run_dir / "rl").glob("checkpoint-*")) if (self.run_dir / "rl").is_dir() else False
        self.progress.message(
            f"[rl] DAPO: {cfg.steps} steps, {cfg.tasks_per_step} tasks x {cfg.num_generations} episodes per rollout, "
            f"{cfg.minibatches * cfg.num_iterations} steps per rollout"
            + (" (resuming)" if resume else "")
        )
        started = time.monotonic()
        result = trainer.train(resume_from_checkpoint=True if resume else None)
        from .rft import is_sharded

        if is_sharded(trainer):
            self._use_weights(self._checkpoint("rl", trainer))
        else:
            self.model = trainer.accelerator.unwrap_model(trainer.model)
            self.policy.model = self.model
            self._checkpoint("rl")
        self.evaluate("after RL", self.config.eval.samples_per_task)
        history = rollout.history
        return {
            "seconds": time.monotonic() - started,
            "steps": trainer.state.global_step,
            "train_loss": result.metrics.get("train_loss"),
            "rollout_resolve_rate": [h["rollout/resolve_rate"] for h in history],
        }

    def _trace_examples(self) -> list[Episode]:
        """The warm start's execution-trace rows (``warm_start.trace_examples``), of the training tasks only."""
        cfg = self.config.warm_start
        if cfg.trace_examples <= 0:
            return []
        from .trace_data import trace_episode, trace_examples

        examples = trace_examples(self.train, cfg.trace_examples, path=cfg.trace_examples_file,
                                  backend=self.config.env.backend, seed=self.config.run.seed)
        episodes = [trace_episode(example, self.policy.chat) for example in examples]
        if distributed.is_main():
            save_episodes(episodes, self.run_dir / "episodes" / "trace_examples.jsonl")
        return episodes

    # -- the run -------------------------------------------------------------------------------------
    def _demos(self) -> list[Episode]:
        from .episode import load_episodes

        path = self.run_dir / "episodes" / "demos.jsonl"
        return load_episodes(path) if path.is_file() else []

    def _callbacks(self, stage: str) -> list[Any]:
        from .callbacks import MetricsCallback

        return [MetricsCallback(self.logger, stage, self.progress)]

    def setup(self, resume: bool) -> None:
        import torch

        from .device import configure_threads

        configure_threads(self.config.run.cpu_threads)
        torch.manual_seed(self.config.run.seed)
        distributed.init()
        self.run_dir = Path(distributed.broadcast(str(self.run_dir)))  # {time} may differ between processes
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.state_path.is_file():
            self.state = json.loads(self.state_path.read_text())
        self.state.setdefault("done", {})
        self.state.setdefault("evals", [])
        self.state["run_dir"] = str(self.run_dir)
        if distributed.is_main():
            save_config(self.config, self.run_dir / "config.yaml")
        tasks = load_tasks(self.config.tasks.source, split=self.config.tasks.split)
        self.train, self.heldout = split_tasks(tasks, self.config)
        self.report_to = list(self.config.run.report_to)
        self.logger = MetricsLogger(self.run_dir, self.report_to if distributed.is_main() else [],
                                    self.config.to_dict(), enabled=distributed.is_main())
        checkpoint = self._latest_checkpoint() if resume else None
        if checkpoint is not None:
            self.progress.message(f"resuming from {checkpoint}")
            self.model, self.tokenizer = load_checkpoint(checkpoint)
        else:
            if distributed.is_main():  # the tiny model is built once, then every process loads it
                load_model(self.config, self.train, self.run_dir)
            distributed.barrier()
            self.model, self.tokenizer = load_model(self.config, self.train, self.run_dir)
        self.policy = self._make_policy(str(checkpoint or self.config.model.name_or_path or self.run_dir / "tiny"))
        env = self.config.env
        self.envs = make_envs(
            env.num_envs, tasks=[*self.train, *self.heldout], backend=env.backend, max_steps=env.max_turns,
            reward=env.reward, command_timeout=env.command_timeout, ray_address=env.ray_address,
        )

    def run(self, resume: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        self.setup(resume)
        self.progress.message(
            f"run directory: {self.run_dir}\n"
            f"training tasks ({len(self.train)}): {', '.join(t.instance_id for t in self.train)}\n"
            f"held-out tasks ({len(self.heldout)}): {', '.join(t.instance_id for t in self.heldout) or '-'}"
        )
        try:
            for stage in self.stages:
                if stage in self.state["done"]:
                    continue
                if stage == "rft" and not self.config.rft.enabled or stage == "rl" and not self.config.rl.enabled:
                    continue
                self.state["done"][stage] = getattr(self, f"stage_{stage}")()
                self._save_state()
        finally:
            if self.envs is not None:
                self.envs.close()
        return self._summarize(time.monotonic() - started)

    def _link_final(self) -> Path | None:
        """``<run>/final`` -> the last stage's checkpoint, and ``runs/latest`` -> this run (``make eval``'s default)."""
        for name in ("rl", "rft", "warm_start"):
            if (self.run_dir / "checkpoints" / name / "config.json").is_file():
                final = self.run_dir / "final"
                if final.is_symlink() or final.exists():
                    final.unlink()
                final.symlink_to(Path("checkpoints") / name)
                latest = self.run_dir.parent / "latest"
                if self.run_dir.parent.name == "runs" and (latest.is_symlink() or not latest.exists()):
                    if latest.is_symlink():
                        latest.unlink()
                    latest.symlink_to(self.run_dir.name)
                return final
        return None

    def _summarize(self, seconds: float) -> dict[str, Any]:
        evals = [{k: v for k, v in e.items() if not k.endswith("per_task")} for e in self.state["evals"]]
        summary = {
            "run_dir": str(self.run_dir),
            "seconds": round(seconds, 1),
            "train_tasks": [t.instance_id for t in self.train],
            "heldout_tasks": [t.instance_id for t in self.heldout],
            "evals": evals,
            "stages": {k: v for k, v in self.state["done"].items()},
        }
        plot = final = None
        if distributed.is_main():
            final = self._link_final()
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
            plot = plot_progress(self.logger.records(), self.run_dir / "progress.png")
        self.logger.close()
        lines = ["resolve rate by stage (train | held-out):"]
        for e in evals:
            held = e.get("eval/heldout/resolve_rate")
            lines.append(f"  {e['label']:<12} {e['eval/train/resolve_rate']:6.1%} | "
                         + (f"{held:6.1%}" if held is not None else "   -"))
        lines.append(f"run directory: {self.run_dir}" + (f"  (plot: {plot})" if plot else ""))
        if final is not None:
            lines.append(f"final model: {final} -> {final.resolve()}")
        lines.append(f"wall time: {seconds / 60:.1f} min")
        self.progress.message("\n".join(lines))
        return summary
