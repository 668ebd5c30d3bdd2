"""Verdicts: a patch, the task's hidden tests in a fresh sandbox, swebench's rules - and the defences.

- :mod:`.grader`: :class:`Grader` (the agent's diff alone in a fresh sandbox, the eval script, swebench's
  parsers and rules) and :class:`GradeReport`;
- :mod:`.protected`: the judge's files, dropped from a diff before grading;
- :mod:`.hardening`, :mod:`.canaries`: every eval script hardened, canaries that look like the hidden tests;
- :mod:`.cost`: each task's expected test cost, and the grading timeout it sets;
- :mod:`.eval_script`: eval scripts for pytest repositories, with ignored configuration;
- :mod:`.validation`: measuring FAIL_TO_PASS / PASS_TO_PASS and validating tasks the SWE-bench way;
- :mod:`.test_ids`: one naming of tests - lists hold the names the log parser reads back from pytest's
  summary, and whole ids the parser splits are matched to them at grading;
- :mod:`.similarity`: SWE-RL's patch-similarity reward (of a whole patch, for the multi-turn env);
- :mod:`.answer` and :mod:`.single_turn`: SWE-RL's single-turn answer format (SEARCH/REPLACE edit
  blocks) and its reward (per-file diff similarity against the oracle change, no container);
- :mod:`.fake`: the fake backend's grader (files compared, no tests run).

Grading depends on the :class:`~swe_gym_env.backends.base.Backend` protocol and on tasks, never on a
particular backend: the same grader runs over local Docker and over a Ray cluster.
"""

from __future__ import annotations

from typing import Any

from ..backends.fake import FakeBackend
from .fake import FakeGrader
from .grader import Grader, GradeReport, TestRun, check_gradable
from .protected import ProtectedPaths
from .similarity import patch_similarity
from .single_turn import SingleTurnScore, score_answer, single_turn_reward

__all__ = [
    "Grader", "GradeReport", "TestRun", "check_gradable", "ProtectedPaths", "patch_similarity", "make_grader",
    "SingleTurnScore", "score_answer", "single_turn_reward",
]


def make_grader(backend: Any, *, timeout: float | None = None) -> Grader | FakeGrader:
    """The grader for ``backend``'s sandboxes: tests in a fresh sandbox, or, for the fake backend, files
    compared with the gold patch's. ``timeout`` None: each task's bound from its expected test cost."""
    if isinstance(backend, FakeBackend):
        return FakeGrader(backend)
    return Grader(backend, timeout=timeout)
