"""The run configuration: dataclasses with one line of help per field, read from YAML and CLI overrides.

``load_config("configs/tiny.yaml", overrides=["rl.steps=4", "model.name_or_path=Qwen/..."])`` returns
a :class:`TrainConfig`; unknown keys are errors that name the section and list the valid keys.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .policy import Sampling
from .rft import SFTSettings
from .tiny import TinyConfig


@dataclass
class ModelConfig:
    name_or_path: str | None = None  # HF hub id or local path; None builds the tiny model from `tiny` (no downloads)
    tiny: TinyConfig = field(default_factory=TinyConfig)  # shape of the tiny model when name_or_path is None
    dtype: str = "auto"  # torch dtype for a pretrained model: auto, bfloat16, float16, float32
    system_prompt: str | None = None  # None: the chat template's own default system message
    generation_backend: str = "transformers"  # transformers (batched, with KV cache) or vllm (when installed)
    attn_implementation: str | None = None  # e.g. flash_attention_2 on GPUs; None lets transformers pick


@dataclass
class TaskConfig:
    source: str = "builtin"  # builtin, a .json/.jsonl/.parquet file, or a Hugging Face dataset id
    split: str = "test"  # dataset split for Hugging Face sources
    train_ids: list[str] | None = None  # training tasks; None: every task not held out
    heldout_ids: list[str] | None = None  # held-out tasks, evaluated but never trained on
    heldout_per_repo: int = 1  # when heldout_ids is None: hold out this many tasks of each repository (the last ones)
    limit: int | None = None  # use only the first N training tasks (quick runs)


@dataclass
class EnvConfig:
    backend: str = "docker"  # docker (this machine's daemon), ray (the nodes of a Ray cluster) or fake (tests)
    ray_address: str | None = None  # backend ray: the cluster to join (None: RAY_ADDRESS, or ray.init() as called)
    num_envs: int = 32  # environments stepped concurrently (threads); each holds one container
    max_turns: int = 40  # model turns per episode (the env's max_steps)
    max_context_tokens: int = 32768  # prompt + episode tokens; the episode ends rather than exceed it
    max_new_tokens: int = 2048  # tokens per model turn
    command_timeout: float = 60.0  # seconds per tool command inside the container
    reward: str = "tests"  # tests (hidden tests pass -> 1.0) or patch_similarity (SWE-RL)
    batch_wait_s: float = 0.5  # after one env answers, wait this long for resets/grading so they join the next generation batch


@dataclass
class WarmStartConfig:
    mode: str = "auto"  # auto: train on demonstrations when the base model resolves no training task; always; never
    sft: SFTSettings = field(default_factory=lambda: SFTSettings(learning_rate=1e-5, epochs=2))  # training on demos
    trace_examples: int = 0  # execution-trace examples (E.T. style) trained on with the demos; 0 = none (off: the recipe as published)
    trace_examples_file: str | None = None  # read them from this file (python -m swe_gym_env.trace.examples); None: trace the training tasks' tests now
    trace_demos: int = 0  # every Nth demonstration calls `trace` on the visible tests before its edit; 0 = none


@dataclass
class RFTConfig:
    enabled: bool = True  # run rejection fine-tuning
    samples_per_task: int = 10  # k episodes sampled per training task (the paper's 10); resolved ones are kept
    include_demos: bool = False  # also train on the demonstrations (off: RFT learns from the policy's own successes)
    sft: SFTSettings = field(default_factory=SFTSettings)  # training on kept episodes: one epoch at 5e-6


@dataclass
class RLConfig:
    enabled: bool = True  # run DAPO reinforcement learning
    steps: int = 100  # optimizer steps of GRPOTrainer (a rollout every minibatches x num_iterations steps)
    tasks_per_step: int = 16  # groups (task draws) per rollout; a multiple of the number of processes
    num_generations: int = 10  # G: episodes per group (the paper's 10)
    learning_rate: float = 1e-6  # typical for 7B-72B models; the tiny config uses far more
    loss_type: str = "dapo"  # token-level loss normalized over the batch (DAPO)
    epsilon: float = 0.2  # lower clip range
    epsilon_high: float = 0.28  # upper clip range (clip-higher, DAPO)
    beta: float = 0.0  # no KL penalty (DAPO, SWE-RL recipe)
    num_iterations: int = 1  # optimizer passes over each rollout (mu in GRPO); >1 makes the clip ranges bite
    minibatches: int = 1  # optimizer steps per pass: the rollout is split into this many minibatches (PPO-style)
    scale_rewards: str = "group"  # advantage normalization: group, batch or none
    dynamic_sampling: bool = True  # drop groups whose episodes all pass or all fail (judged on pass/fail)
    max_resample_rounds: int = 1  # extra draws to refill dropped groups before masking them out
    mask_truncated: bool = True  # DAPO's overlong filtering: an episode cut by the turn or context limit carries no loss
    turn_penalty: float = 0.0  # reward -= turn_penalty per turn beyond turn_penalty_after (0 = off)
    turn_penalty_after: int = 6  # turns allowed before the penalty starts
    overlong_buffer: int = 0  # DAPO overlong shaping: tokens before max_context_tokens where a soft penalty ramps in (0 = off)
    overlong_penalty: float = 1.0  # penalty at the context limit
    max_grad_norm: float = 1.0  # gradient clipping
    warmup_steps: int = 0  # learning-rate warmup
    save_steps: int = 10  # checkpoint every N steps (resume from the last one)


@dataclass
class EvalConfig:
    samples_per_task: int = 1  # episodes per task when measuring the resolve rate
    base_samples_per_task: int = 1  # episodes per task for the base model (before any training)
    heldout: bool = True  # also evaluate the held-out tasks
    sampling: Sampling = field(default_factory=Sampling)  # evaluation samples like training (temperature 1)


@dataclass
class SweRLConfig:
    """The single-turn recipe (``recipe: swe_rl``): records, their split, and how answers are judged."""

    records: str | None = None  # a records JSONL from `swe-gym-env swe-rl mine`; None: made here from tasks.source
    related_files: int = 2  # records made here: unchanged related files shown beside the changed ones
    repos: list[str] | None = None  # only the records of these repositories; None: all
    train_per_repo: int | None = None  # keep the first N training records of each repository (quick runs)
    grade: bool = True  # also judge answers with the tasks' hidden tests in SWE-v0 (records that name a task)
    grading_workers: int = 2  # concurrent gradings, one sandbox each
    grading_timeout: float = 600.0  # seconds per grading run


@dataclass
class RunConfig:
    output_dir: str = "runs/{time}"  # run directory; {time} and {seed} are filled in
    seed: int = 0  # seeds the tiny model, sampling, data order and the task split
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])  # also wandb; [] for console + JSONL only
    resume: bool = False  # continue the run in output_dir from its last finished stage / checkpoint
    log_level: str = "info"  # console logging level
    save_episodes: bool = True  # write every episode to <run>/episodes/*.jsonl
    cpu_threads: int = 1  # torch threads on a CPU-only machine: 1 avoids OpenMP stalls when containers share the cores


@dataclass
class TrainConfig:
    recipe: str = "agentic"  # agentic: multi-turn in SWE-v0 (warm start, RFT, RL); swe_rl: single-turn SWE-RL
    model: ModelConfig = field(default_factory=ModelConfig)
    tasks: TaskConfig = field(default_factory=TaskConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    sampling: Sampling = field(default_factory=Sampling)  # generation during training rollouts (temperature 1.0)
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    rft: RFTConfig = field(default_factory=RFTConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    swe_rl: SweRLConfig = field(default_factory=SweRLConfig)  # used by recipe: swe_rl
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RECIPES = ("agentic", "swe_rl")


class ConfigError(ValueError):
    """A config file or override names an unknown key or a value of the wrong type."""


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, kind: Any, where: str, default: Any = None) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if value is None:
            return None
        errors = []
        for option in options:
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping of {kind.__name__} fields, got {value!r}")
        return from_dict(kind, value, where, base=default if isinstance(default, kind) else None)
    if origin is list:
        (item,) = typing.get_args(kind) or (Any,)
        if isinstance(value, str):
            value = [part for part in value.split(",") if part]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be an integer, got {value!r}") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if kind is str:
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config", base: Any = None) -> Any:
    """Build dataclass ``cls`` from a nested dict; missing keys keep ``base``'s (or the class's) values;
    unknown keys raise :class:`ConfigError`."""
    types_ = _field_types(cls)
    unknown = sorted(set(data) - set(types_))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {', '.join(types_)}")
    defaults = base if base is not None else cls()
    values = {}
    for name, kind in types_.items():
        if name in data:
            values[name] = _coerce(data[name], kind, f"{where}.{name}", getattr(defaults, name))
        else:
            values[name] = getattr(defaults, name)
    return cls(**values)


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: {key!r} is not a section")
    node[keys[-1]] = value


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def load_config(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read YAML (optional) and apply ``section.key=value`` overrides; returns a validated TrainConfig."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        loaded = yaml.safe_load(text) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded
    for override in overrides or []:
        key, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(f"override {override!r} must look like section.key=value")
        _set_path(data, key.strip(), _parse_value(value))
    config = from_dict(TrainConfig, data)
    if config.recipe not in RECIPES:
        raise ConfigError(f"config.recipe must be one of {', '.join(RECIPES)}, got {config.recipe!r}")
    return config


def save_config(config: TrainConfig, path: str | os.PathLike[str]) -> None:
    import yaml

    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
