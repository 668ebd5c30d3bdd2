"""What a single-turn run shows: the progress plot and the table printed at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def summary_lines(evals: Sequence[Mapping[str, Any]], association: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The per-stage table (similarity and test-judged resolve rate, train | held-out) and the correlation."""
    def cell(e: Mapping[str, Any], key: str, percent: bool) -> str:
        value = e.get(key)
        if value is None:
            return "     -"
        return f"{value:6.1%}" if percent else f"{value:+6.3f}"

    lines = ["similarity reward | test-judged resolve rate by stage (train | held-out):"]
    for e in evals:
        lines.append(
            f"  {e['label']:<12} similarity {cell(e, 'eval/train/similarity', False)} | "
            f"{cell(e, 'eval/heldout/similarity', False)}   resolve rate {cell(e, 'eval/train/resolve_rate', True)} | "
            f"{cell(e, 'eval/heldout/resolve_rate', True)}"
        )
    for name, what in (("all", "every judged answer"), ("well_formed", "well-formed answers")):
        stats = association.get(name) or {}
        r = stats.get("pearson_r")
        lines.append(f"similarity vs. tests over {what} ({stats.get('n', 0):.0f}, {stats.get('resolved', 0):.0f} "
                     f"resolved): Pearson r = {'undefined' if r is None else f'{r:+.2f}'}")
    return lines


def plot_progress(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path | None:
    """PNG: the RL rollouts' mean similarity per iteration, and both measures after each stage."""
    from ..metrics import pyplot

    plt = pyplot()
    if plt is None:
        return None
    rl = [r for r in records if r.get("stage") == "rl" and "rollout/reward" in r]
    evals = [r for r in records if r.get("stage") == "eval" and "eval/train/similarity" in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    if rl:
        steps = [r["step"] for r in rl]
        ax.plot(steps, [r["rollout/reward"] for r in rl], "o-", label="mean similarity reward (RL batch)")
        ax.plot(steps, [r.get("rollout/well_formed", float("nan")) for r in rl], "s--", label="well-formed answers")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("RL step")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("RL rollouts")
    ax = axes[1]
    xs = range(len(evals))
    nan = float("nan")
    for key, style, name in (("eval/train/similarity", "o-", "similarity, train"),
                             ("eval/heldout/similarity", "s--", "similarity, held-out"),
                             ("eval/train/resolve_rate", "^-", "resolve rate (tests), train"),
                             ("eval/heldout/resolve_rate", "v--", "resolve rate (tests), held-out")):
        if any(key in r for r in evals):
            ax.plot(xs, [r.get(key, nan) for r in evals], style, label=name)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r.get("label", "") for r in evals], rotation=20, fontsize=8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("After each stage")
    if evals:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
