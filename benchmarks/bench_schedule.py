"""Cost-first scheduling vs the order given, side by side: rollout wall time and its tail on a mix of tasks.

    .venv/bin/python -m benchmarks.bench_schedule            # 3 rounds of each order
    .venv/bin/python -m benchmarks.bench_schedule --quick

A rollout waits for its slowest episode. The mix: the 12 built-in tasks and 2 slow copies of them (their
eval script sleeps ``--slow`` seconds in the test run, as a long test suite would). Every episode is the
oracle agent's (the gold patch, then submit), run by the evaluation runner with ``--workers`` sandboxes at
once; the only difference between the two sides is the order episodes start in: as given (shuffled with
the round's seed) or costliest task first (longest-processing-time first, by each task's expected test
cost - measured once before the rounds, by grading each gold patch, as validation does for a row).
Rounds alternate the two orders; medians. Writes ``benchmarks/results/schedule.json`` and ``schedule.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_revision, host

RESULTS = Path(__file__).resolve().parent / "results"


def slow_copy(task: Any, seconds: float) -> Any:
    """``task`` under another id whose test run takes ``seconds`` longer (a sleep after the start marker)."""
    marker = ": '>>>>> Start Test Output'"
    script = task.eval_script.replace(marker, f"{marker}\nsleep {seconds:g}", 1)
    extra = {k: v for k, v in task.extra.items() if k != "swe_gym_test_cost"}
    return dataclasses.replace(task, instance_id=f"{task.instance_id}-slow", eval_script=script, extra=extra)


def measure_costs(tasks: list[Any], workers: int) -> dict[str, float]:
    """Grade every gold patch once: the costs go to the cache, as at a row's first resolving grading."""
    from concurrent.futures import ThreadPoolExecutor

    from swe_gym_env.backends.docker.backend import DockerBackend
    from swe_gym_env.grading import Grader

    backend = DockerBackend(warm_pool=0, pool_size=2 * workers + 8)
    grader = Grader(backend)
    try:
        with ThreadPoolExecutor(workers) as pool:
            reports = list(pool.map(lambda t: grader.grade(t, t.patch), tasks))
    finally:
        backend.close()
    bad = [r.instance_id for r in reports if not r.resolved]
    if bad:
        raise SystemExit(f"gold patches did not resolve: {bad}")
    return {r.instance_id: r.test_seconds for r in reports}


def one_round(tasks: list[Any], order: str, seed: int, workers: int, root: Path) -> dict[str, Any]:
    from trainer.eval.agents import ScriptedFactory
    from trainer.eval.runner import EvalSettings, run_eval

    shuffled = list(tasks)
    random.Random(seed).shuffle(shuffled)
    settings = EvalSettings(max_steps=10, max_workers=workers, model_name="oracle",
                            schedule="cost" if order == "cost" else "given")
    started = time.perf_counter()
    report = run_eval(shuffled, ScriptedFactory("oracle"), root / f"{order}-{seed}", settings=settings)
    wall = time.perf_counter() - started
    return {"order": order, "seed": seed, "wall_s": wall, "resolved": report["resolved"],
            "episodes": report["episodes"], "infra_failures": report["infra_failures"],
            "episode_seconds": report["episode_seconds"]}


def markdown(report: dict[str, Any]) -> str:
    med = report["medians"]
    lines = [
        f"Scheduling benchmark - {report['time']} - rev `{report['revision'][:12]}` - {report['host']['cpus']} CPUs, "
        f"{report['config']['workers']} sandboxes at once, {len(report['config']['tasks'])} episodes "
        f"({report['config']['slow_tasks']} with +{report['config']['slow_s']:g} s test runs), "
        f"median of {report['config']['rounds']} rounds each",
        "",
        "| order episodes start in | rollout wall time (s) | episode p50 / p95 / max (s) | ratio |",
        "|---|---|---|---|",
    ]
    for order, label in (("given", "as given (shuffled)"), ("cost", "costliest task first")):
        m = med[order]
        lines.append(f"| {label} | {m['wall_s']:.1f} | {m['p50']:.1f} / {m['p95']:.1f} / {m['max']:.1f} | "
                     f"{m['wall_s'] / med['given']['wall_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round of each order")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--slow", type=float, default=20.0, help="seconds the slow tasks' test runs add")
    parser.add_argument("--slow-tasks", type=int, default=2,
                        help="how many slow copies (fewer than the workers: then the order decides the wall time)")
    parser.add_argument("--out", type=Path, default=RESULTS / "schedule.json")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="swe-gym-schedule-") as tmp:
        os.environ["SWE_GYM_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cache of this run's own measurements
        import swe_gym_env

        fast = [dataclasses.replace(t, extra={k: v for k, v in t.extra.items() if k != "swe_gym_test_cost"})
                for t in swe_gym_env.load_tasks("builtin")]
        slow = [slow_copy(t, args.slow) for t in fast[:: max(1, len(fast) // max(1, args.slow_tasks))][: args.slow_tasks]]
        tasks = fast + slow
        costs = measure_costs(tasks, args.workers)
        rows = []
        for r in range(rounds):
            for order in (("given", "cost") if r % 2 == 0 else ("cost", "given")):
                rows.append(one_round(tasks, order, seed=r, workers=args.workers, root=Path(tmp) / "runs"))
                print(json.dumps(rows[-1]), flush=True)
    medians = {}
    for order in ("given", "cost"):
        mine = [row for row in rows if row["order"] == order]
        medians[order] = {"wall_s": statistics.median(r["wall_s"] for r in mine),
                          **{k: statistics.median(r["episode_seconds"][k] for r in mine) for k in ("p50", "p95", "max")}}
    report = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "revision": git_revision(), "host": host(load),
              "config": {"rounds": rounds, "workers": args.workers, "slow_s": args.slow, "slow_tasks": len(slow),
                         "tasks": [t.instance_id for t in tasks]},
              "costs": costs, "rounds": rows, "medians": medians,
              "ratio": medians["cost"]["wall_s"] / medians["given"]["wall_s"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
