"""SWEEnv: one episode = one task's repository in a fresh sandbox; the reward comes from hidden tests."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from .actions import ActionError, ToolCall, parse_action
from .backends.base import Limits, Sandbox, format_observation
from .backends.factory import make_backend, resolve_limits
from .backends.workspace import DiffError
from .errors import ConfigError, Failure, InfraError
from .grading import GradeReport, check_gradable, make_grader, patch_similarity
from .grading.cost import command_timeout, expected_cost
from .tasks.task import Task, load_tasks
from .tools import Editor, ToolError, check_tool_names, tool_schemas
from .trace import TraceOptions, run_trace

log = logging.getLogger(__name__)

PROMPT_TEMPLATE = """You are working in the repository {repo}, checked out at /testbed. A user reported this issue:

<issue>
{problem_statement}
</issue>

Change the non-test source code in /testbed so that the issue is resolved. Hidden tests will check your \
change; you can explore the code and run the existing tests. Use exactly one tool per turn. When you are \
done, call the submit tool."""

REWARDS = ("tests", "patch_similarity")
MAX_TEXT = 1 << 22


class UnicodeText(spaces.Text):
    """A Text space that holds any Python string up to ``max_length`` characters.

    Gymnasium's ``Text`` only admits a fixed charset; observations here are program output and may
    hold any character. Samples are drawn from the default alphanumeric charset.
    """

    def __init__(self, max_length: int = MAX_TEXT, *, min_length: int = 0, seed: int | None = None):
        super().__init__(max_length=max_length, min_length=min_length, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"


class SWEEnv(gym.Env[str, Any]):
    """A software-engineering task as a Gymnasium environment.

    **reset(seed, options)** picks a task - ``options["task_id"]`` or, otherwise, one drawn with the
    seeded RNG - starts a fresh sandbox at the task's starting state and returns the task prompt
    (the bug report and instructions). ``info`` holds ``task_id``, ``repo``, ``tools`` (the tool JSON
    schemas, for a chat template), ``limits`` (this episode's command timeout and grading bound, set by the
    task's expected test cost), ``warm`` (how the sandbox was had: ``"task"`` prepared ahead, ``"image"`` a
    started spare prepared on the spot, ``"cold"`` started now), ``node_id`` (with ``backend="ray"``: the
    cluster node of the sandbox, here and in every later info) and, if the sandbox could not start,
    ``failure``. ``prefetch(task_ids)`` announces the tasks of coming resets; ``stats()`` counts hits.

    **step(action)** runs one tool call. ``action`` is model text (``<tool_call>{json}</tool_call>``,
    ``<function=NAME><parameter=K>V</parameter></function>`` or one fenced bash block) or a tool-call
    dict. It returns ``(observation, reward, terminated, truncated, info)``:

    - observation: the tool's output, or what was wrong with the action and how to write it;
    - reward: 0.0 on every step but the last; on ``submit`` the graded reward (1.0 when every
      FAIL_TO_PASS and PASS_TO_PASS test passes, else 0.0; or SWE-RL patch similarity in [-1, 1]
      with ``reward="patch_similarity"``);
    - terminated: True after ``submit``;
    - truncated: True when ``max_steps`` is reached (graded first if ``grade_on_truncation``), or
      when the infrastructure failed - then ``info["failure"]`` says how, and the zero reward is not
      the agent's;
    - info: ``task_id``, ``step``, ``format_errors`` (actions that could not be parsed),
      ``tool_errors``, ``tool`` and ``exit_code`` of this step, ``format_error`` (bool) and, when the
      episode ends, ``patch`` (the graded diff), ``report`` (the grading report: the verdict, the
      test lists, the defences that ran - ``integrity`` - and the time bound that applied - ``timeout``)
      and ``patch_similarity``.

    **close()** removes the sandbox; it may be called any number of times.

    Where sandboxes live: ``backend="docker"`` (this machine's daemon), ``"ray"`` (the nodes of the Ray
    cluster ``ray.init()`` joined, or ``ray_address``), ``"fake"`` (memory, for tests), or a backend
    object. ``grading_timeout`` (seconds) replaces the per-task bound that the expected test cost sets.

    Tools: ``bash``, ``str_replace_editor``, ``trace`` (a command run with its Python code traced:
    :mod:`.trace`) and ``submit``; ``tools=[...]`` offers only those named (``submit`` among them).

    Speed (Docker backend): ``warm_pool`` containers are kept started and prepared ahead of time
    (default 5: the next tasks, this episode's grading, spares; 0 = none; bounded by ``pool_memory``);
    ``exec_mode="session"`` (default) runs bash calls in one persistent shell per sandbox, where the
    working directory, variables and functions carry over like a terminal; ``"stateless"`` runs each
    call in a fresh shell. N envs at once: ``gym.make_vec("SWE-v0", num_envs=N)`` (:mod:`.vector`).
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        tasks: str | os.PathLike[str] | Sequence[Task | dict[str, Any]] = "builtin",
        *,
        backend: str | Any = "docker",
        max_steps: int = 50,
        reward: str = "tests",
        grade_on_truncation: bool = False,
        limits: Limits | None = None,
        command_timeout: float | None = None,
        network: str = "internal",
        pull_policy: str = "missing",
        grading_timeout: float | None = None,
        start_attempts: int = 2,
        prompt_template: str = PROMPT_TEMPLATE,
        split: str = "test",
        instance_ids: Sequence[str] | None = None,
        render_mode: str | None = None,
        warm_pool: int | None = None,
        pool_memory: str | int | None = "4g",
        exec_mode: str = "session",
        ray_address: str | None = None,
        tools: Sequence[str] | None = None,
    ) -> None:
        if max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1, got {max_steps}")
        if reward not in REWARDS:
            raise ConfigError(f"reward must be one of {REWARDS}, got {reward!r}")
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        try:
            self.tool_names = check_tool_names(tools)
        except ValueError as error:
            raise ConfigError(f"tools: {error}") from None
        self.tasks: list[Task] = load_tasks(tasks, split=split, instance_ids=instance_ids)
        self._by_id = {task.instance_id: task for task in self.tasks}
        if reward == "tests":
            for task in self.tasks:
                check_gradable(task)
        self.backend = make_backend(
            backend, limits=resolve_limits(limits, command_timeout), network=network, pull_policy=pull_policy,
            warm_pool=warm_pool, pool_memory=pool_memory, exec_mode=exec_mode, ray_address=ray_address,
        )
        self._owns_backend = isinstance(backend, str)
        if self._owns_backend and hasattr(self.backend, "predict_upcoming"):
            self.backend.predict_upcoming = self.peek_next_tasks
        self.grader = make_grader(self.backend, timeout=grading_timeout)
        self.max_steps = max_steps
        self.reward_mode = reward
        self.grade_on_truncation = grade_on_truncation
        self.start_attempts = max(1, start_attempts)
        self.prompt_template = prompt_template
        self.render_mode = render_mode
        self.tools = tool_schemas(persistent_shell=exec_mode == "session", tools=self.tool_names)
        self.observation_space = UnicodeText()
        self.action_space = UnicodeText()
        self.task: Task | None = None
        self.sandbox: Sandbox | None = None
        self._editor: Editor | None = None
        self._failure: Failure | None = None
        self._done = True
        self._steps = 0
        self._format_errors = 0
        self._tool_errors = 0
        self._last_observation = ""
        self._node_id: str | None = None  # the cluster node of this episode's sandbox (Ray backend)
        self._explicit = False  # the last reset named its task
        self._walking = False  # ... and it was not the task the reset before named
        self._hinted = False  # the caller announces its tasks (prefetch): no guessing of the next one
        self._command_timeout = self.sandbox_limits.command_timeout

    # -- episode lifecycle -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._release_sandbox()
        options = options or {}
        task_id = options.get("task_id")
        previous = self.task
        if task_id is not None:
            if task_id not in self._by_id:
                raise ConfigError(f"options['task_id'] {task_id!r} is not one of this env's {len(self.tasks)} tasks")
            self.task = self._by_id[task_id]
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        # an explicit id that differs from the last one: the caller walks over tasks, not repeating one
        self._walking = task_id is not None and self._explicit and previous is not None and previous is not self.task
        self._explicit = task_id is not None
        self._steps = self._format_errors = self._tool_errors = 0
        self._failure = None
        self._node_id = None
        self._done = False
        limits = self._limits_for(self.task)
        warm = None
        for attempt in range(self.start_attempts):
            try:
                self.sandbox = self.backend.start(self.task)
                self._node_id = getattr(self.sandbox, "node_id", None)
                warm = getattr(self.sandbox, "origin", None)
                self._editor = Editor(self.sandbox)
                self._failure = None
                break
            except InfraError as error:
                log.warning("starting a sandbox for %s failed (attempt %d): %s", self.task.instance_id, attempt + 1, error)
                self._failure = Failure.from_error(error, "reset")
        observation = self.prompt(self.task)
        self._last_observation = observation
        info = self._info(tools=[dict(schema) for schema in self.tools], repo=self.task.repo, limits=limits)
        if warm is not None:
            info["warm"] = warm  # "task": prepared ahead, "image": a spare prepared now, "cold": started now
        return observation, info

    def _limits_for(self, task: Task) -> dict[str, Any]:
        """This episode's time limits, from the task's expected test cost: an agent's commands may run the
        task's suite in full; the grading is ended at the bound the grader sets (see grading.cost)."""
        cost = expected_cost(task, getattr(self.grader, "cost_cache", None))
        chosen = self.sandbox_limits.command_timeout
        self._command_timeout = command_timeout(chosen, cost, explicit=chosen != Limits.command_timeout)
        limits: dict[str, Any] = {"command_timeout": self._command_timeout}
        bound = getattr(self.grader, "bound", None)
        if bound is not None:
            grading = bound(task)
            limits.update(grading_timeout=grading.seconds, grading_rule=grading.rule)
        return limits

    def peek_next_tasks(self, count: int = 2) -> list[Task]:
        """The tasks the next resets most likely start, in order, for the warm pool to prepare ahead.

        After a reset with an explicit ``task_id``, the same task again (a GRPO group, an eval's samples) -
        unless it was a new id after another explicit one: a caller walking over tasks gets no guess (the
        image's spare serves it) until it repeats one again. Otherwise the next ``count`` draws ``reset()``
        will make without a seed or a task_id (``tasks[np_random.integers(len(tasks))]``), repeated on a
        copy of the env's generator, so it changes nothing - the pool gets more than one episode to prepare
        each. A wrong guess only costs a pooled container. Once the caller announces its tasks
        (:meth:`prefetch`), the env stops guessing: the hints say what comes next.
        """
        if not self.tasks or self._hinted:
            return []
        if self._explicit and self.task is not None:
            return [] if self._walking else [self.task]
        if len(self.tasks) == 1:
            return [self.tasks[0]]
        rng = copy.deepcopy(self.np_random)
        return [self.tasks[int(rng.integers(len(self.tasks)))] for _ in range(max(1, count))]

    def peek_next_task(self) -> Task | None:
        """The task the next ``reset()`` most likely starts (see :meth:`peek_next_tasks`), or None."""
        upcoming = self.peek_next_tasks(1)
        return upcoming[0] if upcoming else None

    def prefetch(self, task_ids: Sequence[str]) -> None:
        """Announce the tasks the next resets will name (``options["task_id"]``), in order: the warm pool
        prepares them ahead, so those resets take a prepared container. A hint only: unknown ids raise
        :class:`ConfigError`, a backend without a pool ignores it."""
        unknown = [task_id for task_id in task_ids if task_id not in self._by_id]
        if unknown:
            raise ConfigError(f"prefetch: {unknown[:5]} are not among this env's {len(self.tasks)} tasks")
        self._hinted = True
        prefetch = getattr(self.backend, "prefetch", None)
        if prefetch is not None:
            for task_id in task_ids:
                prefetch(self._by_id[task_id])

    def stats(self) -> dict[str, Any]:
        """The backend's counters: resets served from the pool (``hits``), from a spare of the image
        (``image_hits``) or cold (``misses``), and more; empty for a backend without them."""
        stats = getattr(self.backend, "stats", None)
        return dict(stats()) if stats is not None else {}

    def prompt(self, task: Task) -> str:
        return self.prompt_template.format(repo=task.repo, problem_statement=task.problem_statement.strip())

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated): call reset() to start a new one")
        self._steps += 1
        if self._failure is not None:  # the sandbox never started
            return self._finish_broken()
        extra: dict[str, Any] = {"tool": None, "format_error": False}
        reward, terminated, truncated = 0.0, False, False
        try:
            call = parse_action(action, self.tool_names)
        except ActionError as error:
            self._format_errors += 1
            extra["format_error"] = True
            observation = f"Your action could not be used: {error}"
            call = None
        try:
            if call is not None:
                extra["tool"] = call.name
                if call.name == "submit":
                    observation, reward, extra = "Submitted. Grading your changes.", *self._grade(extra)
                    terminated = True
                else:
                    observation = self._run_tool(call, extra)
            if not terminated and self._steps >= self.max_steps:
                truncated = True
                observation += f"\n[step limit of {self.max_steps} reached: the episode ends]"
                if self.grade_on_truncation:
                    reward, extra = self._grade(extra)
        except InfraError as error:
            log.warning("infrastructure failure in %s: %s", self.task.instance_id, error)
            self._failure = Failure.from_error(error, "grading" if extra.get("tool") == "submit" else "step")
            return self._finish_broken()
        if terminated or truncated:
            self._done = True
            self._release_sandbox()
        self._last_observation = observation
        return observation, float(reward), terminated, truncated, self._info(**extra)

    def _run_tool(self, call: ToolCall, extra: dict[str, Any]) -> str:
        assert self.sandbox is not None and self._editor is not None
        if call.name == "bash":
            result = self.sandbox.exec(call.arguments["command"], timeout=self._command_timeout)
            extra.update(exit_code=result.exit_code, timed_out=result.timed_out, truncated_output=result.truncated)
            return format_observation(result, self._command_timeout)
        try:
            if call.name == "trace":
                outcome = run_trace(self.sandbox, TraceOptions.from_arguments(call.arguments), self.sandbox_limits,
                                    timeout=self._command_timeout)
                result = outcome.result
                extra.update(exit_code=result.exit_code, timed_out=result.timed_out, truncated_output=result.truncated,
                             trace_lines=outcome.lines)
                return outcome.observation
            return self._editor.run(dict(call.arguments))
        except ToolError as error:
            self._tool_errors += 1
            extra["tool_error"] = True
            return f"Error: {error}"

    @property
    def sandbox_limits(self) -> Limits:
        return getattr(self.backend, "limits", Limits())

    def _grade(self, extra: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        assert self.task is not None and self.sandbox is not None
        try:
            patch = self.sandbox.diff()
        except DiffError as error:
            report = GradeReport(self.task.instance_id, False, 0.0, "no_diff", notes=(str(error),), empty_patch=True)
            return 0.0, {**extra, "patch": "", "report": report.as_dict(), "patch_similarity": -1.0}
        similarity = patch_similarity(patch, self.task.patch)
        if self.reward_mode == "patch_similarity":
            report_dict = {"instance_id": self.task.instance_id, "status": "similarity", "reward": similarity}
            return similarity, {**extra, "patch": patch, "report": report_dict, "patch_similarity": similarity}
        report = self.grader.grade(self.task, patch)
        return report.reward, {**extra, "patch": patch, "report": report.as_dict(), "patch_similarity": similarity}

    def _finish_broken(self) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self._done = True
        self._release_sandbox()
        assert self._failure is not None
        observation = f"[infrastructure failure, not your fault: {self._failure.message}]"
        self._last_observation = observation
        return observation, 0.0, False, True, self._info(tool=None, format_error=False)

    def _info(self, **extra: Any) -> dict[str, Any]:
        assert self.task is not None
        info: dict[str, Any] = {
            "task_id": self.task.instance_id,
            "step": self._steps,
            "max_steps": self.max_steps,
            "format_errors": self._format_errors,
            "tool_errors": self._tool_errors,
        }
        info.update(extra)
        if self._node_id is not None:
            info["node_id"] = self._node_id
        if self._failure is not None:
            info["failure"] = self._failure.as_dict()
        return info

    def _release_sandbox(self) -> None:
        sandbox, self.sandbox, self._editor = self.sandbox, None, None
        if sandbox is not None:
            try:
                sandbox.close()
            except Exception as error:  # closing must never raise out of the env
                log.warning("closing a sandbox failed: %s", error)

    def render(self) -> str | None:
        return self._last_observation if self.render_mode == "ansi" else None

    def close(self) -> None:
        self._release_sandbox()
        self._done = True
        if self._owns_backend and hasattr(self.backend, "close"):
            self.backend.close()  # drains the warm pool; a backend passed in belongs to the caller
        super().close()

