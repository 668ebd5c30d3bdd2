"""Does execution-trace data help the warm start? The learning benchmark with and without it, side by side.

    .venv/bin/python -m benchmarks.bench_trace_learning                        # seeds 0 1, warm start + RFT
    .venv/bin/python -m benchmarks.bench_trace_learning --seeds 0 1 2 --set rl.enabled=true

Each seed runs the embedded default (configs/tiny.yaml) twice from the same tiny model: without trace
data (the recipe as it is) and with it (``warm_start.trace_examples`` execution-trace examples of the
training tasks - E.T. style, predict the trace and the result - trained on with the demonstrations,
and every ``--trace-demos``-th demonstration calling ``trace`` before its edit). Every stage's
checkpoint is then re-evaluated with :func:`benchmarks.bench_learning.reevaluate` (same sampling,
``--eval-samples`` episodes per task). Reported: resolve rate per stage and arm (mean over seeds,
per seed), and the difference with - without. Writes ``benchmarks/results/trace_learning.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_learning import LABELS, STAGES, reevaluate, run_seed
from benchmarks.common import git_revision, host

RESULTS = Path(__file__).resolve().parent / "results"


def arms(examples: int, trace_demos: int) -> dict[str, list[str]]:
    return {
        "without trace data": ["warm_start.trace_examples=0", "warm_start.trace_demos=0"],
        "with trace data": [f"warm_start.trace_examples={examples}", f"warm_start.trace_demos={trace_demos}"],
    }


def markdown(report: dict[str, Any]) -> str:
    config = report["config"]
    lines = [
        (f"Trace-data learning benchmark - {report['time']} - rev `{report['revision'][:12]}` - seeds {config['seeds']}, "
         f"{config['eval_samples_per_task']} episodes per task per checkpoint, overrides {config['overrides'] or 'none'}\n"),
        "| checkpoint | without trace data: train (per seed) | with trace data: train (per seed) | with - without | held-out without / with |",
        "|---|---|---|---|---|",
    ]
    for stage, row in report["stages"].items():
        off, on = row["without trace data"], row["with trace data"]
        lines.append(
            f"| {LABELS[stage]} | {off['train_mean']:.1%} ({', '.join(f'{v:.0%}' for v in off['train'])}) | "
            f"{on['train_mean']:.1%} ({', '.join(f'{v:.0%}' for v in on['train'])}) | "
            f"{on['train_mean'] - off['train_mean']:+.1%} | {off['heldout_mean']:.1%} / {on['heldout_mean']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--eval-samples", type=int, default=4)
    parser.add_argument("--examples", type=int, default=18, help="trace examples in the warm start (2 per training task)")
    parser.add_argument("--trace-demos", type=int, default=3, help="every Nth demonstration traces first")
    parser.add_argument("--config", default="configs/tiny.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=None, metavar="SECTION.KEY=VALUE",
                        help="default: rl.enabled=false (warm start and RFT: the stages trace data can change first)")
    parser.add_argument("--arm", choices=["without", "with"], default=None, help="run only one arm (in parallel runs)")
    parser.add_argument("--runs-dir", default="runs/bench-trace-learning")
    parser.add_argument("--out", default=str(RESULTS / "trace_learning.json"))
    args = parser.parse_args(argv)
    overrides = ["rl.enabled=false"] if args.overrides is None else args.overrides
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    load_before = os.getloadavg()[0]
    results: dict[str, dict[int, Any]] = {}
    for arm, arm_overrides in arms(args.examples, args.trace_demos).items():
        if args.arm and not arm.startswith(args.arm + " "):
            continue
        results[arm] = {}
        for seed in args.seeds:
            run_dir = Path(args.runs_dir) / arm.split()[0] / f"seed{seed}"
            done = run_dir / f"bench_trace_learning_{args.eval_samples}.json"
            if done.is_file():
                print(f"== {arm}, seed {seed}: finished earlier ({done})", flush=True)
                results[arm][seed] = json.loads(done.read_text())
                continue
            print(f"== {arm}, seed {seed}: {run_dir}", flush=True)
            all_overrides = [*overrides, *arm_overrides]
            summary = run_seed(seed, run_dir, args.config, all_overrides)
            results[arm][seed] = {
                "run_dir": str(run_dir), "wall_seconds": summary["wall_seconds"], "pipeline_evals": summary["evals"],
                "warm_start": summary["stages"].get("warm_start"),
                "reevaluation": reevaluate(run_dir, args.config, all_overrides, args.eval_samples, seed),
            }
            done.parent.mkdir(parents=True, exist_ok=True)
            done.write_text(json.dumps(results[arm][seed], indent=2, default=str))
    if args.arm:
        return 0
    stages: dict[str, Any] = {}
    for stage in STAGES:
        row = {}
        for arm, per_seed in results.items():
            evals = [per_seed[s]["reevaluation"][stage] for s in args.seeds if stage in per_seed[s]["reevaluation"]]
            if not evals:
                break
            train, held = [e["train"] for e in evals], [e["heldout"] for e in evals]
            row[arm] = {"train_mean": statistics.mean(train), "train": train,
                        "heldout_mean": statistics.mean(held), "heldout": held}
        if len(row) == 2:
            stages[stage] = row
    report = {
        "benchmark": "trace_learning",
        "revision": git_revision(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": host(load_before),
        "config": {"file": args.config, "overrides": overrides, "seeds": args.seeds, "examples": args.examples,
                   "trace_demos": args.trace_demos, "eval_samples_per_task": args.eval_samples},
        "stages": stages,
        "runs": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    Path(args.out).with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
