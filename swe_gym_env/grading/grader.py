"""Grading: the agent's diff, alone, in a fresh sandbox; the task's eval script; swebench's verdict.

Nothing the agent did to its own container outside its diff reaches the grader. From the diff, files
that belong to the judge (the hidden test files, test files and test directories, ``conftest.py``,
pytest/tox configuration, ``sitecustomize``, ``.pth`` files) are dropped before it is applied. The log
is parsed with swebench's own parsers and graded with its rules: a missing test fails, a skipped
FAIL_TO_PASS test fails, and 1.0 means every FAIL_TO_PASS and PASS_TO_PASS test passed. Where the eval
script runs our canary, a canary that did not fail voids the reward.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from swebench.harness.constants import (
    END_TEST_OUTPUT,
    FAIL_TO_PASS,
    PASS_TO_PASS,
    START_TEST_OUTPUT,
    EvalType,
)
from swebench.harness.grading import get_eval_tests_report, get_logs_eval, get_resolution_status
from swebench.harness.log_parsers import PARSER_REGISTRY
from swebench.harness.utils import make_test_spec

from ..backends.base import Backend
from ..errors import GradingError, TaskError
from ..patches import filter_patch
from ..tasks.sources import missing_reasons
from ..tasks.task import Task
from .eval_script import canary_in
from .protected import ProtectedPaths
from .test_ids import align_status_map

log = logging.getLogger(__name__)

AGENT_PATCH_PATH = "/tmp/.swe-gym-agent.patch"
EVAL_SCRIPT_PATH = "/tmp/.swe-gym-eval.sh"
APPLY_COMMANDS = (
    f"git apply --verbose --binary --whitespace=nowarn {AGENT_PATCH_PATH}",
    f"git apply --verbose --binary --whitespace=nowarn --reject {AGENT_PATCH_PATH}",
    f"patch --batch --fuzz=5 -p1 -i {AGENT_PATCH_PATH}",
)


@dataclass(frozen=True)
class GradeReport:
    """The verdict on one patch. ``reward`` is 1.0 exactly when ``resolved``."""

    instance_id: str
    resolved: bool
    reward: float
    status: str  # swebench's RESOLVED_FULL / RESOLVED_PARTIAL / RESOLVED_NO, or why no tests ran
    fail_to_pass: dict[str, list[str]] = field(default_factory=dict)
    pass_to_pass: dict[str, list[str]] = field(default_factory=dict)
    patch_applied: bool = True
    empty_patch: bool = False
    dropped_paths: tuple[str, ...] = ()
    tampered: bool = False
    notes: tuple[str, ...] = ()
    duration: float = 0.0
    log_tail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_gradable(task: Task) -> None:
    """Raise :class:`TaskError` unless ``task`` carries what grading needs."""
    missing = [name for name in ("image", "eval_script", "log_parser") if not getattr(task, name)]
    if missing:
        reasons = missing_reasons(task)
        why = "; ".join(f"{name}: {reasons[name]}" for name in missing if name in reasons)
        raise TaskError(
            f"task {task.instance_id!r} cannot be graded: field(s) {', '.join(missing)} missing "
            + (f"({why})" if why else "(swebench 5.x rows carry them; derive them with `swe-gym-env tasks convert`)")
        )
    if task.log_parser not in PARSER_REGISTRY:
        raise TaskError(f"task {task.instance_id!r}: unknown log_parser {task.log_parser!r}")


@dataclass(frozen=True)
class TestRun:
    """The raw outcome of running a task's eval script on a patch."""

    status_map: dict[str, str]  # test id -> PASSED/FAILED/SKIPPED/ERROR/XFAIL, from swebench's parser
    valid: bool  # swebench's judgement that the log describes a real run
    output: str
    timed_out: bool
    patch_applied: bool
    applied_patch: str  # the patch after protected paths were dropped
    dropped_paths: tuple[str, ...]
    duration: float


class Grader:
    """Grades patches for tasks by running their eval scripts in fresh sandboxes from ``backend``."""

    def __init__(self, backend: Backend, *, timeout: float = 1800.0, protected: ProtectedPaths = ProtectedPaths()):
        self.backend = backend
        self.timeout = timeout
        self.protected = protected

    def run(self, task: Task, patch: str) -> TestRun:
        """Apply ``patch`` (minus protected paths) in a fresh sandbox and run the eval script."""
        check_gradable(task)
        started = time.monotonic()
        kept, dropped = filter_patch(patch or "", self.protected.matcher(task))
        spec = make_test_spec(task.to_row())
        sandbox = self.backend.start(task, role="grader")
        try:
            if kept.strip():
                sandbox.write_file(AGENT_PATCH_PATH, kept.encode())
                if not any(sandbox.exec(command, timeout=300).ok for command in APPLY_COMMANDS):
                    return TestRun({}, False, "", False, False, kept, tuple(dropped), time.monotonic() - started)
            sandbox.write_file(EVAL_SCRIPT_PATH, spec.eval_script.encode())
            result = sandbox.exec(f"bash {EVAL_SCRIPT_PATH}", timeout=self.timeout, max_output=64 * 1024 * 1024)
        finally:
            sandbox.close()
        output = result.output
        if result.timed_out:
            return TestRun({}, False, output, True, True, kept, tuple(dropped), time.monotonic() - started)
        if START_TEST_OUTPUT not in output or END_TEST_OUTPUT not in output:
            raise GradingError(
                f"the eval script of {task.instance_id} did not reach its tests (the test patch or the "
                f"environment is broken, not the agent's patch): {output[-1500:]}"
            )
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False, encoding="utf-8") as handle:
            handle.write(output)
        try:
            status_map, valid = get_logs_eval(spec, handle.name)
        finally:
            os.unlink(handle.name)
        return TestRun(status_map, valid, output, False, True, kept, tuple(dropped), time.monotonic() - started)

    def grade(self, task: Task, patch: str) -> GradeReport:
        """Grade ``patch`` (the agent's diff) for ``task``; infrastructure faults raise ``InfraError``."""
        return self.verdict(task, self.run(task, patch))

    def verdict(self, task: Task, run: TestRun) -> GradeReport:
        """swebench's rules on a test run, plus the canary."""
        notes = [f"dropped changes to protected path {path}" for path in run.dropped_paths]
        common = dict(
            empty_patch=not run.applied_patch.strip(), dropped_paths=run.dropped_paths, duration=run.duration,
            log_tail=run.output[-4000:], patch_applied=run.patch_applied,
        )
        if not run.patch_applied:
            return GradeReport(task.instance_id, False, 0.0, "patch_failed", notes=(*notes, "the patch does not apply"), **common)
        if run.timed_out:
            return GradeReport(task.instance_id, False, 0.0, "timeout",
                               notes=(*notes, f"the tests did not finish within {self.timeout:g} s"), **common)
        if not run.valid:
            return GradeReport(task.instance_id, False, 0.0, "invalid_log", notes=(*notes,
                "the test log is not a valid run (no results, or an exit status that contradicts them)"), **common)
        gold = {FAIL_TO_PASS: list(task.FAIL_TO_PASS), PASS_TO_PASS: list(task.PASS_TO_PASS)}
        # ids listed whole but read back split by the parser are looked up under the name it reads
        status_map = align_status_map(run.status_map, gold[FAIL_TO_PASS] + gold[PASS_TO_PASS], task.log_parser)
        report = get_eval_tests_report(status_map, gold, eval_type=EvalType(task.eval_type))
        status = get_resolution_status(report)
        tampered = False
        canary = canary_in(task.eval_script)
        if canary is not None and run.status_map.get(canary) != "FAILED":
            tampered = True
            if canary in run.status_map:
                notes.append(f"the grading canary {canary} did not fail ({run.status_map[canary]}): "
                             "the test run was tampered with")
            else:
                notes.append(f"the grading canary {canary} did not run: the test run cannot be trusted")
        resolved = status == "RESOLVED_FULL" and not tampered
        return GradeReport(
            task.instance_id, resolved, 1.0 if resolved else 0.0, status,
            fail_to_pass=report[FAIL_TO_PASS], pass_to_pass=report[PASS_TO_PASS],
            tampered=tampered, notes=tuple(notes), **common,
        )
