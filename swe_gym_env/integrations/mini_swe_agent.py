"""A mini-swe-agent ``Environment`` backed by a SWE-v0 episode: its agents run in our sandboxes and their
submission is graded by our grader.

    from minisweagent.agents.default import DefaultAgent
    from swe_gym_env.integrations.mini_swe_agent import SWEMiniEnvironment

    with SWEMiniEnvironment("swe-gym__textkit-1", tasks="builtin") as env:
        agent = DefaultAgent(model, env, **agent_config)
        result = agent.run(env.task.problem_statement)   # {"exit_status", "submission", "reward", ...}

The environment starts the task's sandbox when it is made (as mini-swe-agent's ``DockerEnvironment``
starts its container). ``execute(action, cwd, timeout=...)`` runs ``action["command"]`` with bash in
the sandbox and returns ``{"output", "returncode", "exception_info"}``; a timeout is ``returncode -1``
with ``exception_info``, as in mini-swe-agent's own environments. A command whose output starts with
the line ``COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`` (exit code 0) submits: the diff of ``/testbed`` is
graded - the same grading as SWE-v0's ``submit`` - and ``minisweagent.exceptions.Submitted`` ends the
run with ``reward``, ``report``, ``patch`` and the agent's ``submission`` text in its exit message, so
``agent.run()`` returns them. mini-swe-agent's ``step_limit``/``cost_limit`` bound the episode.

An infrastructure fault (a container lost, grading broken, the sandbox not starting) raises
:class:`~swe_gym_env.integrations.common.EpisodeFailure` (an ``InfraError``) after the sandbox is
released: mini-swe-agent records the exception as the run's exit status (its batch runner marks the
instance as errored) - there is no reward to mistake for a zero. ``close()`` (also ``cleanup()``, the
context manager and garbage collection) releases the sandbox on every other path.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Self

from ..backends.base import WORKDIR, quote
from ..env import SWEEnv
from ..errors import Failure, InfraError
from ..tasks.task import Task
from .common import EpisodeFailure, require

log = logging.getLogger(__name__)

SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


@dataclass(frozen=True)
class SWEMiniEnvironmentConfig:
    """What mini-swe-agent serializes and templates see (``cwd``, ``timeout``, ``env``, the task)."""

    task_id: str
    cwd: str = WORKDIR  # the repository: where mini-swe-agent's prompts expect commands to start
    timeout: int | None = None  # seconds per command; None = SWE-v0's command timeout
    env: Mapping[str, str] = field(default_factory=dict)  # variables set for every command (e.g. PAGER=cat)


class SWEMiniEnvironment:
    """One SWE-v0 task as a mini-swe-agent environment (a duck-typed ``minisweagent.Environment``).

    ``tasks`` and every other keyword make the underlying :class:`~swe_gym_env.env.SWEEnv`, which this
    object owns (pass ``backend=`` a backend object to share one Docker client and pool among many
    environments). Defaults differ from SWE-v0's for mini-swe-agent's sake: ``exec_mode="stateless"``
    (its prompts say each command runs in a new subshell) and ``warm_pool=0`` (one episode per object).
    """

    def __init__(
        self,
        task_id: str,
        *,
        tasks: str | os.PathLike[str] | Sequence[Task | dict[str, Any]] = "builtin",
        cwd: str = WORKDIR,
        timeout: int | None = None,
        env: Mapping[str, str] | None = None,
        exec_mode: str = "stateless",
        warm_pool: int = 0,
        **env_kwargs: Any,
    ) -> None:
        self.config = SWEMiniEnvironmentConfig(task_id, cwd, timeout, dict(env or {}))
        self.reward: float | None = None
        self.info: dict[str, Any] = {}
        self.failure: dict[str, str] | None = None
        self.swe_env = SWEEnv(tasks, exec_mode=exec_mode, warm_pool=warm_pool, **env_kwargs)
        try:
            self.prompt, self.info = self.swe_env.reset(options={"task_id": task_id})
        except BaseException:
            self.close()
            raise
        self.task: Task = self.swe_env.task  # type: ignore[assignment]
        if self.info.get("failure"):
            self._fail(self.info["failure"])

    # -- mini-swe-agent's Environment protocol -----------------------------------------------------
    def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict[str, Any]:
        """Run ``action["command"]`` in the sandbox; submit when its output starts with the marker line."""
        sandbox = self.swe_env.sandbox
        if sandbox is None:
            raise RuntimeError("the episode is over: this environment was closed or has submitted")
        command = action.get("command", "")
        directory = cwd or self.config.cwd
        if directory != WORKDIR:  # a cd, not the exec's workdir: a missing directory is the agent's error
            command = f"cd -- {quote(directory)} && {command}"
        limit = timeout or self.config.timeout
        try:
            result = sandbox.exec(command, timeout=limit, env=dict(self.config.env) or None)
        except InfraError as error:
            self._fail(Failure.from_error(error, "step").as_dict())
        if result.timed_out:
            seconds = limit or self.swe_env.sandbox_limits.command_timeout
            output = {
                "output": result.output,
                "returncode": -1,
                "exception_info": f"An error occurred while executing the command: it timed out after {seconds:g} s "
                                  "and was killed.",
                "extra": {"exception_type": "TimeoutExpired", "exception": f"timed out after {seconds:g} s"},
            }
        else:
            output = {"output": result.output, "returncode": result.exit_code, "exception_info": ""}
        self._check_finished(output)
        return output

    def _check_finished(self, output: dict[str, Any]) -> None:
        lines = output.get("output", "").lstrip().splitlines(keepends=True)
        if not (lines and lines[0].strip() == SUBMIT_MARKER and output["returncode"] == 0):
            return
        submission = "".join(lines[1:])
        _, reward, _, _, info = self.swe_env.step({"name": "submit", "arguments": {}})
        self.info = info
        if info.get("failure"):
            self._fail(info["failure"])
        self.reward = float(reward)
        exceptions = require("minisweagent.exceptions", "mini-swe-agent")
        raise exceptions.Submitted({
            "role": "exit",
            "content": submission,
            "extra": {"exit_status": "Submitted", "submission": submission, "reward": self.reward,
                      "report": info.get("report"), "patch": info.get("patch", "")},
        })

    def get_template_vars(self, **kwargs: Any) -> dict[str, Any]:
        """The config, the task (``instance_id``, ``repo``, ``problem_statement``) and the platform, as
        mini-swe-agent's own environments give (its templates use ``system``, ``release``, ...)."""
        task = {"instance_id": self.task.instance_id, "repo": self.task.repo,
                "problem_statement": self.task.problem_statement}
        merged: dict[str, Any] = {**dataclasses.asdict(self.config), **task, **platform.uname()._asdict()}
        merged.update(kwargs)
        return merged

    def serialize(self) -> dict[str, Any]:
        return {
            "info": {
                "config": {
                    "environment": dataclasses.asdict(self.config),
                    "environment_type": f"{type(self).__module__}.{type(self).__name__}",
                },
                "swe_gym_env": {"reward": self.reward, "failure": self.failure,
                                "report": self.info.get("report")},
            }
        }

    # -- lifecycle ---------------------------------------------------------------------------------
    def _fail(self, failure: Mapping[str, str]) -> NoReturn:
        self.failure = dict(failure)
        self.close()
        raise EpisodeFailure(self.failure, self.config.task_id)

    def close(self) -> None:
        """Release the sandbox and the env's backend; safe to repeat."""
        swe_env = getattr(self, "swe_env", None)
        if swe_env is not None:
            swe_env.close()

    cleanup = close  # mini-swe-agent's DockerEnvironment calls it cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the backend's exit hook removes what is left
            pass
