"""The evaluation report: resolve rate with a confidence interval, pass@k, costs, and failures apart.

Episodes that the infrastructure broke (``failure`` set) are counted apart and never as unresolved:
they are left out of every rate and listed under ``infra_failures``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sensible at 0% and 100% and for small samples)."""
    if total == 0:
        return (0.0, 0.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c passed (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max of ``values`` (the tail of episode times that sets a rollout's wall time)."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {"p50": ordered[len(ordered) // 2], "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "max": ordered[-1]}


def build_report(records: Iterable[Mapping[str, Any]], *, num_samples: int) -> dict[str, Any]:
    """Aggregate episode records (the latest one per instance and sample) into the report."""
    latest: dict[tuple[str, int], Mapping[str, Any]] = {}
    for record in records:
        latest[(record["instance_id"], int(record["sample"]))] = record
    graded = [r for r in latest.values() if not r.get("failure")]
    failed = [r for r in latest.values() if r.get("failure")]
    resolved = sum(bool(r["resolved"]) for r in graded)
    low, high = wilson_interval(resolved, len(graded))
    by_instance: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in graded:
        by_instance[record["instance_id"]].append(record)
    ks = sorted({1, num_samples} | {k for k in (2, 5, 10) if k < num_samples})
    pass_k = {
        f"pass@{k}": _mean([pass_at_k(len(rs), sum(bool(r["resolved"]) for r in rs), k)
                            for rs in by_instance.values() if len(rs) >= k])
        for k in ks
    }
    turns = sum(int(r["turns"]) for r in graded)
    repos: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in graded:
        repos[record["repo"]].append(record)
    return {
        "episodes": len(graded),
        "instances": len(by_instance),
        "resolved": resolved,
        "resolve_rate": resolved / len(graded) if graded else 0.0,
        "resolve_rate_ci95": [low, high],
        **pass_k,
        "mean_turns": _mean([float(r["turns"]) for r in graded]),
        "episode_seconds": percentiles([float(r.get("duration_s") or 0.0) for r in latest.values()]),
        "mean_prompt_tokens": _mean([float(r["prompt_tokens"]) for r in graded]),
        "mean_completion_tokens": _mean([float(r["completion_tokens"]) for r in graded]),
        "format_error_rate": (sum(int(r["format_errors"]) for r in graded) / turns) if turns else 0.0,
        "truncated": sum(bool(r["truncated"]) for r in graded),
        "infra_failures": len(failed),
        "infra_failures_by_type": dict(Counter(str(r["failure"].get("type")) for r in failed)),
        "failed_instances": sorted({r["instance_id"] for r in failed}),
        "per_repo": {
            repo: {"episodes": len(rs), "resolved": sum(bool(r["resolved"]) for r in rs),
                   "resolve_rate": sum(bool(r["resolved"]) for r in rs) / len(rs)}
            for repo, rs in sorted(repos.items())
        },
        "resolved_instances": sorted({r["instance_id"] for r in graded if r["resolved"]}),
    }


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text table of the report for the console."""
    low, high = report["resolve_rate_ci95"]
    lines = [
        f"resolved          {report['resolved']} / {report['episodes']} episodes ({report['instances']} instances)",
        f"resolve rate      {report['resolve_rate']:.1%}  (95% CI {low:.1%} - {high:.1%})",
    ]
    lines += [f"{key:<17} {value:.1%}" for key, value in report.items() if key.startswith("pass@")]
    lines += [
        f"mean turns        {report['mean_turns']:.1f}",
        "episode seconds   p50 {p50:.1f} / p95 {p95:.1f} / max {max:.1f}".format(
            **report.get("episode_seconds", {"p50": 0.0, "p95": 0.0, "max": 0.0})),
        f"mean tokens       {report['mean_prompt_tokens']:.0f} prompt / {report['mean_completion_tokens']:.0f} completion",
        f"format errors     {report['format_error_rate']:.1%} of turns",
        f"truncated         {report['truncated']}",
        f"infra failures    {report['infra_failures']} (not counted above) {report['infra_failures_by_type'] or ''}",
        "",
        f"{'repository':40} {'resolved':>10} {'rate':>8}",
    ]
    for repo, row in report["per_repo"].items():
        lines.append(f"{repo:40} {row['resolved']:>4} / {row['episodes']:<4} {row['resolve_rate']:>7.1%}")
    return "\n".join(lines)
