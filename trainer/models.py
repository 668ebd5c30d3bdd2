"""The policy's weights: a pretrained checkpoint, the tiny model built here, or a run's saved checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from swe_gym_env.tasks.task import Task

from .config import TrainConfig
from .demos import demo_actions, starting_files


def load_checkpoint(path: str | Path, **kwargs: Any) -> tuple[Any, Any]:
    """(model, tokenizer) saved by a run (or any causal LM directory), ready for our rollouts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .tiny import set_response_template

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    set_response_template(tokenizer)
    return AutoModelForCausalLM.from_pretrained(path, **kwargs), tokenizer


def load_model(config: TrainConfig, train: Sequence[Task], run_dir: Path) -> tuple[Any, Any]:
    """The policy's model and tokenizer: a pretrained checkpoint, or the tiny model built here
    (saved in ``<run>/tiny`` once; later calls load it)."""
    from .tiny import build_tiny, tokenizer_corpus

    name = config.model.name_or_path
    if name is None:
        tiny_dir = run_dir / "tiny"
        if not (tiny_dir / "config.json").is_file():
            extra = [action for task in train for action in demo_actions(task, starting_files(task))]
            tiny = replace(config.model.tiny, seed=config.run.seed)
            build_tiny(tokenizer_corpus(train, extra), tiny, tiny_dir)
        name = str(tiny_dir)
    kwargs: dict[str, Any] = {}
    if config.model.dtype != "auto":
        import torch

        kwargs["dtype"] = getattr(torch, config.model.dtype)
    elif config.model.name_or_path is not None:
        kwargs["dtype"] = "auto"
    if config.model.attn_implementation:
        kwargs["attn_implementation"] = config.model.attn_implementation
    return load_checkpoint(name, **kwargs)
