"""Collect episodes: many envs stepped concurrently, one batched generation per turn for every live episode.

The loop keeps each env busy on its own thread (reset, tool call, grading) and, whenever some episodes
are waiting for the model, generates for all of them in one batch. An env whose episode ends starts
the next requested episode at once, so grading one episode overlaps with the others' turns.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from .envs import EnvPool
from .episode import Episode, Turn
from .policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One episode to run: the task, and the group (task draw) it belongs to."""

    task_id: str
    group: int = 0


@dataclass(frozen=True)
class RolloutLimits:
    """Per-episode limits. The turn limit is also the env's ``max_steps``."""

    max_turns: int = 8  # model turns (tool calls) per episode
    max_context_tokens: int = 2048  # prompt + everything after it; the episode ends rather than exceed it
    max_new_tokens: int = 256  # tokens per model turn
    batch_wait_s: float = 0.5  # after one env answers, wait this long for slow ones (resets, grading) to join the batch
    quick_wait_s: float = 10.0  # ... and up to this long for every quick tool call in flight


@dataclass
class EpisodeBuilder:
    """The token layout of an episode as it grows: prompt, then model turns and observations in order."""

    index: int
    request: Request
    started: float = field(default_factory=time.monotonic)
    prompt: str = ""
    prompt_ids: list[int] = field(default_factory=list)
    completion: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    pending_turn: tuple[int, int, str, bool] | None = None  # start, end, action, stopped

    def length(self) -> int:
        return len(self.prompt_ids) + len(self.completion)

    def add_model_turn(self, ids: Sequence[int], logprobs: Sequence[float], stopped: bool, action: str) -> None:
        begin = len(self.completion)
        self.completion += list(ids)
        self.mask += [1] * len(ids)
        self.logprobs += list(logprobs)
        self.pending_turn = (begin, len(self.completion), action, stopped)

    def record_step(self, observation: str, info: dict[str, Any]) -> bool:
        """Close the pending turn with the env's answer; returns whether the model stopped the turn itself."""
        assert self.pending_turn is not None
        begin, end, action, stopped = self.pending_turn
        self.pending_turn = None
        self.turns.append(
            Turn(begin, end, action, observation, bool(info.get("format_error")), info.get("tool"), stopped)
        )
        return stopped

    def add_observation(self, ids: Sequence[int]) -> None:
        self.completion += list(ids)
        self.mask += [0] * len(ids)
        self.logprobs += [0.0] * len(ids)

    def finish(self, *, reward: float = 0.0, resolved: bool = False, truncated: bool, end_reason: str,
               failure: dict[str, str] | None = None, patch: str = "", meta: dict[str, Any] | None = None) -> Episode:
        return Episode(
            task_id=self.request.task_id,
            prompt_ids=tuple(self.prompt_ids),
            completion_ids=tuple(self.completion),
            env_mask=tuple(self.mask),
            logprobs=tuple(self.logprobs),
            turns=tuple(self.turns),
            reward=float(reward),
            resolved=bool(resolved),
            truncated=truncated,
            failure=failure,
            prompt=self.prompt,
            patch=patch or "",
            group=self.request.group,
            end_reason=end_reason,
            duration=time.monotonic() - self.started,
            meta=meta or {},
        )

    def finish_step(self, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]) -> Episode:
        """The episode as the env ended it (submit, turn limit or infrastructure failure)."""
        failure = info.get("failure")
        reason = "failure" if failure else ("submitted" if terminated else "max_turns")
        report = info.get("report") if isinstance(info.get("report"), dict) else {}
        meta = {"status": report.get("status")} if report else {}
        for key in ("fail_to_pass", "pass_to_pass"):
            failed = (report.get(key) or {}).get("failure") if report else None
            if failed:
                meta[f"{key}_failed"] = list(failed)[:20]
        if report.get("notes"):
            meta["notes"] = list(report["notes"])
        return self.finish(
            reward=reward, resolved=_resolved(reward, info) and not failure, truncated=bool(truncated),
            end_reason=reason, failure=failure, patch=info.get("patch", ""), meta=meta,
        )


def _is_submit(action: str) -> bool:
    from swe_gym_env.actions import ActionError, parse_action

    try:
        return parse_action(action).name == "submit"
    except ActionError:
        return False


def _resolved(reward: float, info: dict[str, Any]) -> bool:
    report = info.get("report")
    if isinstance(report, dict) and "resolved" in report:
        return bool(report["resolved"])
    return reward >= 1.0


def collect_episodes(
    policy: Policy,
    envs: EnvPool,
    requests: Sequence[Request],
    limits: RolloutLimits = RolloutLimits(),
    on_episode: Callable[[Episode], None] | None = None,
    cost_first: bool = True,
) -> list[Episode]:
    """Run every request to the end and return the episodes in request order.

    With ``cost_first`` the episodes start costliest task first (longest-processing-time first, by each
    task's expected test cost), so that the slowest gradings are not the last to start and do not set the
    rollout's wall time alone."""
    chat = policy.chat
    queue = deque(costliest_first(list(enumerate(requests)), envs) if cost_first else enumerate(requests))
    results: list[Episode | None] = [None] * len(requests)
    live: dict[int, EpisodeBuilder] = {}
    futures: dict[Future, int] = {}
    slow: set[Future] = set()  # resets and submits: they may take seconds

    def start(slot: int) -> None:
        if queue:
            index, request = queue.popleft()
            live[slot] = EpisodeBuilder(index, request)
            future = envs.reset_async(slot, options={"task_id": request.task_id})
            futures[future] = slot
            slow.add(future)
            if len(queue) >= envs.num_envs:  # keep one wave of upcoming tasks hinted to the warm pool
                hint([queue[envs.num_envs - 1][1].task_id])

    def hint(task_ids: list[str]) -> None:
        prefetch = getattr(envs, "prefetch", None)
        if prefetch is not None and task_ids:
            prefetch(task_ids)

    def end(slot: int, episode: Episode) -> None:
        results[live.pop(slot).index] = episode
        if on_episode is not None:
            on_episode(episode)
        start(slot)

    hint([request.task_id for request in requests[envs.num_envs : 2 * envs.num_envs]])
    for slot in range(min(envs.num_envs, len(requests))):
        start(slot)

    while futures:
        # Generation is per batch, so gather as many episodes as cheaply possible: wait for every
        # quick tool call in flight, and up to batch_wait_s for the slow ones (resets, grading).
        done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
        quick = [future for future in futures if future not in done and future not in slow]
        if quick:
            more, _ = wait(quick, timeout=limits.quick_wait_s, return_when=ALL_COMPLETED)
            done = done | more
        rest = [future for future in futures if future not in done]
        if rest and limits.batch_wait_s > 0:
            more, _ = wait(rest, timeout=limits.batch_wait_s, return_when=ALL_COMPLETED)
            done = done | more
        slow.difference_update(done)
        waiting: list[int] = []
        for future in done:
            slot = futures.pop(future)
            state = live[slot]
            try:
                result = future.result()
            except Exception as error:  # an env must not raise; if it does, the episode is the infra's fault
                log.warning("env %d raised %s: %s", slot, type(error).__name__, error)
                failure = {"type": "exception", "message": f"{type(error).__name__}: {error}", "phase": "rollout"}
                end(slot, state.finish(truncated=True, end_reason="failure", failure=failure))
                continue
            if state.pending_turn is None:  # a reset
                observation, info = result
                state.prompt = observation
                state.prompt_ids = chat.prompt_ids(observation, info.get("tools"))
                if info.get("failure"):
                    end(slot, state.finish(truncated=True, end_reason="failure", failure=info["failure"]))
                    continue
                if state.length() >= limits.max_context_tokens:
                    end(slot, state.finish(truncated=True, end_reason="context"))
                    continue
            else:
                observation, reward, terminated, truncated, info = result
                stopped = state.record_step(observation, info)
                if terminated or truncated:
                    end(slot, state.finish_step(reward, terminated, truncated, info))
                    continue
                if len(state.turns) >= limits.max_turns:  # the env may allow more steps than we do
                    end(slot, state.finish(truncated=True, end_reason="max_turns"))
                    continue
                observation_ids = chat.observation_ids(observation, after_stop=stopped)
                if state.length() + len(observation_ids) >= limits.max_context_tokens:
                    end(slot, state.finish(truncated=True, end_reason="context"))
                    continue
                state.add_observation(observation_ids)
            waiting.append(slot)
        if not waiting:
            continue
        waiting.sort()
        budgets = [min(limits.max_new_tokens, limits.max_context_tokens - live[slot].length()) for slot in waiting]
        generations = policy.generate([live[slot].prompt_ids + live[slot].completion for slot in waiting], budgets)
        for slot, generation in zip(waiting, generations, strict=True):
            ids = generation.token_ids
            action = chat.decode_action(ids[:-1] if generation.stopped else ids)
            live[slot].add_model_turn(ids, generation.logprobs, generation.stopped, action)
            future = envs.step_async(slot, action)
            futures[future] = slot
            if _is_submit(action) or len(live[slot].turns) + 1 >= limits.max_turns:
                slow.add(future)  # grading runs the test suite
    return [episode for episode in results if episode is not None]


def costliest_first(items: list[tuple[int, Request]], envs: EnvPool) -> list[tuple[int, Request]]:
    """``items`` ordered by their task's expected test cost, highest first (unknown costs first too: they may
    be the highest); ties keep their order."""
    from swe_gym_env.grading.cost import CostCache, expected_cost

    first = getattr(envs.envs[0], "unwrapped", envs.envs[0])
    tasks = {task.instance_id: task for task in getattr(first, "tasks", None) or []}
    cache = CostCache()
    costs: dict[str, float] = {}
    for task_id in {request.task_id for _, request in items}:
        cost = expected_cost(tasks[task_id], cache) if task_id in tasks else None
        costs[task_id] = cost.wall if cost is not None else float("inf")
    return sorted(items, key=lambda item: -costs[item[1].task_id])


def requests_for(task_ids: Sequence[str], per_task: int, first_group: int = 0) -> list[Request]:
    """``per_task`` requests for each task; the episodes of one task draw share a group number."""
    return [Request(task_id, first_group + g) for g, task_id in enumerate(task_ids) for _ in range(per_task)]
