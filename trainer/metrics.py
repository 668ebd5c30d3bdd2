"""Run metrics: stable names, one JSONL line per record, TensorBoard/W&B via ``report_to``, a PNG at the end.

Names follow CleanRL's habit: ``eval/train/resolve_rate``, ``rollout/resolve_rate``, ``rl/loss``...
Every record carries the ``stage`` and ``step`` it belongs to.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .episode import Episode

log = logging.getLogger(__name__)


def episode_stats(episodes: Sequence[Episode], prefix: str) -> dict[str, float]:
    """Resolve rate, reward, turns, tokens, format errors, truncations and failures of a batch."""
    if not episodes:
        return {f"{prefix}/episodes": 0.0}
    n = len(episodes)
    counted = [episode for episode in episodes if not episode.failure] or list(episodes)
    return {
        f"{prefix}/episodes": float(n),
        f"{prefix}/resolve_rate": sum(e.resolved for e in counted) / len(counted),
        f"{prefix}/reward": sum(e.reward for e in counted) / len(counted),
        f"{prefix}/turns": sum(e.num_turns for e in episodes) / n,
        f"{prefix}/tokens": sum(e.num_tokens for e in episodes) / n,
        f"{prefix}/model_tokens": sum(e.model_tokens for e in episodes) / n,
        f"{prefix}/format_errors": sum(e.format_errors for e in episodes) / n,
        f"{prefix}/submitted": sum(e.end_reason == "submitted" for e in episodes) / n,
        f"{prefix}/truncated": sum(e.truncated for e in episodes) / n,
        f"{prefix}/failures": float(sum(bool(e.failure) for e in episodes)),
        **{f"{prefix}/episode_seconds_{k}": v for k, v in _tail([e.duration for e in episodes]).items()},
    }


def _tail(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max: the slowest episodes set a synchronous rollout's wall time."""
    ordered = sorted(values)
    return {"p50": ordered[len(ordered) // 2], "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "max": ordered[-1]}


def per_task_rates(episodes: Sequence[Episode]) -> dict[str, float]:
    groups: dict[str, list[int]] = {}
    for episode in episodes:
        if not episode.failure:
            groups.setdefault(episode.task_id, []).append(int(episode.resolved))
    return {task: sum(v) / len(v) for task, v in sorted(groups.items())}


class MetricsLogger:
    """Writes ``metrics.jsonl`` in the run directory and forwards scalars to TensorBoard / W&B."""

    def __init__(self, run_dir: str | Path, report_to: Sequence[str] = (), config: Mapping[str, Any] | None = None,
                 enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "metrics.jsonl"
        self.enabled = enabled
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._started = time.time()
        self._tb = None
        self._wandb = None
        if "tensorboard" in report_to:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.run_dir / "tensorboard" / "pipeline"))
            except Exception as error:  # tensorboard is optional
                log.warning("TensorBoard logging is off: %s", error)
        if "wandb" in report_to:
            try:
                import wandb

                self._wandb = wandb.run or wandb.init(project="swe-gym-env", dir=str(self.run_dir), config=dict(config or {}))
            except Exception as error:
                log.warning("W&B logging is off: %s", error)

    def log(self, stage: str, step: int, values: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"time": round(time.time() - self._started, 2), "stage": stage, "step": step, **values}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        scalars = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log({**scalars, "stage_step": step})

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def pyplot() -> Any | None:
    """matplotlib's pyplot on the Agg backend (files only), or None (logged) when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plot")
        return None
    return plt


def plot_progress(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path | None:
    """PNG of mean reward and resolve rate per iteration (RL steps), with the evaluations as points."""
    plt = pyplot()
    if plt is None:
        return None
    rl = [r for r in records if r.get("stage") == "rl" and "rollout/resolve_rate" in r]
    evals = [r for r in records if "eval/train/resolve_rate" in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    if rl:
        steps = [r["step"] for r in rl]
        ax.plot(steps, [r["rollout/resolve_rate"] for r in rl], "o-", label="resolve rate (RL batch)")
        ax.plot(steps, [r.get("rollout/reward", float("nan")) for r in rl], "s--", label="mean reward (RL batch)")
        if any("rollout/kept_groups" in r for r in rl):
            ax.plot(steps, [r.get("rollout/kept_fraction", float("nan")) for r in rl], ":", label="groups kept")
    ax.set_xlabel("RL iteration")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("RL rollouts per iteration")
    if rl:
        ax.legend(loc="lower right", fontsize=8)
    ax = axes[1]
    labels = [r.get("label", r["stage"]) for r in evals]
    xs = range(len(evals))
    ax.plot(xs, [r["eval/train/resolve_rate"] for r in evals], "o-", label="train tasks")
    if any("eval/heldout/resolve_rate" in r for r in evals):
        ax.plot(xs, [r.get("eval/heldout/resolve_rate", float("nan")) for r in evals], "s--", label="held-out tasks")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=20, fontsize=8)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Resolve rate after each stage")
    if evals:
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
