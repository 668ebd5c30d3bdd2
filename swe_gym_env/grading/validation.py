"""Measure and validate tasks the SWE-bench way, in real sandboxes.

``measure_test_lists`` runs the eval script without a fix and with the gold patch and derives
FAIL_TO_PASS (fails before, passes after) and PASS_TO_PASS (passes both times). ``validate_task``
checks that the gold patch resolves the task and that the empty patch (and any known-wrong patches)
do not, repeating runs to catch flaky tests.

Two canaries test the grading itself, task by task (``canaries=True``): a *no-op* patch (a comment
added next to the code the fix changes) must not resolve the task, and a patch that *breaks test
collection* (a syntax error in that same module) must not either - nor may it crash the grader.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..patches import split_patch
from ..tasks.task import Task
from .cost import COST_KEY, TestCost
from .grader import Grader, GradeReport, TestRun
from .test_ids import shared_names

PASSING = ("PASSED", "XFAIL")


@dataclass(frozen=True)
class TestLists:
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    flaky: tuple[str, ...] = ()  # tests whose outcome differed between repeated runs (left out of both)


def _outcomes(runs: Sequence[TestRun], ignore: set[str]) -> tuple[dict[str, set[str]], set[str]]:
    seen: dict[str, set[str]] = {}
    for run in runs:
        for test, status in run.status_map.items():
            if test not in ignore:
                seen.setdefault(test, set()).add("pass" if status in PASSING else "fail")
    # a test missing from one of the runs is flaky too
    for test in seen:
        if any(test not in run.status_map for run in runs):
            seen[test].add("missing")
    flaky = {test for test, outcomes in seen.items() if len(outcomes) > 1}
    return seen, flaky


@dataclass(frozen=True)
class Measurement:
    """The test lists and the runs they came from (``before``: no fix; ``after``: the gold patch)."""

    lists: TestLists
    before: tuple[TestRun, ...]
    after: tuple[TestRun, ...]


def measure_test_lists(grader: Grader, task: Task, repeats: int = 1) -> TestLists:
    """FAIL_TO_PASS / PASS_TO_PASS of ``task`` (its eval script and gold patch), from real runs."""
    return measure(grader, task, repeats).lists


def measure(grader: Grader, task: Task, repeats: int = 1) -> Measurement:
    """Like :func:`measure_test_lists`, keeping the runs (their logs show how the bug shows)."""
    before = [grader.run(task, "") for _ in range(repeats)]
    after = [grader.run(task, task.patch) for _ in range(repeats)]
    for label, runs in (("without the fix", before), ("with the gold patch", after)):
        for run in runs:
            if not run.patch_applied:
                raise ValueError(f"{task.instance_id}: the gold patch does not apply")
            if not run.status_map:
                raise ValueError(f"{task.instance_id}: no test results {label}: {run.output[-1500:]}")
    ignore = {canary for run in (*before, *after) for canary in run.canaries}
    seen_before, flaky_before = _outcomes(before, ignore)
    seen_after, flaky_after = _outcomes(after, ignore)
    flaky = flaky_before | flaky_after
    # a name several tests' log lines share cannot show that each of them passes: never FAIL_TO_PASS
    shared = set().union(*(shared_names(run.output, task.log_parser) for run in (*before, *after)))
    f2p = sorted(
        t for t, o in seen_after.items()
        if o == {"pass"} and t not in flaky and t not in shared and seen_before.get(t, {"fail"}) == {"fail"}
    )
    p2p = sorted(t for t, o in seen_after.items() if o == {"pass"} and t not in flaky and seen_before.get(t) == {"pass"})
    return Measurement(TestLists(tuple(f2p), tuple(p2p), tuple(sorted(flaky))), tuple(before), tuple(after))


def with_test_lists(task: Task, lists: TestLists) -> Task:
    return dataclasses.replace(task, FAIL_TO_PASS=lists.fail_to_pass, PASS_TO_PASS=lists.pass_to_pass)


@dataclass(frozen=True)
class Validation:
    instance_id: str
    ok: bool
    problems: tuple[str, ...] = ()
    reports: dict[str, GradeReport] = field(default_factory=dict)

    @property
    def cost(self) -> TestCost | None:
        """The test cost of the gold runs (what the row records for the grading bound)."""
        gold = [r for name, r in self.reports.items() if name.startswith("gold#") and r.test_seconds is not None]
        if not gold:
            return None
        cpus = [r.cpu_seconds for r in gold if r.cpu_seconds is not None]
        return TestCost.from_runs([r.test_seconds for r in gold], cpus, "row")  # type: ignore[misc]


def with_test_cost(task: Task, cost: TestCost | None) -> Task:
    """``task`` with ``cost`` in its row (``extra["swe_gym_test_cost"]``); unchanged when None."""
    if cost is None:
        return task
    data = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in cost.as_dict().items() if k != "source"}
    return dataclasses.replace(task, extra={**task.extra, COST_KEY: data})


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
NOOP_LINE = "# swe-gym-env canary: this comment changes nothing"
BREAK_LINE = ")(  # swe-gym-env canary: a syntax error that breaks importing this module"


def canary_patches(task: Task) -> dict[str, str]:
    """``noop`` and ``syntax_error`` patches for ``task``, anchored on its gold patch's first hunk in a
    Python module (so they apply to the starting state); empty when the gold patch gives no anchor."""
    for part in split_patch(task.patch):
        if part.old_path is None or part.new_path is None or not part.old_path.endswith(".py"):
            continue
        lines = part.text.splitlines(keepends=True)
        for index, line in enumerate(lines):
            match = _HUNK.match(line)
            if not match:
                continue
            old: list[str] = []
            for body in lines[index + 1 :]:
                if body.startswith(("@@", "diff --git ", "\\")):
                    break
                if body[:1] in (" ", "-"):
                    old.append(" " + body[1:])
            start = int(match.group(1))
            if not old or start < 1:
                break
            path = part.old_path
            head = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{start},{len(old)} +{start},{len(old) + 1} @@\n"
            return {name: f"{head}+{added}\n{''.join(old)}" for name, added in (("noop", NOOP_LINE), ("syntax_error", BREAK_LINE))}
    return {}


def validate_task(
    grader: Grader,
    task: Task,
    *,
    wrong_patches: Sequence[str] = (),
    repeats: int = 1,
    canaries: bool = True,
) -> Validation:
    """Gold resolves (every time), empty does not, each wrong patch does not, and (``canaries``) neither
    does a no-op patch nor one that breaks test collection; returns the findings."""
    problems: list[str] = []
    reports: dict[str, GradeReport] = {}
    if not task.FAIL_TO_PASS:
        problems.append("FAIL_TO_PASS is empty: nothing shows the bug")
    for attempt in range(repeats):
        gold = grader.grade(task, task.patch)
        reports[f"gold#{attempt}"] = gold
        if not gold.resolved:
            problems.append(f"the gold patch does not resolve it (run {attempt + 1}: {gold.status}; "
                            f"F2P failures {gold.fail_to_pass.get('failure')}, P2P failures {gold.pass_to_pass.get('failure')})")
    empty = grader.grade(task, "")
    reports["empty"] = empty
    if empty.resolved:
        problems.append("the empty patch resolves it")
    for index, patch in enumerate(wrong_patches):
        wrong = grader.grade(task, patch)
        reports[f"wrong#{index}"] = wrong
        if wrong.resolved:
            problems.append(f"wrong patch #{index} resolves it")
    if canaries:
        for name, patch in canary_patches(task).items():
            report = grader.grade(task, patch)
            reports[f"canary:{name}"] = report
            if report.resolved:
                problems.append(f"the {name} canary patch resolves it: the grading cannot tell a fix from "
                                f"{'nothing' if name == 'noop' else 'a broken test run'}")
            elif not report.patch_applied:
                problems.append(f"the {name} canary patch did not apply to the starting state")
    return Validation(task.instance_id, not problems, tuple(problems), reports)
