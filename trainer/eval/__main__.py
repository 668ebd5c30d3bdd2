"""``python -m trainer.eval``: evaluate a policy on SWE-bench Verified (or any SWE-bench-format task set).

    python -m trainer.eval --policy openai --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-Coder-32B-Instruct
    python -m trainer.eval --policy hf --model runs/train-.../final
    python -m trainer.eval --dataset builtin --policy oracle          # validate a task set end to end
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from swe_gym_env import TaskError, load_tasks

from .report import format_report
from .runner import EvalSettings, Interrupted, run_eval


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer.eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", choices=["hf", "openai", "oracle", "null"], default="hf",
                   help="hf: a local model or trainer checkpoint; openai: an OpenAI-compatible endpoint; "
                        "oracle/null: scripted agents that validate a task set")
    p.add_argument("--model", help="HF model id/path (hf), or the endpoint's model name (openai)")
    p.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="endpoint, e.g. http://localhost:8000/v1")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="defaults to $OPENAI_API_KEY")
    p.add_argument("--text-actions", action="store_true", help="openai: send no tool schemas; parse text actions")
    p.add_argument("--max-concurrency", type=int, default=8, help="openai: requests in flight at most")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--dataset", default="SWE-bench/SWE-bench_Verified",
                   help="HF dataset id, a local JSON/JSONL/parquet file, or 'builtin'")
    p.add_argument("--split", default="test")
    p.add_argument("--instances", nargs="*", help="only these instance ids")
    p.add_argument("--limit", type=int, help="only the first N instances")
    p.add_argument("--num-samples", type=int, default=1, help="samples per instance (pass@k)")
    p.add_argument("--max-workers", type=int, default=4, help="episodes run at once")
    p.add_argument("--max-steps", type=int, default=250, help="steps per episode at most")
    p.add_argument("--max-new-tokens", type=int, default=1024, help="hf: tokens per model turn at most")
    p.add_argument("--pull-policy", choices=["never", "missing", "always"], default="missing")
    p.add_argument("--backend", choices=["docker", "ray"], default="docker",
                   help="where sandboxes live: this machine's Docker daemon, or the nodes of a Ray cluster")
    p.add_argument("--ray-address", help="backend ray: the cluster to join (default: RAY_ADDRESS, or a new local one)")
    p.add_argument("--schedule", choices=["cost", "given"], default="cost",
                   help="cost: the costliest tasks first, so the slowest episodes do not start last")
    p.add_argument("--run-dir", help="where to write (default runs/eval-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir, skipping finished episodes")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def make_factory(args: argparse.Namespace):
    if args.policy in ("oracle", "null"):
        from .agents import ScriptedFactory

        return ScriptedFactory(args.policy), args.policy
    if not args.model:
        raise SystemExit(f"--policy {args.policy} needs --model")
    if args.policy == "openai":
        from .openai_agent import OpenAIClient, OpenAIFactory

        if not args.base_url:
            raise SystemExit("--policy openai needs --base-url (or $OPENAI_BASE_URL)")
        client = OpenAIClient(args.base_url, args.model, api_key=args.api_key, max_concurrency=args.max_concurrency,
                              temperature=args.temperature)
        return OpenAIFactory(client, use_tools=not args.text_actions), args.model
    from .hf_agent import HFFactory

    return HFFactory.load(args.model, temperature=args.temperature, max_new_tokens=args.max_new_tokens), args.model


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.resume and not args.run_dir:
        raise SystemExit("--resume needs --run-dir (the run to continue)")
    try:
        tasks = load_tasks(args.dataset, split=args.split, instance_ids=args.instances or None)
    except TaskError as error:
        print(f"trainer.eval: {error}", file=sys.stderr)
        return 2
    if args.limit:
        tasks = tasks[: args.limit]
    factory, model_name = make_factory(args)
    run_dir = Path(args.run_dir or f"runs/eval-{time.strftime('%Y%m%d-%H%M%S')}")
    settings = EvalSettings(max_steps=args.max_steps, num_samples=args.num_samples, max_workers=args.max_workers,
                            model_name=model_name, backend=args.backend, ray_address=args.ray_address,
                            pull_policy=args.pull_policy, schedule=args.schedule)

    def progress(record: dict) -> None:
        mark = "resolved" if record["resolved"] else ("FAILURE " + record["failure"]["type"] if record["failure"] else "-")
        print(f"{record['instance_id']:45} sample {record['sample']}  {mark}", flush=True)

    print(f"evaluating {model_name} on {len(tasks)} instances x {args.num_samples}; run dir: {run_dir}", flush=True)
    try:
        report = run_eval(tasks, factory, run_dir, settings=settings, resume=args.resume, progress=progress)
    except Interrupted as error:
        print(str(error), file=sys.stderr)
        return 130
    except FileExistsError as error:
        print(f"trainer.eval: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(f"\npredictions: {run_dir / 'predictions.jsonl'}\nreport:      {run_dir / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
