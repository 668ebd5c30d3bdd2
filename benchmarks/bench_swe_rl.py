"""The SWE-RL recipe over several seeds: similarity reward and test-judged resolve rate per stage, and whether
the similarity reward tells which answers the hidden tests accept.

    .venv/bin/python -m benchmarks.bench_swe_rl                      # seeds 0 1 2 (~7 min each on 2 cores)
    .venv/bin/python -m benchmarks.bench_swe_rl --seeds 0 1 2 --eval-samples 8

Each seed runs the embedded default of the single-turn recipe (``configs/tiny-swe-rl.yaml``: the tiny
model built from that seed, textkit's synthesized tasks as single-turn records, 8 trained on and 8
held out, warm start on oracle answers, GRPO with the DAPO loss and the similarity reward, no
container while training). Then the warm-start and RL checkpoints are evaluated again with the same
sampling (temperature 1), ``--eval-samples`` answers per record: each answer's similarity reward, and
its edits as a patch graded by the task's hidden tests in SWE-v0's sandboxes.

Reported: per checkpoint, the mean similarity and the test-judged resolve rate (mean and standard
deviation over seeds) on the training and held-out records; the gain of RL over the warm start per
seed against the run-to-run spread; and Pearson's r between the similarity reward and test
resolution over every evaluated answer of every seed, and over the well-formed ones alone. Writes
``benchmarks/results/swe_rl.json`` and ``.md``.
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
STAGES = ("warm_start", "rl")
LABELS = {"warm_start": "after warm start", "rl": "after RL"}
MEASURES = ("similarity", "resolve_rate")


def run_seed(seed: int, run_dir: Path, config_path: str, overrides: list[str]) -> dict[str, Any]:
    """The recipe for one seed (resumed if its run directory already finished some stages)."""
    from trainer.cli import ConsoleProgress
    from trainer.config import load_config
    from trainer.swe_rl.pipeline import SweRLPipeline

    config = load_config(config_path, [*overrides, f"run.seed={seed}", f"run.output_dir={run_dir}", "run.report_to=[]"])
    started = time.monotonic()
    summary = SweRLPipeline(config, ConsoleProgress(bars=False)).run(resume=(run_dir / "state.json").is_file())
    summary["wall_seconds"] = time.monotonic() - started
    return summary


def reevaluate(run_dir: Path, config_path: str, overrides: list[str], samples: int, seed: int,
               summary: dict[str, Any]) -> dict[str, Any]:
    """Each stage's checkpoint, ``samples`` answers per record, judged by similarity and by the hidden tests."""
    import swe_gym_env
    from swe_gym_env.backends.factory import make_backend
    from swe_gym_env.grading import make_grader
    from trainer.config import load_config
    from trainer.models import load_checkpoint
    from trainer.policy import HFPolicy, Sampling
    from trainer.swe_rl.data import chat_format, run_records
    from trainer.swe_rl.evaluate import HiddenTestJudge, answer_samples, sample_stats

    config = load_config(config_path, [*overrides, f"run.seed={seed}"])
    tasks = swe_gym_env.load_tasks(config.tasks.source)
    by_id = {record.id: record for record in run_records(config, tasks)}
    train = [by_id[i] for i in summary["train_records"]]
    heldout = [by_id[i] for i in summary["heldout_records"]]
    workers = config.swe_rl.grading_workers
    backend = make_backend(config.env.backend, num_envs=workers, warm_pool=workers + 1)
    judge = HiddenTestJudge(make_grader(backend, timeout=config.swe_rl.grading_timeout),
                            {t.instance_id: t for t in tasks}, workers, backend)
    out: dict[str, Any] = {}
    try:
        for stage in STAGES:
            checkpoint = run_dir / "checkpoints" / stage
            if not (checkpoint / "config.json").is_file():
                continue
            model, tokenizer = load_checkpoint(checkpoint)
            chat = chat_format(tokenizer, config)
            policy = HFPolicy(model, tokenizer, Sampling(max_new_tokens=config.env.max_new_tokens), seed=1000 + seed,
                              system_prompt=chat.system_prompt)
            requests = [(r, "train") for r in train for _ in range(samples)]
            requests += [(r, "heldout") for r in heldout for _ in range(samples)]
            answers = answer_samples(policy, chat, requests, config.env.max_new_tokens, judge)
            stats = {**sample_stats([a for a in answers if a.split == "train"], "train"),
                     **sample_stats([a for a in answers if a.split == "heldout"], "heldout")}
            out[stage] = {"stats": stats, "samples": [a.as_dict() for a in answers]}
            print(f"  seed {seed} {LABELS[stage]:>16}: similarity train {stats['train/similarity']:+.3f}, held-out "
                  f"{stats['heldout/similarity']:+.3f}; resolve rate train {stats['train/resolve_rate']:.1%}, "
                  f"held-out {stats['heldout/resolve_rate']:.1%}", flush=True)
    finally:
        backend.close()
    return out


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def association(samples: list[dict[str, Any]]) -> dict[str, Any]:
    from trainer.swe_rl.evaluate import Sample, correlation

    return correlation([Sample(**s) for s in samples])


def fmt_r(value: float | None) -> str:
    return "undefined" if value is None else f"{value:+.2f}"


def markdown(report: dict[str, Any]) -> str:
    """The README table and the verdicts."""
    config, verdict = report["config"], report["verdict"]
    lines = [
        f"SWE-RL benchmark - {report['time']} - rev `{report['revision'][:12]}` - seeds {config['seeds']}, "
        f"{config['eval_samples_per_record']} answers per record per checkpoint\n",
        "| checkpoint | records | similarity reward: mean ± std over seeds | per seed | "
        "test-judged resolve rate: mean ± std | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for stage, rows in report["stages"].items():
        for split in ("train", "heldout"):
            sim, res = rows[f"{split}/similarity"], rows[f"{split}/resolve_rate"]
            lines.append(
                f"| {LABELS[stage]} | {'training' if split == 'train' else 'held-out'} | "
                f"{sim['mean']:+.3f} ± {sim['std']:.3f} | {', '.join(f'{v:+.2f}' for v in sim['values'])} | "
                f"{res['mean']:.1%} ± {res['std']:.1%} | {', '.join(f'{v:.0%}' for v in res['values'])} |"
            )
    gains = verdict["rl_gain"]
    if gains["similarity"]:
        lines.append(
            f"\nRL over the warm start on the training records - similarity: "
            f"{', '.join(f'{g:+.3f}' for g in gains['similarity'])} (mean {statistics.mean(gains['similarity']):+.3f}; "
            f"run-to-run spread {verdict['spread']['similarity']:.3f}); resolve rate: "
            f"{', '.join(f'{g:+.1%}' for g in gains['resolve_rate'])} (mean {statistics.mean(gains['resolve_rate']):+.1%}; "
            f"spread {verdict['spread']['resolve_rate']:.1%})."
        )
    everything, formed = verdict["correlation"]["all"], verdict["correlation"]["well_formed"]
    lines.append(
        f"\nSimilarity reward vs. test resolution, every evaluated answer of every seed ({everything['n']:.0f} answers, "
        f"{everything['resolved']:.0f} resolved): Pearson r = {fmt_r(everything['pearson_r'])}; "
        f"well-formed answers only ({formed['n']:.0f}, {formed['resolved']:.0f} resolved): r = {fmt_r(formed['pearson_r'])}"
        + (f", mean reward of resolved {formed['reward_resolved']:.3f} vs unresolved {formed['reward_unresolved']:.3f}"
           if formed["reward_resolved"] is not None and formed["reward_unresolved"] is not None else "")
        + "."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-samples", type=int, default=8, help="answers per record when re-evaluating checkpoints")
    parser.add_argument("--config", default="configs/tiny-swe-rl.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--runs-dir", default="runs/bench-swe-rl", help="one run directory per seed (resumable)")
    parser.add_argument("--out", default=str(RESULTS / "swe_rl.json"))
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
        done = run_dir / f"bench_swe_rl_{args.eval_samples}.json"  # a finished seed is not run again
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
            "reevaluation": reevaluate(run_dir, args.config, args.overrides, args.eval_samples, seed, summary),
        }
        done.write_text(json.dumps(per_seed[seed], indent=2, default=str))

    stages: dict[str, Any] = {}
    for stage in STAGES:
        rows = [per_seed[s]["reevaluation"][stage]["stats"] for s in args.seeds if stage in per_seed[s]["reevaluation"]]
        if not rows:
            continue
        stages[stage] = {}
        for split in ("train", "heldout"):
            for measure in MEASURES:
                values = [row.get(f"{split}/{measure}", 0.0) for row in rows]
                stages[stage][f"{split}/{measure}"] = {"mean": statistics.mean(values), "std": spread(values),
                                                       "values": values}
    both = [s for s in args.seeds if set(STAGES) <= set(per_seed[s]["reevaluation"])]
    gains = {m: [per_seed[s]["reevaluation"]["rl"]["stats"][f"train/{m}"]
                 - per_seed[s]["reevaluation"]["warm_start"]["stats"][f"train/{m}"] for s in both] for m in MEASURES}
    everything = [a for s in args.seeds for stage in per_seed[s]["reevaluation"].values() for a in stage["samples"]]
    verdict = {
        "rl_gain": gains,
        "spread": {m: max((stages[st][f"train/{m}"]["std"] for st in stages), default=0.0) for m in MEASURES},
        "correlation": association(everything),
    }
    verdict["rl_gain_exceeds_spread"] = {m: bool(gains[m]) and statistics.mean(gains[m]) > verdict["spread"][m]
                                         for m in MEASURES}
    report = {
        "benchmark": "swe_rl",
        "revision": git_revision(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": host(load_before),
        "config": {"file": args.config, "overrides": args.overrides, "seeds": args.seeds,
                   "eval_samples_per_record": args.eval_samples},
        "stages": stages,
        "verdict": verdict,
        "seeds": {s: {k: v for k, v in per_seed[s].items() if k != "reevaluation"}
                  | {"reevaluation": {st: r["stats"] for st, r in per_seed[s]["reevaluation"].items()}}
                  for s in args.seeds},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    if args.out != os.devnull:
        Path(args.out).with_suffix(".md").write_text(text)
    print("\n" + text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
