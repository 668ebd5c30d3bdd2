"""SWE-v0 as a SkyRL-gym text environment (``BaseTextEnv``), registered in its registry.

    import skyrl_gym
    from swe_gym_env.integrations.skyrl import register

    register()                                      # id "swe_gym_env" (idempotent)
    env = skyrl_gym.make("swe_gym_env", env_config={"tasks": "builtin"},
                         extras={"task_id": "swe-gym__textkit-1", "max_turns": 30})
    prompt, metadata = env.init([{"role": "system", "content": "You are a software engineer."}])
    out = env.step(model_text)   # {"observations", "reward", "done", "metadata", "postprocessed_action"}

This is what SkyRL's ``SkyRLGymGenerator`` does for each trajectory: ``make(env_class,
env_config=<the env's section of the skyrl_gym config>, extras=<the row's extra columns>)``, ``init``,
``step`` until ``done``, ``get_metrics``, ``close``. ``env_config`` holds SWE-v0 options (``tasks``,
``reward``, ``command_timeout``, ``grade_on_truncation``, ``backend`` - a name, or in code a backend
object to share -, ...); ``extras`` names the task (``task_id`` or ``instance_id``) and may give
``max_turns`` (SWE-v0's ``max_steps``; the generator sets it).

- ``init(prompt)`` starts the task's sandbox; the task statement is appended to the prompt as a user
  message (or to its last message, when that is a user message); metadata holds ``task_id``, ``repo``
  and ``tools`` (the tool schemas).
- ``step(action)`` is SWE-v0's step on the model's text: the observation comes back as one user
  message, the reward is 0.0 until ``submit`` grades the episode, ``done`` is terminated or
  truncated, ``metadata`` is SWE-v0's ``info`` (``report`` and ``patch`` at the end).
- An infrastructure fault raises :class:`~swe_gym_env.integrations.common.EpisodeFailure` after the
  sandbox is released. A rollout that raises is never scored by SkyRL: the exception ends the
  generator's step (``BaseTextEnvStepOutput`` has no way to say "masked", and a reward must be a
  number) - an error, never a false zero.
- ``close()`` releases the sandbox (and the backend the env made); also on garbage collection and as a
  context manager (``with skyrl_gym.make(...) as env``), since SkyRL calls ``close`` only after a
  rollout that finished.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NoReturn

from ..env import SWEEnv
from .common import EpisodeFailure, require, task_id_from

_base_text_env = require("skyrl_gym.envs.base_text_env", "skyrl")
BaseTextEnv = _base_text_env.BaseTextEnv

log = logging.getLogger(__name__)

ENV_ID = "swe_gym_env"
ONE_EPISODE_POOL = 0  # one env per trajectory: a warm pool would prepare tasks nobody runs


def _plain(config: Any) -> dict[str, Any]:
    """``env_config`` as a dict: an omegaconf ``DictConfig`` (SkyRL's config), a mapping or None."""
    if config is None:
        return {}
    if type(config).__name__ == "DictConfig":
        from omegaconf import OmegaConf

        return dict(OmegaConf.to_container(config, resolve=True))  # type: ignore[arg-type]
    return dict(config)


class SWESkyRLEnv(BaseTextEnv):
    """One SWE-v0 episode per instance, as SkyRL's generator uses environments."""

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        options = _plain(env_config)
        extras = dict(extras or {})
        self.task_id = task_id_from(extras, required=True)
        if extras.get("max_turns") is not None:
            options["max_steps"] = int(extras["max_turns"])
        options.setdefault("warm_pool", ONE_EPISODE_POOL)
        self.max_turns = int(options.get("max_steps", 50))
        self.swe_env = SWEEnv(**options)
        self.reward = 0.0
        self.last_info: dict[str, Any] = {}

    def init(self, prompt: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        observation, info = self.swe_env.reset(options={"task_id": self.task_id})
        self.last_info = info
        if info.get("failure"):
            self._fail(info["failure"])
        messages = [dict(message) for message in prompt or []]
        if messages and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), str):
            content = messages[-1]["content"]
            messages[-1]["content"] = f"{content}\n\n{observation}" if content.strip() else observation
        else:
            messages.append({"role": "user", "content": observation})
        return messages, {"task_id": self.task_id, "repo": info.get("repo"), "tools": info.get("tools")}

    def step(self, action: str) -> dict[str, Any]:
        self.turns += 1
        observation, reward, terminated, truncated, info = self.swe_env.step(action)
        self.last_info = info
        if info.get("failure"):
            self._fail(info["failure"])
        self.reward = float(reward)
        done = bool(terminated or truncated)
        if done:
            self.swe_env.close()  # the sandbox is already gone; this drains what the env made
        return {
            "observations": [] if done else [{"role": "user", "content": observation}],
            "reward": self.reward,
            "done": done,
            "metadata": info,
            "postprocessed_action": None,
        }

    def get_metrics(self) -> dict[str, Any]:
        info = self.last_info
        return {
            "resolved": self.reward >= 1.0,
            "steps": info.get("step", 0),
            "format_errors": info.get("format_errors", 0),
            "tool_errors": info.get("tool_errors", 0),
        }

    def _fail(self, failure: Mapping[str, str]) -> NoReturn:
        self.close()
        raise EpisodeFailure(failure, self.task_id)

    def close(self) -> None:
        swe_env = getattr(self, "swe_env", None)
        if swe_env is not None:
            swe_env.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the backend's exit hook removes what is left
            pass


def register(env_id: str = ENV_ID) -> str:
    """Register :class:`SWESkyRLEnv` in SkyRL-gym's registry as ``env_id`` (once); returns the id."""
    registration = require("skyrl_gym.envs.registration", "skyrl")
    if env_id not in registration.registry:
        registration.register(id=env_id, entry_point=f"{__name__}:SWESkyRLEnv")
    return env_id
