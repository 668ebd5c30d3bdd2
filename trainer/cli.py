"""``python -m trainer`` / ``swe-gym-train``: run warm start, RFT and DAPO RL from a YAML config.

    python -m trainer                                   # the embedded default: tiny model, built-in tasks, CPU
    python -m trainer --config configs/qwen2.5-coder-7b.yaml
    python -m trainer --model Qwen/Qwen2.5-Coder-7B-Instruct --set rl.steps=50
    python -m trainer --resume runs/20261121-101500     # continue a run after its last finished stage
    python -m trainer --config configs/tiny-swe-rl.yaml # SWE-RL: single-turn, similarity reward, judged by tests
    accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m trainer --config configs/...
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "tiny.yaml"


class ConsoleProgress:
    """A tqdm bar per phase, and stage summaries printed between bars (main process only)."""

    def __init__(self, enabled: bool = True, bars: bool = True) -> None:
        self.enabled = enabled
        self.bars = bars and enabled
        self.bar: Any = None

    def start(self, name: str, total: int | None) -> None:
        if not self.bars:
            return
        from tqdm.auto import tqdm

        self.finish()
        self.bar = tqdm(total=total, desc=name, unit="it", dynamic_ncols=True, leave=False)

    def advance(self, count: int = 1, **postfix: Any) -> None:
        if self.bar is not None:
            self.bar.update(count)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def message(self, text: str) -> None:
        if self.enabled:
            if self.bar is not None:
                self.bar.write(text)
            else:
                print(text, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Rejection fine-tuning, then DAPO RL, for SWE-v0 agents (TRL + Accelerate).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--config", help=f"YAML config (default: {DEFAULT_CONFIG.relative_to(DEFAULT_CONFIG.parent.parent)})")
    parser.add_argument("--model", help="Hugging Face model id or local path (default: the tiny model built here)")
    parser.add_argument("--output-dir", help="run directory (default: runs/<time>)")
    parser.add_argument("--seed", type=int, help="seed for the tiny model, sampling and data order")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument("--stages", default="base,warm_start,rft,rl",
                        help="comma-separated stages to run (the swe_rl recipe has base, warm_start, rl)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config field, e.g. --set rl.steps=4 (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .config import ConfigError, load_config

    overrides = list(args.overrides)
    if args.model:
        overrides.append(f"model.name_or_path={args.model}")
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    config_path = args.config
    if args.resume:
        config_path = config_path or str(Path(args.resume) / "config.yaml")
        overrides.append(f"run.output_dir={args.resume}")
    elif args.output_dir:
        overrides.append(f"run.output_dir={args.output_dir}")
    if config_path is None and DEFAULT_CONFIG.is_file():
        config_path = str(DEFAULT_CONFIG)
    try:
        config = load_config(config_path, overrides)
    except (ConfigError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    main_process = _is_main_process()
    logging.basicConfig(
        level=getattr(logging, config.run.log_level.upper(), logging.INFO) if main_process else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "urllib3", "docker", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import transformers

    transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars between our own
    transformers.utils.logging.set_verbosity_error()
    stages = [stage.strip() for stage in args.stages.split(",") if stage.strip()]
    progress = ConsoleProgress(enabled=main_process, bars=not args.quiet)
    if config.recipe == "swe_rl":
        from .swe_rl.pipeline import SweRLPipeline

        pipeline = SweRLPipeline(config, progress, stages=stages)
    else:
        from .pipeline import Pipeline

        pipeline = Pipeline(config, progress, stages=stages)
    pipeline.run(resume=bool(args.resume))
    return 0


def _is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


if __name__ == "__main__":
    sys.exit(main())
