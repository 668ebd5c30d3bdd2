"""DAPO reinforcement learning: TRL's GRPOTrainer driven by our concurrent multi-turn rollouts.

TRL brings the loss (token-level, clip-higher, no KL) and the optimizer loop. Ours is the
``rollout_func``: it runs G episodes per task in the vector envs and returns, for each one, the ids
exactly as generated (``prompt_ids``, ``completion_ids``), the sampling ``logprobs`` and the
``env_mask`` (1 = model token, so the loss never touches an observation). On top of TRL it adds:

- dynamic sampling (DAPO): a group whose episodes all pass or all fail carries no signal; it is
  replaced by a fresh group of another task (up to ``max_resample_rounds``) or else masked out, so
  it does not dilute the token-level normalization;
- infrastructure failures (``info["failure"]``) are masked out and score None (no false zeros);
- overlong filtering (DAPO): an episode cut by the turn or context limit keeps its reward in the group
  baseline but carries no loss - a long, rambling failure would otherwise push down the tool-call
  format it shares with every other episode;
- optional shaping: a penalty per turn past a threshold, and DAPO's overlong penalty.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .config import RLConfig
from .envs import EnvPool
from .episode import Episode, save_episodes
from .metrics import MetricsLogger, episode_stats
from .rollout import RolloutLimits, collect_episodes, requests_for

log = logging.getLogger(__name__)


def shaped_reward(episode: Episode, config: RLConfig, max_context_tokens: int) -> float | None:
    """The RL reward of an episode: None when the infrastructure broke it, else the env reward minus
    the turn penalty and the overlong penalty (both off by default)."""
    if episode.failure:
        return None
    reward = episode.reward
    if config.turn_penalty:
        reward -= config.turn_penalty * max(0, episode.num_turns - config.turn_penalty_after)
    if config.overlong_buffer > 0:
        start = max_context_tokens - config.overlong_buffer
        over = episode.num_tokens - start
        if over > 0:
            reward -= config.overlong_penalty * min(1.0, over / config.overlong_buffer)
    return reward


def is_informative(group: Sequence[Episode]) -> bool:
    """True when the group holds both a resolved and an unresolved episode (failures not counted)."""
    judged = [episode for episode in group if not episode.failure]
    passed = sum(episode.resolved for episode in judged)
    return 0 < passed < len(judged)


def select_groups(
    groups: list[list[Episode]],
    wanted: int,
    resample: Callable[[int], list[list[Episode]]] | None,
    max_rounds: int,
) -> tuple[list[list[Episode]], list[list[Episode]], int]:
    """Dynamic sampling: keep informative groups, draw more with ``resample(n)`` while short.

    Returns (kept, masked, rounds): ``kept`` has at most ``wanted`` informative groups; ``masked`` fills
    the rest with uninformative groups, whose tokens will carry no loss.
    """
    kept = [group for group in groups if is_informative(group)]
    spare = [group for group in groups if not is_informative(group)]
    rounds = 0
    while resample is not None and len(kept) < wanted and rounds < max_rounds:
        rounds += 1
        fresh = resample(wanted - len(kept))
        kept += [group for group in fresh if is_informative(group)]
        spare += [group for group in fresh if not is_informative(group)]
    kept = kept[:wanted]
    masked = spare[: wanted - len(kept)]
    return kept, masked, rounds


def to_trl(
    kept: Sequence[Sequence[Episode]],
    masked: Sequence[Sequence[Episode]],
    config: RLConfig,
    max_context_tokens: int,
) -> dict[str, list[Any]]:
    """The rollout_func output: ids as generated, sampling log-probs, env_mask, and reward fields."""
    out: dict[str, list[Any]] = {
        "prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": [],
        "env_reward": [], "resolved": [], "task_id": [],
    }
    for groups, trainable in ((kept, True), (masked, False)):
        for group in groups:
            for episode in group:
                completion = list(episode.completion_ids)
                mask = list(episode.env_mask)
                if not completion:  # an episode that ended before the model spoke: one inert token
                    completion, mask = [episode.prompt_ids[-1]], [0]
                cut = config.mask_truncated and episode.truncated  # turn/context limit: DAPO overlong filtering
                usable = trainable and not episode.failure and not cut
                out["prompt_ids"].append(list(episode.prompt_ids))
                out["completion_ids"].append(completion)
                out["logprobs"].append(list(episode.logprobs) if episode.completion_ids else [0.0])
                out["env_mask"].append(mask if usable else [0] * len(mask))
                out["env_reward"].append(shaped_reward(episode, config, max_context_tokens))
                out["resolved"].append(bool(episode.resolved))
                out["task_id"].append(episode.task_id)
    return out


def env_reward(completions: list[Any], env_reward: list[float | None], **kwargs: Any) -> list[float | None]:
    """TRL reward function: the (shaped) environment reward computed during the rollout."""
    return list(env_reward)


class EpisodeRolloutFunc:
    """``rollout_func(prompts, trainer)`` for GRPOTrainer; prompts are task ids, repeated G times."""

    def __init__(
        self,
        policy: Any,
        envs: EnvPool,
        train_task_ids: Sequence[str],
        limits: RolloutLimits,
        config: RLConfig,
        *,
        seed: int = 0,
        logger: MetricsLogger | None = None,
        episodes_dir: str | Path | None = None,
        on_episode: Callable[[Episode], None] | None = None,
    ) -> None:
        self.policy = policy
        self.envs = envs
        self.task_ids = list(train_task_ids)
        self.limits = limits
        self.config = config
        self.rng = random.Random(seed)
        self.logger = logger
        self.episodes_dir = Path(episodes_dir) if episodes_dir else None
        self.on_episode = on_episode
        self.calls = 0
        self.history: list[dict[str, float]] = []

    def _collect(self, task_ids: Sequence[str], generations: int) -> list[list[Episode]]:
        episodes = collect_episodes(self.policy, self.envs, requests_for(task_ids, generations), self.limits,
                                    on_episode=self.on_episode)
        return [episodes[i : i + generations] for i in range(0, len(episodes), generations)]

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        generations = trainer.num_generations
        if len(prompts) % generations:
            raise ValueError(
                f"each process must get whole groups: {len(prompts)} prompts is not a multiple of "
                f"num_generations={generations}; make rl.tasks_per_step a multiple of the number of processes"
            )
        task_ids = [str(prompt) for prompt in prompts[::generations]]
        with ExitStack() as stack:
            if getattr(trainer, "use_vllm", False) and hasattr(self.policy, "llm"):
                self.policy.llm = trainer.vllm_generation.llm  # weights synced by TRL before this call
            else:
                self.policy.model = stack.enter_context(_generation_model(trainer))
            first = self._collect(task_ids, generations)
            tried = set(task_ids)

            def resample(count: int) -> list[list[Episode]]:
                pool = [task for task in self.task_ids if task not in tried] or self.task_ids
                draw = [self.rng.choice(pool) for _ in range(count)]
                tried.update(draw)
                return self._collect(draw, generations)

            wanted = len(task_ids)
            if self.config.dynamic_sampling:
                kept, masked, rounds = select_groups(first, wanted, resample, self.config.max_resample_rounds)
            else:
                kept, masked, rounds = first, [], 0
        self.calls += 1
        everything = [episode for group in first for episode in group]
        stats = episode_stats(everything, "rollout")
        stats.update({
            "rollout/kept_groups": float(len(kept)),
            "rollout/masked_groups": float(len(masked)),
            "rollout/resample_rounds": float(rounds),
            "rollout/kept_fraction": len(kept) / max(1, wanted),
            "rollout/informative_first_draw": sum(is_informative(g) for g in first) / max(1, len(first)),
        })
        self.history.append(stats)
        if self.logger is not None:
            self.logger.log("rl", trainer.state.global_step + 1, stats)
        if self.episodes_dir is not None:
            used = [episode for group in (*kept, *masked) for episode in group]
            save_episodes(used, self.episodes_dir / f"rl_{self.calls:04d}.jsonl")
        log.info(
            "RL rollout %d: resolve rate %.2f, %d/%d groups informative, %d masked",
            self.calls, stats["rollout/resolve_rate"], len(kept), wanted, len(masked),
        )
        return to_trl(kept, masked, self.config, self.limits.max_context_tokens)


class _generation_model:
    """The trainer's model, unwrapped (and gathered under ZeRO-3/FSDP) for generation."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.stack = ExitStack()

    def __enter__(self) -> Any:
        trainer = self.trainer
        if getattr(trainer, "accelerator", None) is None or trainer.accelerator.num_processes == 1 and not (
            getattr(trainer, "is_deepspeed_enabled", False) or getattr(trainer, "is_fsdp_enabled", False)
        ):
            return trainer.model
        from trl.models import unwrap_model_for_generation

        model = self.stack.enter_context(
            unwrap_model_for_generation(
                trainer.model_wrapped, trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            )
        )
        distributed = getattr(trainer, "_dist", None)
        if getattr(trainer, "is_fsdp_enabled", False) and distributed is not None:
            self.stack.enter_context(distributed.summon_full_params(trainer.model_wrapped, recurse=False))
        return model

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def grpo_config(config: RLConfig, output_dir: str | Path, *, seed: int, report_to: list[str] | str,
                max_context_tokens: int, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
                num_processes: int = 1, use_vllm: bool = False) -> Any:
    """TRL GRPOConfig with DAPO defaults: each rollout of ``tasks_per_step`` groups feeds
    ``minibatches x num_iterations`` optimizer steps."""
    from trl import GRPOConfig

    from .device import on_cpu

    generation_batch = config.tasks_per_step * config.num_generations
    if generation_batch % (num_processes * config.minibatches):
        raise ValueError(
            f"rl.tasks_per_step x rl.num_generations ({generation_batch}) must split evenly over "
            f"{num_processes} process(es) x {config.minibatches} minibatch(es)"
        )
    cpu = on_cpu()
    return GRPOConfig(
        output_dir=str(output_dir),
        learning_rate=config.learning_rate,
        lr_scheduler_type="constant_with_warmup" if config.warmup_steps else "constant",
        warmup_steps=config.warmup_steps,
        max_grad_norm=config.max_grad_norm,
        per_device_train_batch_size=generation_batch // (num_processes * config.minibatches),
        gradient_accumulation_steps=1,
        steps_per_generation=config.minibatches,
        num_generations=config.num_generations,
        num_iterations=config.num_iterations,
        max_steps=config.steps,
        max_completion_length=max_context_tokens,
        loss_type=config.loss_type,
        epsilon=config.epsilon,
        epsilon_high=config.epsilon_high,
        beta=config.beta,
        scale_rewards=config.scale_rewards,
        mask_truncated_completions=False,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=seed,
        data_seed=seed,
        use_cpu=cpu,
        bf16=not cpu,
        activation_checkpointing=not cpu,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        report_to=report_to,
        disable_tqdm=True,
        remove_unused_columns=False,
        shuffle_dataset=True,
        optim="adamw_torch",
        use_vllm=use_vllm,  # colocated engine; TRL syncs its weights before every rollout
        vllm_mode="colocate",
    )


def build_grpo_trainer(model: Any, tokenizer: Any, rollout_func: EpisodeRolloutFunc, train_task_ids: Sequence[str],
                       args: Any, callbacks: list[Any] | None = None) -> Any:
    """A GRPOTrainer whose dataset is the training task ids and whose rollouts are ours."""
    import os

    from datasets import Dataset
    from trl import GRPOTrainer

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    # Each task once: TRL's sampler shuffles it every epoch and slices rollouts from it, so a rollout of
    # as many tasks as there are covers every task once.
    order = list(train_task_ids)
    return GRPOTrainer(
        model=model,
        reward_funcs=[env_reward],
        args=args,
        train_dataset=Dataset.from_dict({"prompt": order}),
        processing_class=tokenizer,
        rollout_func=rollout_func,
        callbacks=callbacks,
    )
