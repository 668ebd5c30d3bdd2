"""What the framework adapters share: the error for a broken episode, a task id from a row, lazy imports."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ..errors import ConfigError, InfraError

TASK_ID_KEYS = ("task_id", "instance_id")  # ours, and SWE-bench's field name


class EpisodeFailure(InfraError):
    """The infrastructure, not the agent, broke an episode; raised by adapters whose framework expects
    an errored episode to raise (mini-swe-agent, SkyRL) instead of scoring it.

    ``failure`` is SWE-v0's ``info["failure"]`` (``type``, ``message``, ``phase``); ``kind`` is its type.
    The adapter has already released the episode's sandbox when this is raised.
    """

    def __init__(self, failure: Mapping[str, Any], task_id: str | None = None) -> None:
        self.failure = dict(failure)
        self.task_id = task_id
        self.kind = str(self.failure.get("type", InfraError.kind))
        where = f"{task_id}: " if task_id else ""
        super().__init__(
            f"{where}infrastructure failure ({self.kind}, during {self.failure.get('phase', '?')}): "
            f"{self.failure.get('message', '')}"
        )


def task_id_from(row: Mapping[str, Any], *, required: bool = False) -> str | None:
    """The task a dataset row names: ``task_id`` or ``instance_id``; None when it names none."""
    for key in TASK_ID_KEYS:
        value = row.get(key)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"the row's {key!r} must be a non-empty string, got {value!r}")
            return value
    if required:
        raise ConfigError(f"the row names no task: give one of {list(TASK_ID_KEYS)} (keys: {sorted(row)})")
    return None


def require(module: str, extra: str) -> ModuleType:
    """Import a framework an adapter needs, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this adapter needs the {module!r} package: pip install 'swe-gym-env[{extra}]' ({error})"
        ) from error
