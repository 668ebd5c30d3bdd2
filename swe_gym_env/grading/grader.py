"""Grading: the agent's diff, alone, in a fresh sandbox; the task's eval script, hardened; swebench's verdict.

Nothing the agent did to its own container outside its diff reaches the grader. From the diff, files
that belong to the judge (the hidden test files, test files and test directories, ``conftest.py``,
pytest/tox/setup.cfg/pyproject configuration, ``sitecustomize``, ``.pth`` files) are dropped before it
is applied. The eval script - ours or the row's - is hardened (:mod:`.hardening`): canaries that look
like the hidden tests run beside them, and each one must fail for the reward to stand. The log is parsed
with swebench's own parsers and graded with its rules: a missing test fails, a skipped FAIL_TO_PASS test
fails, and 1.0 means every FAIL_TO_PASS and PASS_TO_PASS test passed. The run is ended at a bound set by
the task's expected test cost (:mod:`.cost`); a run that times out, dies or floods its log scores 0.0.
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
    TestStatus,
)
from swebench.harness.grading import get_eval_tests_report, get_logs_eval, get_resolution_status
from swebench.harness.log_parsers import PARSER_REGISTRY
from swebench.harness.utils import make_test_spec

from ..backends.base import Backend, Sandbox
from ..backends.workspace import read_files, with_file
from ..errors import GradingError, TaskError
from ..patches import PatchError, apply_patch, filter_patch
from ..tasks.sources import missing_reasons
from ..tasks.task import Task
from .cost import Bound, CostCache, expected_cost, grading_bound
from .eval_script import test_patch_files
from .hardening import Hardening, canaries_applied, harden
from .protected import ProtectedPaths
from .test_ids import align_status_map

log = logging.getLogger(__name__)

AGENT_PATCH_PATH = "/tmp/.swe-gym-agent.patch"
EVAL_SCRIPT_PATH = "/tmp/.swe-gym-eval.sh"
MAX_LOG = 16 * 1024 * 1024  # a test log longer than this is cut: the run counts as flooded
COST_TAG = "SWEGYM-COST"
# the eval script under a measurement of its CPU time (the container's cgroup, v2 or v1), printed last
MEASURED = """_cpu() {{ local k v; if [ -r /sys/fs/cgroup/cpu.stat ]; then while read -r k v; do \
[ "$k" = usage_usec ] && echo "$v"; done < /sys/fs/cgroup/cpu.stat; elif [ -r /sys/fs/cgroup/cpuacct/cpuacct.usage ]; \
then read -r v < /sys/fs/cgroup/cpuacct/cpuacct.usage; echo $((v / 1000)); fi; }}
c0=$(_cpu); bash {script}; rc=$?; c1=$(_cpu); echo "{tag} ${{c0:-x}} ${{c1:-x}}"; exit $rc"""
FAILING = (TestStatus.FAILED.value, TestStatus.ERROR.value)
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
    integrity: dict[str, Any] = field(default_factory=dict)  # seed, defences that ran, canaries, limits
    timeout: dict[str, Any] = field(default_factory=dict)  # the bound that applied and why
    test_seconds: float | None = None  # wall seconds of the test run
    cpu_seconds: float | None = None  # CPU seconds the container used during it

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
    hardening: Hardening | None = None
    bound: Bound | None = None
    test_seconds: float | None = None  # wall seconds of the eval script
    cpu_seconds: float | None = None  # CPU seconds of the container during it
    cut: str = ""  # why the log cannot be read to its end (flooded, or the runner died), if so

    @property
    def canaries(self) -> tuple[str, ...]:
        return self.hardening.canary_ids if self.hardening is not None else ()


class Grader:
    """Grades patches for tasks by running their hardened eval scripts in fresh sandboxes from ``backend``.

    ``timeout``: seconds for the test run, the same for every task; by default (None) each task's own
    bound from its expected test cost (:func:`.cost.grading_bound`; measured costs go to ``cost_cache``).
    ``seed`` fixes the canaries (by default a fresh random seed per grading, recorded in the report).
    """

    def __init__(self, backend: Backend, *, timeout: float | None = None,
                 protected: ProtectedPaths = ProtectedPaths(), seed: int | None = None,
                 cost_cache: CostCache | None = None) -> None:
        self.backend = backend
        self.timeout = timeout
        self.protected = protected
        self.seed = seed
        self.cost_cache = cost_cache if cost_cache is not None else CostCache()

    def bound(self, task: Task) -> Bound:
        """The time the test run of ``task`` may take."""
        if self.timeout is not None:
            return Bound(self.timeout, f"{self.timeout:g} s, fixed by the grader's caller")
        return grading_bound(expected_cost(task, self.cost_cache))

    def run(self, task: Task, patch: str) -> TestRun:
        """Apply ``patch`` (minus protected paths) in a fresh sandbox and run the hardened eval script."""
        check_gradable(task)
        started = time.monotonic()
        kept, dropped = filter_patch(patch or "", self.protected.matcher(task))
        spec = make_test_spec(task.to_row())
        bound = self.bound(task)
        sandbox = self.backend.start(task, role="grader")
        try:
            hardening = self._harden(task, spec.eval_script, sandbox)
            if kept.strip():
                first, *rest = APPLY_COMMANDS  # the patch travels with the first command when it is small
                applied = sandbox.exec(with_file(sandbox, AGENT_PATCH_PATH, kept.encode(), first), timeout=300).ok
                if not applied and not any(sandbox.exec(command, timeout=300).ok for command in rest):
                    return TestRun({}, False, "", False, False, kept, tuple(dropped), time.monotonic() - started,
                                   hardening, bound)
            command = with_file(sandbox, EVAL_SCRIPT_PATH, hardening.script.encode(),
                                MEASURED.format(script=EVAL_SCRIPT_PATH, tag=COST_TAG))
            result = sandbox.exec(command, timeout=bound.seconds, max_output=MAX_LOG)
        finally:
            sandbox.close()
        output = result.output
        common = dict(applied_patch=kept, dropped_paths=tuple(dropped), hardening=hardening, bound=bound,
                      test_seconds=result.duration, cpu_seconds=_cpu_seconds(output))
        if result.timed_out:
            return TestRun({}, False, output, True, True, duration=time.monotonic() - started, **common)
        if START_TEST_OUTPUT not in output:
            raise GradingError(
                f"the eval script of {task.instance_id} did not reach its tests (the test patch or the "
                f"environment is broken, not the agent's patch): {output[-1500:]}"
            )
        if result.truncated or END_TEST_OUTPUT not in output:
            cut = (f"the test run printed {result.output_bytes} bytes, more than the {MAX_LOG} a log may hold"
                   if result.truncated else "the test run ended before its end marker (the test runner died)")
            return TestRun({}, False, output, False, True, duration=time.monotonic() - started, cut=cut, **common)
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False, encoding="utf-8") as handle:
            handle.write(output)
        try:
            status_map, valid = get_logs_eval(spec, handle.name)
        finally:
            os.unlink(handle.name)
        return TestRun(status_map, valid, output, False, True, duration=time.monotonic() - started, **common)

    def _harden(self, task: Task, script: str, sandbox: Sandbox) -> Hardening:
        """Harden ``script`` with canaries made from the hidden test files as they will be when the tests run
        (the fresh sandbox's starting state, read before the agent's patch, plus the test patch)."""
        existing, created = test_patch_files(task.test_patch)
        files: dict[str, str] = {}
        for path, data in read_files(sandbox, [path for path in existing if path.endswith(".py")]).items():
            try:
                files[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
        wanted = set(files) | {path for path in created if path.endswith(".py")}
        python_patch, _ = filter_patch(task.test_patch, lambda path: path not in wanted)
        try:
            after = {path: text for path, text in apply_patch(files, python_patch).items() if path in wanted}
        except PatchError as error:
            log.warning("%s: the hidden test patch does not apply in memory (%s): no canaries", task.instance_id, error)
            after = {}
        return harden(script, log_parser=task.log_parser, test_files=after, hidden=task.FAIL_TO_PASS,
                      known=(*task.FAIL_TO_PASS, *task.PASS_TO_PASS), seed=self.seed)

    def grade(self, task: Task, patch: str) -> GradeReport:
        """Grade ``patch`` (the agent's diff) for ``task``; infrastructure faults raise ``InfraError``."""
        return self.verdict(task, self.run(task, patch))

    def verdict(self, task: Task, run: TestRun) -> GradeReport:
        """swebench's rules on a test run, and the canaries."""
        notes = [f"dropped changes to protected path {path}" for path in run.dropped_paths]
        integrity = run.hardening.as_dict() if run.hardening is not None else {}
        common = dict(
            empty_patch=not run.applied_patch.strip(), dropped_paths=run.dropped_paths, duration=run.duration,
            log_tail=run.output[-4000:], patch_applied=run.patch_applied, integrity=integrity,
            timeout=run.bound.as_dict() if run.bound is not None else {},
            test_seconds=run.test_seconds, cpu_seconds=run.cpu_seconds,
        )
        if not run.patch_applied:
            return GradeReport(task.instance_id, False, 0.0, "patch_failed", notes=(*notes, "the patch does not apply"), **common)
        if run.timed_out:
            rule = run.bound.rule if run.bound is not None else ""
            return GradeReport(task.instance_id, False, 0.0, "timeout", notes=(
                *notes, f"the tests did not finish within {run.bound.seconds if run.bound else 0:.0f} s ({rule}): "
                "the patch hangs, loops or is too slow"), **common)
        if run.cut:
            return GradeReport(task.instance_id, False, 0.0, "invalid_log", notes=(*notes, run.cut), **common)
        if not run.valid:
            return GradeReport(task.instance_id, False, 0.0, "invalid_log", notes=(*notes,
                "the test log is not a valid run (no results, or an exit status that contradicts them)"), **common)
        gold = {FAIL_TO_PASS: list(task.FAIL_TO_PASS), PASS_TO_PASS: list(task.PASS_TO_PASS)}
        # ids listed whole but read back split by the parser are looked up under the name it reads
        status_map = align_status_map(run.status_map, gold[FAIL_TO_PASS] + gold[PASS_TO_PASS], task.log_parser)
        report = get_eval_tests_report(status_map, gold, eval_type=EvalType(task.eval_type))
        status = get_resolution_status(report)
        tampered = unverified = False
        if run.hardening is not None and run.hardening.canaries:
            if not canaries_applied(run.hardening, run.output):
                # they apply to the starting state (validation checks it), so the patch got in their way
                unverified = True
                notes.append("the canaries could not be added to the test files, so the run cannot be trusted: "
                             "graded 0")
                integrity["limits"] = [*integrity.get("limits", []), "canary patch did not apply"]
            else:
                for canary in run.canaries:
                    outcome = run.status_map.get(canary)
                    if outcome in FAILING:
                        continue
                    tampered = True
                    notes.append(f"a grading canary {'did not run' if outcome is None else f'did not fail ({outcome})'}: "
                                 "the test run was tampered with")
        elif run.hardening is not None:
            notes.extend(run.hardening.limits)
        resolved = status == "RESOLVED_FULL" and not tampered and not unverified
        if resolved and run.test_seconds is not None and self.timeout is None:
            self.cost_cache.record(task, run.test_seconds, run.cpu_seconds)
        return GradeReport(
            task.instance_id, resolved, 1.0 if resolved else 0.0, status,
            fail_to_pass=report[FAIL_TO_PASS], pass_to_pass=report[PASS_TO_PASS],
            tampered=tampered, notes=tuple(notes), **common,
        )


def _cpu_seconds(output: str) -> float | None:
    """CPU seconds of the test run, from the measurement line printed after it (None when unknown)."""
    for line in reversed(output.splitlines()[-50:]):
        if line.startswith(COST_TAG + " "):
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                return max(0, int(parts[2]) - int(parts[1])) / 1e6
            return None
    return None
