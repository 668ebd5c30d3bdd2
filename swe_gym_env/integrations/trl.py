"""SWE-v0 as a TRL ``environment_factory`` environment: ``reset(**row)`` starts the row's task, the public
methods are the agent's tools, ``get_reward`` reads the episode's graded reward.

    from trl import GRPOConfig, GRPOTrainer
    from swe_gym_env.integrations.trl import TRLEnvironmentFactory

    with TRLEnvironmentFactory(tasks="builtin", max_steps=30) as factory:
        rows = [{"prompt": [{"role": "user", "content": ""}], "task_id": t.instance_id} for t in factory.tasks]
        trainer = GRPOTrainer(model=..., args=GRPOConfig(...), train_dataset=Dataset.from_list(rows),
                              environment_factory=factory)
        trainer.train()

TRL turns every public function of the class into a tool, with the JSON schema read from its signature
and docstring; the docstrings here are written from :data:`swe_gym_env.tools.TOOL_SCHEMAS`, so the model
sees the same tools as ``info["tools"]``. State lives in attributes (``reward``, ``done``, ``failure``,
``turns``, ``info``), never in extra public methods, which would become tools.

Rewards (``get_reward``, called once per rollout after TRL's tool loop ends):

- the episode was submitted: the graded reward;
- TRL's loop ended first (no tool call, ``max_tool_calling_iterations``, the completion length): 0.0,
  or the graded reward of what is there when the env has ``grade_on_truncation=True``;
- the infrastructure broke the episode (``info["failure"]``): ``None``. TRL (1.16) marks a rollout
  whose every reward is ``None`` as unscorable: it is left out of its group's baseline and gets a zero
  advantage - the masked episode, not a false zero.

TRL never closes environments; :class:`TRLEnvironmentFactory` does (``close()`` or ``with``): every
sandbox of every environment it made, then the shared backend.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Self

from ..backends.base import Limits
from ..backends.factory import make_backend, resolve_limits
from ..env import SWEEnv
from ..tasks.task import Task, load_tasks
from ..tools import TOOL_SCHEMAS
from .common import task_id_from

log = logging.getLogger(__name__)

EPISODE_OVER = "The episode is over."


def _docstring(tool: str) -> str:
    """A Google-style docstring for ``tool`` from its JSON schema: what TRL turns back into that schema."""
    function = next(schema["function"] for schema in TOOL_SCHEMAS if schema["function"]["name"] == tool)
    lines = [function["description"]]
    properties = function["parameters"]["properties"]
    if properties:
        lines += ["", "Args:"]
        for name, spec in properties.items():
            description = spec.get("description", f"The {name}.")
            if "enum" in spec:
                description += " (choices: [" + ", ".join(f'"{choice}"' for choice in spec["enum"]) + "])"
            lines.append(f"    {name}: {description}")
    return "\n".join(lines) + "\n"


class TRLSWEEnvironment:
    """One SWE-v0 env as a TRL environment. ``env`` is a SWE-v0 env (``gym.make("SWE-v0")``, a
    :class:`~swe_gym_env.env.SWEEnv` or a sub-env of ``gym.make_vec``); the caller closes it (or the
    :class:`TRLEnvironmentFactory` that made it).
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.reward = 0.0  # the graded reward, 0.0 until graded (get_reward says None on failures)
        self.done = True
        self.failure: dict[str, str] | None = None
        self.turns = 0
        self.info: dict[str, Any] = {}

    def reset(self, **row: Any) -> str:
        """Start the task the row names (``task_id`` or ``instance_id``; otherwise one drawn by the env)
        in a fresh sandbox; returns the task prompt, which TRL appends to the row's last user message."""
        task_id = task_id_from(row)
        observation, info = self.env.reset(options={"task_id": task_id} if task_id else None)
        self.info, self.failure = info, info.get("failure")
        self.reward, self.done, self.turns = 0.0, False, 0  # a failed start: the first tool call says so
        return observation

    def _step(self, call: dict[str, Any]) -> str:
        if self.done:
            return EPISODE_OVER
        self.turns += 1
        observation, reward, terminated, truncated, info = self.env.step(call)
        self.info, self.failure = info, info.get("failure")
        self.reward = float(reward)
        self.done = bool(terminated or truncated)
        return observation

    def bash(self, command: str) -> str:
        return self._step({"name": "bash", "arguments": {"command": command}})

    def str_replace_editor(
        self,
        command: str,
        path: str,
        file_text: str | None = None,
        old_str: str | None = None,
        new_str: str | None = None,
        insert_line: int | None = None,
        view_range: list[int] | None = None,
    ) -> str:
        arguments = {"command": command, "path": path, "file_text": file_text, "old_str": old_str,
                     "new_str": new_str, "insert_line": insert_line, "view_range": view_range}
        return self._step({"name": "str_replace_editor",
                           "arguments": {k: v for k, v in arguments.items() if v is not None}})

    def trace(
        self,
        command: str,
        focus: str | None = None,
        include: list[str] | None = None,
        include_tests: bool | None = None,
        max_depth: int | None = None,
        max_lines: int | None = None,
    ) -> str:
        arguments = {"command": command, "focus": focus, "include": include, "include_tests": include_tests,
                     "max_depth": max_depth, "max_lines": max_lines}
        return self._step({"name": "trace", "arguments": {k: v for k, v in arguments.items() if v is not None}})

    def submit(self) -> str:
        return self._step({"name": "submit", "arguments": {}})

    bash.__doc__ = _docstring("bash")
    trace.__doc__ = _docstring("trace")
    str_replace_editor.__doc__ = _docstring("str_replace_editor")
    submit.__doc__ = _docstring("submit")

    def get_reward(self) -> float | None:
        """The episode's reward; ``None`` (unscorable: masked by TRL) when the infrastructure broke it."""
        if not self.done and getattr(self.env.unwrapped, "grade_on_truncation", False):
            self.submit()  # TRL's loop ended it: grade what is there, as SWE-v0 does at its step limit
        return None if self.failure else self.reward


class TRLEnvironmentFactory:
    """``environment_factory`` for ``GRPOTrainer``: each call makes a :class:`TRLSWEEnvironment` over a
    new :class:`~swe_gym_env.env.SWEEnv`; all of them share one backend (one Docker client, warm pool
    and remover), made at the first call. Tasks are loaded once (``factory.tasks``).

    ``backend`` (``"docker"``, ``"ray"``, ``"fake"`` or a backend object the caller owns),
    ``warm_pool`` (default 5, as for one env: TRL resets its environments one after another),
    ``pool_memory``, ``exec_mode``, ``limits``/``command_timeout``, ``network``, ``pull_policy`` set
    the backend as in ``gym.make("SWE-v0")``; every other keyword goes to each ``SWEEnv``
    (``max_steps``, ``reward``, ``grade_on_truncation``, ...). ``close()`` closes every environment
    made and the backend (unless it was passed in); it is safe to repeat, and environments used after
    it still work (without the warm pool) until the next ``close()``.
    """

    def __init__(
        self,
        tasks: str | os.PathLike[str] | Sequence[Task | dict[str, Any]] = "builtin",
        *,
        backend: str | Any = "docker",
        warm_pool: int | None = None,
        pool_memory: str | int | None = "4g",
        exec_mode: str = "session",
        limits: Limits | None = None,
        command_timeout: float | None = None,
        network: str = "internal",
        pull_policy: str = "missing",
        **env_kwargs: Any,
    ) -> None:
        self.tasks: list[Task] = load_tasks(tasks)
        self._backend_spec = backend
        self._backend_options: dict[str, Any] = {
            "limits": resolve_limits(limits, command_timeout), "network": network, "pull_policy": pull_policy,
            "warm_pool": warm_pool, "pool_memory": pool_memory, "exec_mode": exec_mode,
        }
        self._env_options: dict[str, Any] = {"network": network, "pull_policy": pull_policy, "exec_mode": exec_mode,
                                             **env_kwargs}
        self.backend: Any = None
        self.environments: list[TRLSWEEnvironment] = []

    def __call__(self) -> TRLSWEEnvironment:
        if self.backend is None:
            self.backend = make_backend(self._backend_spec, **self._backend_options)
        env = SWEEnv(self.tasks, backend=self.backend, **self._env_options)
        environment = TRLSWEEnvironment(env)
        self.environments.append(environment)
        return environment

    def close(self) -> None:
        """Close every environment this factory made (their sandboxes), then the backend it made."""
        for environment in self.environments:
            try:
                environment.env.close()
            except Exception as error:  # one broken env must not keep the others' sandboxes alive
                log.warning("closing a TRL environment failed: %s", error)
        if self.backend is not None and isinstance(self._backend_spec, str):
            self.backend.close()  # drains the warm pool; the backend still starts sandboxes after, poolless

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
