"""swe_gym_env: software-engineering tasks in real Docker containers, as a Gymnasium environment.

``import swe_gym_env`` registers ``SWE-v0``; nothing else happens at import time.
"""

from __future__ import annotations

import gymnasium as gym

from .errors import ConfigError, Failure, InfraError, SweGymError, TaskError
from .tasks import Task, load_tasks, task_from_row, write_tasks

__version__ = "0.1.0"
__all__ = [
    "Task",
    "load_tasks",
    "task_from_row",
    "write_tasks",
    "SWEEnv",
    "SweGymError",
    "TaskError",
    "ConfigError",
    "InfraError",
    "Failure",
]


def __getattr__(name: str):
    if name == "SWEEnv":  # imported lazily: gym.make does it on first use
        from .env import SWEEnv

        return SWEEnv
    raise AttributeError(f"module 'swe_gym_env' has no attribute {name!r}")


if "SWE-v0" not in gym.registry:
    gym.register(
        id="SWE-v0",
        entry_point="swe_gym_env.env:SWEEnv",
        vector_entry_point="swe_gym_env.vector:make_vector_env",  # make_vec: N sub-envs on threads
        nondeterministic=True,  # the same actions can meet different timing, processes and test order
        disable_env_checker=False,
    )
