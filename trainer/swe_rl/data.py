"""The single-turn recipe's data: the run's records split by task, their prompts, and oracle answers as episodes.

Records come from a file (``swe_rl.records``, written by ``swe-gym-env swe-rl mine``) or are made here
from ``tasks.source`` (tasks on the built-in libraries: the synthesized set, say). The split follows
the multi-turn recipe's rules (``tasks.train_ids`` / ``heldout_ids`` / ``heldout_per_repo``) applied to
tasks - a record goes where its task goes - so no held-out task is ever trained on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swe_gym_env.swe_rl import (
    MiningConfig,
    Record,
    load_records,
    oracle_answer,
    prompt_messages,
    render_prompt,
)
from swe_gym_env.swe_rl.records import SYSTEM_PROMPT
from swe_gym_env.tasks.task import Task

from ..chat import ChatFormat
from ..config import ConfigError, TrainConfig
from ..episode import Episode, Turn
from ..tasks import split_tasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Unit:
    """What the split sees of a record's task: its id and repository."""

    instance_id: str
    repo: str


def run_records(config: TrainConfig, tasks: Sequence[Task]) -> list[Record]:
    """The run's records: the file's, or made from the tasks (their built-in files) with the related files asked for."""
    if config.swe_rl.records:
        return load_records(config.swe_rl.records)
    from swe_gym_env.swe_rl.from_tasks import records_from_tasks
    from swe_gym_env.swe_rl.sources import builtin_files

    records, skipped = records_from_tasks(tasks, builtin_files, MiningConfig(related_files=config.swe_rl.related_files),
                                          name=config.tasks.source)
    if skipped:
        log.warning("%d task(s) made no record: %s", sum(skipped.values()), dict(skipped))
    if not records:
        raise ConfigError(
            f"no record could be made from {config.tasks.source!r} here (only tasks on the built-in libraries can); "
            "mine them with `swe-gym-env swe-rl mine SOURCE --from-image --out records.jsonl` and set swe_rl.records"
        )
    return records


def split_records(records: Sequence[Record], config: TrainConfig) -> tuple[list[Record], list[Record]]:
    """(training, held-out) records, split by task (a record without a task is a task of its own)."""
    if config.swe_rl.repos is not None:
        unknown = sorted(set(config.swe_rl.repos) - {record.repo for record in records})
        if unknown:
            raise ConfigError(f"swe_rl.repos names repositories without records: {unknown}")
        records = [record for record in records if record.repo in config.swe_rl.repos]
    units: dict[str, _Unit] = {}
    for record in records:
        key = record.task_id or record.id
        units.setdefault(key, _Unit(key, record.repo))
    train_units, heldout_units = split_tasks(list(units.values()), config)  # type: ignore[arg-type]
    keep = config.swe_rl.train_per_repo
    if keep is not None:
        per_repo: dict[str, int] = {}
        kept = []
        for unit in train_units:
            per_repo[unit.repo] = per_repo.get(unit.repo, 0) + 1
            if per_repo[unit.repo] <= keep:
                kept.append(unit)
        train_units = kept
    train_keys = {unit.instance_id for unit in train_units}
    heldout_keys = {unit.instance_id for unit in heldout_units}
    train = [r for r in records if (r.task_id or r.id) in train_keys]
    heldout = [r for r in records if (r.task_id or r.id) in heldout_keys]
    return train, heldout


def system_prompt(config: TrainConfig) -> str:
    """SWE-RL's thinking system prompt unless the config names another."""
    return config.model.system_prompt or SYSTEM_PROMPT


def chat_format(tokenizer: Any, config: TrainConfig) -> ChatFormat:
    return ChatFormat(tokenizer, system_prompt(config))


def prompt_ids(chat: ChatFormat, record: Record) -> list[int]:
    return chat.prompt_ids(render_prompt(record))


def fitting(records: Sequence[Record], chat: ChatFormat, max_prompt_tokens: int) -> tuple[list[Record], list[str]]:
    """The records whose prompt fits in ``max_prompt_tokens``, and the ids of those that do not."""
    kept, dropped = [], []
    for record in records:
        (kept if len(prompt_ids(chat, record)) <= max_prompt_tokens else dropped).append(record)
    return kept, [record.id for record in dropped]


def oracle_episode(record: Record, chat: ChatFormat) -> Episode:
    """The oracle answer as a one-turn episode (loss on the answer and its end-of-turn token only)."""
    answer = oracle_answer(record)
    ids = chat.action_ids(answer)
    return Episode(
        task_id=record.task_id or record.id, prompt_ids=tuple(prompt_ids(chat, record)), completion_ids=tuple(ids),
        env_mask=(1,) * len(ids), logprobs=(0.0,) * len(ids), turns=(Turn(0, len(ids), answer, "", False),),
        reward=1.0, resolved=True, truncated=False, prompt=render_prompt(record), end_reason="oracle",
        meta={"record_id": record.id},
    )


def grpo_rows(records: Sequence[Record], config: TrainConfig) -> list[dict[str, Any]]:
    """GRPOTrainer's dataset: the chat prompt of each training record, and the record's id for the reward."""
    system = system_prompt(config)
    return [{"prompt": prompt_messages(record, system), "record_id": record.id} for record in records]


def tokenizer_texts(records: Sequence[Record], config: TrainConfig) -> list[str]:
    """What the tiny tokenizer learns from besides the libraries: training prompts and oracle answers."""
    system = system_prompt(config)
    texts = [system]
    for record in records:
        texts += [render_prompt(record), oracle_answer(record)]
    return texts

