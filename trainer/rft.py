"""Supervised stages with TRL's SFTTrainer: the warm start on demonstrations, and rejection fine-tuning.

Rejection fine-tuning (RFT): sample k episodes per task from the current policy, keep the resolved
ones (never those the infrastructure broke), and fine-tune on them with loss on model tokens only and
format-error turns masked. The warm start is the same training step on demonstrations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import sft_rows
from .episode import Episode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SFTSettings:
    """One supervised stage. Defaults follow the RFT recipe (one epoch, small batches)."""

    learning_rate: float = 5e-6  # the paper's RFT rate for a 72B model; tiny models want ~1e-3
    epochs: float = 1.0  # passes over the rows
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 1  # rows per device per step
    gradient_accumulation_steps: int = 1
    warmup_steps: int = 0
    lr_scheduler_type: str = "constant"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    mask_format_errors: bool = True  # no loss on turns whose action could not be parsed
    stop_at_replay: float = 0.0  # > 0: stop once the mean replay probability of the rows reaches it (warm start)


def select_for_rft(episodes: Iterable[Episode]) -> list[Episode]:
    """The episodes RFT learns from: resolved, and not broken by the infrastructure."""
    return [episode for episode in episodes if episode.resolved and not episode.failure]


def replay_probability(model: Any, episodes: Sequence[Episode]) -> list[float]:
    """For each episode, the probability that the model reproduces its trained-on tokens exactly
    (teacher-forced on the recorded observations): a cheap lower bound of how often it would replay a
    demonstration at temperature 1."""
    import math

    return [math.exp(value) for value in replay_logprob(model, episodes)]


def replay_logprob(model: Any, episodes: Sequence[Episode]) -> list[float]:
    """The log of :func:`replay_probability` (finite where the probability underflows)."""
    import torch

    from .data import loss_mask

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for episode in episodes:
            ids = torch.tensor([episode.input_ids], device=device)
            logits = model(input_ids=ids).logits[0, len(episode.prompt_ids) - 1 : -1].float()
            logp = torch.log_softmax(logits, dim=-1)
            target = torch.tensor(episode.completion_ids, device=device)
            keep = torch.tensor(loss_mask(episode), device=device).bool()
            out.append(logp.gather(-1, target[:, None])[:, 0][keep].sum().item())
    model.train(was_training)
    return out


def fine_tune(
    model: Any,
    tokenizer: Any,
    episodes: Sequence[Episode],
    settings: SFTSettings,
    output_dir: str | Path,
    *,
    seed: int = 0,
    report_to: str | list[str] = "none",
    logging_steps: int = 1,
    save: bool = False,
    resume_from_checkpoint: str | bool | None = None,
    callbacks: list[Any] | None = None,
    replay_episodes: Sequence[Episode] | None = None,
) -> dict[str, float]:
    """Train ``model`` in place on ``episodes`` with TRL's SFTTrainer; returns the trainer's metrics.

    ``settings.stop_at_replay`` is judged on ``replay_episodes`` (default: all of ``episodes``), so that
    auxiliary rows (execution-trace examples) do not decide when the demonstrations are learned.
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [{"input_ids": row["input_ids"], "labels": row["labels"]}
            for row in sft_rows(episodes, mask_format_errors=settings.mask_format_errors)]
    if not rows:
        log.warning("no training rows: the stage is skipped")
        return {}
    from .device import on_cpu

    cpu = on_cpu()
    config = SFTConfig(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        warmup_steps=settings.warmup_steps,
        lr_scheduler_type=settings.lr_scheduler_type,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        max_length=None,
        seed=seed,
        data_seed=seed,
        use_cpu=cpu,
        bf16=not cpu,
        activation_checkpointing=not cpu,
        logging_steps=logging_steps,
        save_strategy="epoch" if save else "no",
        report_to=report_to,
        disable_tqdm=True,
        dataloader_num_workers=0,
        optim="adamw_torch",
    )
    callbacks = list(callbacks or [])
    stopper = None
    if settings.stop_at_replay > 0:
        stopper = _replay_stop(replay_episodes or episodes, settings.stop_at_replay)
        callbacks.append(stopper)
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    from .callbacks import quiet

    quiet(trainer)
    result = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    model.eval()
    metrics = dict(result.metrics)
    metrics["steps"] = trainer.state.global_step
    if stopper is not None:
        metrics["replay_probability"] = stopper.last
    if is_sharded(trainer):  # FSDP / ZeRO-3: write the full weights; the caller reloads them for rollouts
        full = Path(output_dir) / "full"
        trainer.save_model(str(full))
        metrics["full_model_dir"] = str(full)
    return metrics


def is_sharded(trainer: Any) -> bool:
    """True when the trainer's model is split across processes (FSDP or DeepSpeed ZeRO-3)."""
    return bool(getattr(trainer, "is_fsdp_enabled", False) or getattr(trainer, "is_deepspeed_enabled", False))


def _replay_stop(episodes: Sequence[Episode], target: float) -> Any:
    """A callback that ends training at the first epoch where the mean replay probability reaches ``target``."""
    from transformers import TrainerCallback

    class ReplayStop(TrainerCallback):
        def __init__(self) -> None:
            self.last = 0.0

        def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
            probabilities = replay_probability(model, episodes)
            self.last = sum(probabilities) / len(probabilities)
            log.info("epoch %.0f: mean replay probability %.3f (stop at %.3f)", state.epoch, self.last, target)
            if self.last >= target:
                control.should_training_stop = True
            return control

    return ReplayStop()
