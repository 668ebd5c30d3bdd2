"""Which tasks a run trains on and which it holds out."""

from __future__ import annotations

from collections.abc import Sequence

from swe_gym_env.tasks.task import Task

from .config import TrainConfig


def split_tasks(tasks: Sequence[Task], config: TrainConfig) -> tuple[list[Task], list[Task]]:
    """(training tasks, held-out tasks): by ids when given, else the last ``heldout_per_repo`` of each repo."""
    by_id = {task.instance_id: task for task in tasks}
    cfg = config.tasks
    unknown = [i for i in (*(cfg.heldout_ids or ()), *(cfg.train_ids or ())) if i not in by_id]
    if unknown:
        raise ValueError(f"tasks.train_ids / tasks.heldout_ids name tasks that {cfg.source!r} does not have: {unknown}")
    if cfg.heldout_ids is not None:
        heldout = [by_id[i] for i in cfg.heldout_ids]
    else:
        per_repo: dict[str, list[Task]] = {}
        for task in tasks:
            per_repo.setdefault(task.repo, []).append(task)
        heldout = []
        for repo_tasks in per_repo.values():
            if len(repo_tasks) > cfg.heldout_per_repo:
                heldout += repo_tasks[len(repo_tasks) - cfg.heldout_per_repo :]
    held = {task.instance_id for task in heldout}
    if cfg.train_ids is not None:
        train = [by_id[i] for i in cfg.train_ids]
    else:
        train = [task for task in tasks if task.instance_id not in held]
    if cfg.limit:
        train = train[: cfg.limit]
    overlap = held & {task.instance_id for task in train}
    if overlap:
        raise ValueError(f"tasks both trained on and held out: {sorted(overlap)}")
    if not train:
        raise ValueError("no training tasks: check tasks.train_ids / tasks.heldout_ids")
    return train, heldout
