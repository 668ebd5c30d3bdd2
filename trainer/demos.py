"""Demonstrations from gold patches: view the code, make the fix with str_replace, run the tests, submit.

The role teacher trajectories play for SWE-Gym and SWE-smith, for tasks that carry a gold ``patch``.
Each demonstration runs in the real environment, so its observations are the ones a model would see;
it is recorded with the same token layout as a model's episode (the actions tokenized as model turns),
and kept only when the environment graded it resolved.
"""

from __future__ import annotations

import json
import logging
import queue
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from swe_gym_env.patches import split_patch
from swe_gym_env.tasks.task import Task

from .chat import ChatFormat
from .envs import EnvPool
from .episode import Episode
from .rollout import EpisodeBuilder, Request

log = logging.getLogger(__name__)

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    path: str
    old_start: int
    old_lines: tuple[str, ...]  # context and removed lines, without newlines
    new_lines: tuple[str, ...]  # context and added lines


def parse_hunks(patch: str) -> list[Hunk]:
    """The hunks of the files a patch modifies (new and deleted files are left out)."""
    hunks = []
    for part in split_patch(patch):
        if part.old_path is None or part.new_path is None:
            continue
        old: list[str] = []
        new: list[str] = []
        start = 0
        in_hunk = False
        for line in part.text.splitlines() + ["@@ end"]:
            if line.startswith("@@"):
                if old or new:
                    hunks.append(Hunk(part.new_path, start, tuple(old), tuple(new)))
                match = _HUNK.match(line)
                start, old, new, in_hunk = (int(match.group(1)) if match else 0), [], [], True
            elif not in_hunk or line.startswith("\\"):
                continue
            elif line.startswith(" ") or line == "":
                old.append(line[1:])
                new.append(line[1:])
            elif line.startswith("-"):
                old.append(line[1:])
            elif line.startswith("+"):
                new.append(line[1:])
    return hunks


def _trim(old: list[str], new: list[str], text: str | None) -> tuple[list[str], list[str]]:
    """Drop shared context lines from both ends while ``old`` stays non-empty and unique in ``text``."""

    def unique(lines: list[str]) -> bool:
        block = "\n".join(lines)
        return bool(block.strip()) and (text is None or text.count(block) == 1)

    if text is None:
        return old, new
    changed = True
    while changed:
        changed = False
        for at in (-1, 0):
            if len(old) > 1 and len(new) > 1 and old[at] == new[at]:
                candidate = old[1:] if at == 0 else old[:-1]
                if unique(candidate):
                    old, new = candidate, (new[1:] if at == 0 else new[:-1])
                    changed = True
    return old, new


def edit_calls(patch: str, files: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """``str_replace_editor`` calls that make the changes of ``patch``.

    Each hunk becomes one ``str_replace`` whose ``old_str`` is the hunk's removed lines with as little
    context as keeps it unique in the file (``files`` maps repository paths to their text; without it
    the whole hunk is used). New files become ``create`` calls, deleted files a ``bash rm``.
    """
    current = dict(files or {})
    calls: list[dict[str, Any]] = []
    for part in split_patch(patch):
        if part.old_path is None and part.new_path is not None:
            body = [line[1:] for line in part.text.splitlines() if line.startswith("+") and not line.startswith("+++ ")]
            calls.append(_editor("create", part.new_path, file_text="\n".join(body) + "\n"))
            continue
        if part.new_path is None and part.old_path is not None:
            calls.append({"name": "bash", "arguments": {"command": f"rm {part.old_path}"}})
            continue
    for hunk in parse_hunks(patch):
        text = current.get(hunk.path) if files is not None else None
        old, new = _trim(list(hunk.old_lines), list(hunk.new_lines), text)
        old_str, new_str = "\n".join(old), "\n".join(new)
        calls.append(_editor("str_replace", hunk.path, old_str=old_str, new_str=new_str))
        if text is not None:
            current[hunk.path] = text.replace(old_str, new_str, 1)
    return calls


def _editor(command: str, path: str, **arguments: Any) -> dict[str, Any]:
    return {"name": "str_replace_editor", "arguments": {"command": command, "path": f"/testbed/{path}", **arguments}}


def test_files(task: Task, files: Mapping[str, str] | None = None) -> list[str]:
    """The test files the hidden tests live in (that already exist, when the files are known)."""
    paths = sorted({part.path for part in split_patch(task.test_patch)})
    return [path for path in paths if files is None or path in files]


def trace_call(task: Task, files: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """A ``trace`` of the visible tests focused on the function the gold patch changes (None: none found)."""
    from swe_gym_env.trace.examples import changed_functions

    tests = test_files(task, files)
    targets = changed_functions(task.patch, dict(files)) if files else []
    if not tests or not targets:
        return None
    command = f"python3 -m pytest -q -p no:cacheprovider {' '.join(tests)} 2>&1 | tail -n 1"
    return {"name": "trace", "arguments": {"command": command, "focus": targets[0][1].name, "max_lines": 6}}


def demo_actions(task: Task, files: Mapping[str, str] | None = None, *, trace_first: bool = False) -> list[str]:
    """The demonstration as the text of each model turn: (trace the tests,) view, edits, run the tests, submit."""
    hunks = parse_hunks(task.patch)
    calls: list[dict[str, Any]] = []
    traced = trace_call(task, files) if trace_first else None
    if traced is not None:
        calls.append(traced)
    if hunks:
        first = hunks[0]
        last_line = first.old_start + max(len(first.old_lines), 1) - 1
        calls.append(_editor("view", first.path, view_range=[first.old_start, last_line]))
    calls += edit_calls(task.patch, files)
    tests = test_files(task, files)
    if tests:
        calls.append({"name": "bash", "arguments": {"command": f"python3 -m pytest -q {' '.join(tests)} 2>&1 | tail -n 3"}})
    calls.append({"name": "submit", "arguments": {}})
    return [format_call(call) for call in calls]


def format_call(call: Mapping[str, Any]) -> str:
    """A tool call as the model writes it: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``."""
    return "<tool_call>" + json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False) + "</tool_call>"


def starting_files(task: Task) -> dict[str, str] | None:
    """The files of a built-in task's starting state (None for other tasks)."""
    from swe_gym_env.tasks.builtin import starting_files as builtin_files

    try:
        return builtin_files(task)
    except Exception:  # not a built-in task, or its files are not readable here
        return None


def run_script(env: Any, chat: ChatFormat, task_id: str, actions: Sequence[str], group: int = 0) -> Episode:
    """Play ``actions`` in ``env`` as model turns, recording the episode in the rollout's token layout."""
    builder = EpisodeBuilder(0, Request(task_id, group))
    observation, info = env.reset(options={"task_id": task_id})
    builder.prompt = observation
    builder.prompt_ids = chat.prompt_ids(observation, info.get("tools"))
    if info.get("failure"):
        return builder.finish(truncated=True, end_reason="failure", failure=info["failure"])
    for number, action in enumerate(actions):
        ids = chat.action_ids(action)
        builder.add_model_turn(ids, [0.0] * len(ids), True, action)
        observation, reward, terminated, truncated, info = env.step(action)
        builder.record_step(observation, info)
        if terminated or truncated:
            return builder.finish_step(reward, terminated, truncated, info)
        if number == len(actions) - 1:
            break
        builder.add_observation(chat.observation_ids(observation))
    return builder.finish(truncated=True, end_reason="script_ended")


def collect_demos(tasks: Sequence[Task], envs: EnvPool, chat: ChatFormat, attempts: int = 2,
                  trace_every: int = 0) -> list[Episode]:
    """One demonstration per task with a gold patch, run concurrently; only resolved ones are returned.

    With ``trace_every`` N > 0, every Nth demonstration (the 1st, the N+1th, ...) first calls ``trace``.
    """
    todo: queue.Queue[tuple[int, Task]] = queue.Queue()
    for number, task in enumerate(t for t in tasks if t.patch.strip()):
        todo.put((number, task))
    episodes: dict[int, Episode] = {}

    def worker(env: Any) -> None:
        while True:
            try:
                number, task = todo.get_nowait()
            except queue.Empty:
                return
            trace_first = trace_every > 0 and number % trace_every == 0
            actions = demo_actions(task, starting_files(task), trace_first=trace_first)
            for _ in range(attempts):  # a gold fix that fails was most likely a flaky test run: try again
                episodes[number] = run_script(env, chat, task.instance_id, actions, group=number)
                if episodes[number].resolved:
                    break

    with ThreadPoolExecutor(max_workers=envs.num_envs) as pool:
        list(pool.map(worker, envs.envs))
    ordered = [episodes[number] for number in sorted(episodes)]
    for episode in ordered:
        if not episode.resolved:
            log.warning("the demonstration of %s did not resolve it (%s %s); it is left out", episode.task_id,
                        episode.failure or episode.end_reason, episode.meta)
    return [episode for episode in ordered if episode.resolved]
