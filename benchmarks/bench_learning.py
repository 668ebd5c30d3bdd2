"""Is the learning signal real? The embedded default (``make train``), several seeds, resolve rate per stage.

    .venv/bin/python -m benchmarks.bench_learning                  # seeds 0 1 2 (~10 min each on 2 cores)
    .venv/bin/python -m benchmarks.bench_learning --seeds 0 1 2 3 --eval-samples 8
    # seeds in parallel processes, then one run that finds them finished and writes the report:
    for s in 0 1 2; do .venv/bin/python -m benchmarks.bench_learning --seeds $s --out /dev/null & done; wait
    .venv/bin/python -m benchmarks.bench_learning --seeds 0 1 2

Each seed runs the whole default recipe - tiny model built from that seed, the built-in tasks (9
trained on, 3 held out), warm start on demonstrations, RFT, DAPO RL - against the real Docker
environment. Then every stage's checkpoint (warm start, RFT, RL) is evaluated again, all in one
batch of episodes per seed with the same sampling (temperature 1), ``--eval-samples`` episodes per
task, on the training and the held-out tasks.

Reported: the resolve rate per stage (mean and standard deviation over seeds), the gain of RL over
the RFT checkpoint on the training tasks per seed, and whether the mean gain exceeds the run-to-run
spread (the larger of the two stages' standard deviations over seeds). The held-out rates are
reported as they come. Writes ``benchmarks/results/learning.json`` with the git revision and config.
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

from benchmarks.common import git_revision, host

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("warm_start", "rft", "rl")
LABELS = {"warm_start": "after warm start", "rft": "after RFT", "rl": "after RL"}




def run_seed(seed: int, run_dir: Path, config_path: str, overrides: list[str]) -> dict[str, Any]:
    """The default pipeline for one seed (resumed if its run directory already finished some stages)."""
    from trainer.cli import ConsoleProgress
    from trainer.config import load_config
    from trainer.pipeline import Pipeline

    config = load_config(config_path, [*overrides, f"run.seed={seed}", f"run.output_dir={run_dir}", "run.report_to=[]"])
    started = time.monotonic()
    summary = Pipeline(config, ConsoleProgress(bars=False)).run(resume=(run_dir / "state.json").is_file())
    summary["wall_seconds"] = time.monotonic() - started
    return summary


def reevaluate(run_dir: Path, config_path: str, overrides: list[str], samples: int, seed: int) -> dict[str, Any]:
    """Every stage's checkpoint on every task, ``samples`` episodes each, in one concurrent batch per stage."""
    import swe_gym_env
    from trainer.config import load_config
    from trainer.envs import make_envs
    from trainer.metrics import per_task_rates
    from trainer.models import load_checkpoint
    from trainer.policy import HFPolicy, Sampling
    from trainer.rollout import RolloutLimits, collect_episodes, requests_for
    from trainer.tasks import split_tasks

    config = load_config(config_path, [*overrides, f"run.seed={seed}"])
    train, heldout = split_tasks(swe_gym_env.load_tasks(config.tasks.source), config)
    env = config.env
    limits = RolloutLimits(env.max_turns, env.max_context_tokens, env.max_new_tokens, env.batch_wait_s)
    out: dict[str, Any] = {}
    with make_envs(env.num_envs, tasks=[*train, *heldout], max_steps=env.max_turns,
                   command_timeout=env.command_timeout) as envs:
        for stage in STAGES:
            checkpoint = run_dir / "checkpoints" / stage
            if not (checkpoint / "config.json").is_file():
                continue
            model, tokenizer = load_checkpoint(checkpoint)
            policy = HFPolicy(model, tokenizer, Sampling(max_new_tokens=env.max_new_tokens), seed=1000 + seed)
            ids = [t.instance_id for t in train] + [t.instance_id for t in heldout]
            episodes = collect_episodes(policy, envs, requests_for(ids, samples), limits)
            split = len(train) * samples
            train_eps, held_eps = episodes[:split], episodes[split:]
            rate = lambda eps: sum(e.resolved for e in eps if not e.failure) / max(1, sum(not e.failure for e in eps))
            out[stage] = {
                "train": rate(train_eps),
                "heldout": rate(held_eps),
                "train_per_task": per_task_rates(train_eps),
                "heldout_per_task": per_task_rates(held_eps),
                "failures": sum(bool(e.failure) for e in episodes),
                "episodes": len(episodes),
            }
            print(f"  seed {seed} {LABELS[stage]:>17}: train {out[stage]['train']:.1%}, held-out {out[stage]['heldout']:.1%}",
                  flush=True)
    return out


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def markdown(report: dict[str, Any]) -> str:
    """The README table: resolve rate per stage over seeds, and the verdict."""
    config, verdict = report["config"], report["verdict"]
    lines = [
        f"Learning benchmark - {report['time']} - rev `{report['revision'][:12]}` - seeds {config['seeds']}, "
        f"{config['eval_samples_per_task']} episodes per task per checkpoint\n",
        "| checkpoint | training tasks: mean ± std over seeds | per seed | held-out tasks: mean ± std |",
        "|---|---|---|---|",
    ]
    for stage, row in report["stages"].items():
        lines.append(f"| {LABELS[stage]} | {row['train_mean']:.1%} ± {row['train_std']:.1%} | "
                     f"{', '.join(f'{v:.0%}' for v in row['train'])} | {row['heldout_mean']:.1%} ± {row['heldout_std']:.1%} |")
    if verdict["rl_gain_mean"] is not None:
        lines.append(
            f"\nRL over RFT on the training tasks: {', '.join(f'{g:+.1%}' for g in verdict['rl_gain_over_rft_per_seed'])} "
            f"(mean {verdict['rl_gain_mean']:+.1%}, std {verdict['rl_gain_std']:.1%}); run-to-run spread of the "
            f"resolve rate (largest std over seeds of the RFT and RL checkpoints) {verdict['run_to_run_spread']:.1%}: "
            f"the gain {'exceeds' if verdict['rl_gain_exceeds_spread'] else 'does not exceed'} it."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-samples", type=int, default=8, help="episodes per task when re-evaluating checkpoints")
    parser.add_argument("--config", default="configs/tiny.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--runs-dir", default="runs/bench-learning", help="one run directory per seed (resumable)")
    parser.add_argument("--out", default=str(RESULTS / "learning.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    load_before = os.getloadavg()[0]
    per_seed: dict[int, dict[str, Any]] = {}
    for seed in args.seeds:
        run_dir = Path(args.runs_dir) / f"seed{seed}"
        done = run_dir / f"bench_learning_{args.eval_samples}.json"  # a finished seed is not run again
        if done.is_file():
            print(f"== seed {seed}: {run_dir} (finished earlier: {done.name})", flush=True)
            per_seed[seed] = json.loads(done.read_text())
            continue
        print(f"== seed {seed}: {run_dir}", flush=True)
        summary = run_seed(seed, run_dir, args.config, args.overrides)
        print("  re-evaluating the checkpoints ...", flush=True)
        per_seed[seed] = {
            "run_dir": str(run_dir),
            "wall_seconds": summary["wall_seconds"],
            "pipeline_evals": summary["evals"],
            "reevaluation": reevaluate(run_dir, args.config, args.overrides, args.eval_samples, seed),
        }
        done.write_text(json.dumps(per_seed[seed], indent=2, default=str))

    stages: dict[str, Any] = {}
    for stage in STAGES:
        rows = [per_seed[s]["reevaluation"][stage] for s in args.seeds if stage in per_seed[s]["reevaluation"]]
        if not rows:
            continue
        train = [row["train"] for row in rows]
        held = [row["heldout"] for row in rows]
        stages[stage] = {
            "train_mean": statistics.mean(train), "train_std": spread(train), "train": train,
            "heldout_mean": statistics.mean(held), "heldout_std": spread(held), "heldout": held,
        }
    gains = [per_seed[s]["reevaluation"]["rl"]["train"] - per_seed[s]["reevaluation"]["rft"]["train"]
             for s in args.seeds if {"rl", "rft"} <= set(per_seed[s]["reevaluation"])]
    run_to_run = max(stages.get("rft", {}).get("train_std", 0.0), stages.get("rl", {}).get("train_std", 0.0))
    verdict = {
        "rl_gain_over_rft_per_seed": gains,
        "rl_gain_mean": statistics.mean(gains) if gains else None,
        "rl_gain_std": spread(gains),
        "run_to_run_spread": run_to_run,
        "rl_gain_exceeds_spread": bool(gains) and statistics.mean(gains) > run_to_run,
        "rl_gain_positive_every_seed": bool(gains) and all(g > 0 for g in gains),
    }
    report = {
        "benchmark": "learning",
        "revision": git_revision(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": host(load_before),
        "config": {"file": args.config, "overrides": args.overrides, "seeds": args.seeds,
                   "eval_samples_per_task": args.eval_samples},
        "stages": stages,
        "verdict": verdict,
        "seeds": per_seed,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    if args.out != os.devnull:
        Path(args.out).with_suffix(".md").write_text(markdown(report))

    print(f"\nresolve rate over seeds {args.seeds} ({args.eval_samples} episodes per task per checkpoint):")
    print(f"{'stage':>17} | {'train mean ± std':>17} | {'held-out mean ± std':>19}")
    for stage, row in stages.items():
        print(f"{LABELS[stage]:>17} | {row['train_mean']:7.1%} ± {row['train_std']:5.1%}  | "
              f"{row['heldout_mean']:7.1%} ± {row['heldout_std']:5.1%}")
    if gains:
        print(f"RL over RFT (train): {', '.join(f'{g:+.1%}' for g in gains)}; mean {verdict['rl_gain_mean']:+.1%} "
              f"vs run-to-run spread {run_to_run:.1%} -> "
              f"{'exceeds' if verdict['rl_gain_exceeds_spread'] else 'does NOT exceed'} the spread")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
