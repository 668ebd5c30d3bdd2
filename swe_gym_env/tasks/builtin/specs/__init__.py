"""All hand-written built-in task specs, one module per library under ``builtin/repos``."""

from __future__ import annotations

from swe_gym_env.tasks.builtin.spec import TaskSpec
from swe_gym_env.tasks.builtin.specs import intervals, textkit, tinyini

ALL_SPECS: tuple[TaskSpec, ...] = textkit.TASKS + intervals.TASKS + tinyini.TASKS

__all__ = ["ALL_SPECS"]
