"""Judging single-turn answers twice: SWE-RL's similarity reward, and the task's hidden tests in SWE-v0.

An answer's SEARCH/REPLACE edits are applied to the record's files and turned into a patch, which the
real grader (:class:`swe_gym_env.grading.Grader` over the Docker backend) applies in a fresh sandbox
of the task and judges with the hidden tests - the **test-judged resolve rate**. A malformed answer
resolves nothing (no container is started for it); identical patches of a task are graded once; a
grading broken by the infrastructure is counted apart, never as unresolved.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from swe_gym_env.errors import AnswerFormatError, InfraError
from swe_gym_env.grading.single_turn import answer_patch, score_answer
from swe_gym_env.swe_rl import Record
from swe_gym_env.tasks.task import Task

from ..chat import ChatFormat
from .data import prompt_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One answer to one record, and both verdicts on it."""

    record_id: str
    split: str  # train or heldout
    reward: float  # SWE-RL's similarity reward: -1 malformed, else [0, 1]
    error: str  # the format error, if any
    answer: str
    tokens: int  # answer tokens
    stopped: bool  # the model ended the answer itself (else it hit the token budget)
    resolved: bool | None = None  # the hidden tests passed; None when not judged (no task, grading off, failure)
    status: str = ""  # the grader's status, "malformed", "unsafe_path", "no_task", "infra"
    patch: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class HiddenTestJudge:
    """Grades answers' patches with the tasks' hidden tests, concurrently, each distinct patch once."""

    def __init__(self, grader: Any, tasks: Mapping[str, Task], workers: int = 2, backend: Any = None) -> None:
        self.grader = grader
        self.tasks = dict(tasks)
        self.workers = max(1, workers)
        self.backend = backend
        self._cache: dict[tuple[str, str], tuple[bool | None, str]] = {}
        self._lock = threading.Lock()

    def verdict(self, task: Task, patch: str) -> tuple[bool | None, str]:
        key = (task.instance_id, patch)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            report = self.grader.grade(task, patch)
            result: tuple[bool | None, str] = (report.resolved, report.status)
        except InfraError as error:  # the infrastructure's fault: not a zero for the answer
            log.warning("grading %s failed: %s", task.instance_id, error)
            return None, "infra"
        with self._lock:
            self._cache[key] = result
        return result

    def judge(self, jobs: Sequence[tuple[Task, str]]) -> list[tuple[bool | None, str]]:
        """Verdicts for (task, patch) pairs, in order; the next tasks' sandboxes are prefetched."""
        prefetch = getattr(self.backend, "prefetch", None)
        out: list[tuple[bool | None, str]] = [(None, "")] * len(jobs)

        def run(index: int) -> None:
            ahead = index + self.workers
            if prefetch is not None and ahead < len(jobs):
                prefetch(jobs[ahead][0])
            out[index] = self.verdict(*jobs[index])

        with ThreadPoolExecutor(self.workers, thread_name_prefix="swe-rl-grade") as pool:
            list(pool.map(run, range(len(jobs))))
        return out


def answer_samples(
    policy: Any,
    chat: ChatFormat,
    requests: Sequence[tuple[Record, str]],
    max_new_tokens: int,
    judge: HiddenTestJudge | None = None,
    on_sample: Callable[[int], None] | None = None,
) -> list[Sample]:
    """Generate one answer per (record, split) request, score it, and grade it where a task judges it."""
    contexts = [prompt_ids(chat, record) for record, _ in requests]
    generations = policy.generate(contexts, [max_new_tokens] * len(contexts))
    samples: list[Sample] = []
    jobs: list[tuple[Task, str]] = []
    waiting: list[int] = []
    for index, ((record, split), generation) in enumerate(zip(requests, generations, strict=True)):
        text = chat.decode_action(generation.token_ids)
        score = score_answer(record.context, record.oracle_new, text)
        sample = Sample(record.id, split, score.reward, score.error, text, len(generation.token_ids),
                        generation.stopped)
        task = judge.tasks.get(record.task_id) if judge is not None and record.task_id else None
        if judge is not None:
            if not score.well_formed:
                sample = replace(sample, resolved=False, status="malformed")
            elif task is None:
                sample = replace(sample, status="no_task")
            else:
                try:
                    patch = answer_patch(record.context, score.predicted)
                except AnswerFormatError:
                    sample = replace(sample, resolved=False, status="unsafe_path")
                else:
                    sample = replace(sample, patch=patch)
                    jobs.append((task, patch))
                    waiting.append(index)
        samples.append(sample)
    if on_sample is not None:
        on_sample(len(samples) - len(waiting))
    if judge is not None and jobs:
        for index, (resolved, status) in zip(waiting, judge.judge(jobs), strict=True):
            samples[index] = replace(samples[index], resolved=resolved, status=status)
            if on_sample is not None:
                on_sample(1)
    return samples


def sample_stats(samples: Sequence[Sample], prefix: str) -> dict[str, float]:
    """Mean similarity reward, well-formed and exact-match rates, and the test-judged resolve rate."""
    if not samples:
        return {f"{prefix}/samples": 0.0}
    n = len(samples)
    judged = [s for s in samples if s.resolved is not None]
    stats = {
        f"{prefix}/samples": float(n),
        f"{prefix}/similarity": sum(s.reward for s in samples) / n,
        f"{prefix}/well_formed": sum(not s.error for s in samples) / n,
        f"{prefix}/exact": sum(s.reward == 1.0 for s in samples) / n,
        f"{prefix}/answer_tokens": sum(s.tokens for s in samples) / n,
        f"{prefix}/cut": sum(not s.stopped for s in samples) / n,
        f"{prefix}/graded": float(sum(bool(s.patch) and s.status != "infra" for s in samples)),
        f"{prefix}/grading_failures": float(sum(s.status == "infra" for s in samples)),
    }
    if judged:
        stats[f"{prefix}/resolve_rate"] = sum(bool(s.resolved) for s in judged) / len(judged)
        stats[f"{prefix}/judged"] = float(len(judged))
    return stats


def correlation(samples: Sequence[Sample]) -> dict[str, dict[str, float | None]]:
    """How the similarity reward goes with test resolution, over every judged answer and over the
    well-formed ones alone (a malformed answer is -1 and unresolved by rule, which flatters the first):
    Pearson's r (point-biserial), and the mean reward of resolved and of unresolved answers."""
    judged = [s for s in samples if s.resolved is not None]
    return {"all": _association(judged), "well_formed": _association([s for s in judged if not s.error])}


def _association(samples: Sequence[Sample]) -> dict[str, float | None]:
    pairs = [(s.reward, 1.0 if s.resolved else 0.0) for s in samples]
    resolved = [r for r, y in pairs if y]
    unresolved = [r for r, y in pairs if not y]
    return {
        "n": float(len(pairs)),
        "resolved": float(len(resolved)),
        "pearson_r": pearson([r for r, _ in pairs], [y for _, y in pairs]),
        "reward_resolved": sum(resolved) / len(resolved) if resolved else None,
        "reward_unresolved": sum(unresolved) / len(unresolved) if unresolved else None,
    }


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient; None when either side is constant (it is undefined)."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)
