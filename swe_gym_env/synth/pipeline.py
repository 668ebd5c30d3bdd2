"""Synthesis by bug injection: candidates -> many mutants per container -> tasks -> validated the SWE-bench way.

1. **Image**: the repository image (content-tagged, shared with every task on the repository).
2. **Baseline**: the suite runs ``baseline_repeats`` times in one container; the first run records
   which tests call which functions. Tests that do not pass every time are left out for good.
3. **Candidates**: mutants of the functions some stable test covers, interleaved over functions
   and operators (:mod:`.mutate`).
4. **Screening**: one container per worker takes a share of the mutants; for each one it writes
   the mutant, runs the covering tests, runs them again when something failed, and restores the
   file. A mutant is kept when at least one test fails, every other one still passes, the outcome
   repeats, nothing hangs, no more than ``max_fail_fraction`` of the suite fails and the failing
   tests can be hidden (plain definitions in the test modules, not methods a test class inherits
   from a mixin elsewhere).
5. **Tasks**: the failing tests become FAIL_TO_PASS and are hidden from the starting state (the
   test patch brings them back, :mod:`.hidden`); every other stable test is PASS_TO_PASS; the
   statement is a bug report (:mod:`.statements`).
6. **Validation**: each task, in fresh containers through its own eval script: the gold patch
   resolves it (``gold_repeats`` times) and the empty patch does not; for a sample of each
   repository's tasks (or all, ``canaries="all"``) neither do a no-op patch nor one that breaks
   test collection. The empty run is a full-suite run *before* the fix: it must agree with the
   lists. When it shows a failing test the screening did not predict (one that runs the code in a
   subprocess, or shares a fixture) and the gold patch passes it, the test joins FAIL_TO_PASS and
   the task is built and validated again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from ..errors import InfraError, SandboxLostError, SweGymError, TaskError
from ..grading.eval_script import pytest_eval_script
from ..grading.grader import GradeReport
from ..grading.test_ids import TestNames, name_tests, unread_names
from ..grading.validation import Validation, validate_task, with_test_cost
from ..patches import make_patch
from ..tasks.task import Task, task_from_row
from . import driver as driver_module
from .hidden import hide_tests
from .mutate import OPERATORS, Mutation, interleave, mutations
from .repo import RepoSource, commit_of_files
from .statements import Evidence, bug_report, docstring_summary, module_name, patch_lines

log = logging.getLogger(__name__)

DRIVER_PATH = "/tmp/.swe-gym-driver.py"
SPEC_PATH = "/tmp/.swe-gym-spec.json"
OUT_PATH = "/tmp/.swe-gym-out.json"
FAILING = ("FAILED", "ERROR")
CREATED_AT = "2026-11-21T00:00:00Z"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of a synthesis run (defaults: a few minutes per small library on two cores)."""

    max_tasks: int | None = None  # valid tasks wanted per repository (None: as many as the candidates give)
    max_per_function: int = 4  # kept tasks per function, for variety
    operators: tuple[str, ...] = OPERATORS
    seed: int = 0
    baseline_repeats: int = 3  # runs of the unmutated suite; a test must pass in all of them
    screen_repeats: int = 2  # runs of a failing mutant; its outcome must repeat
    gold_repeats: int = 1  # gold-patch gradings per task in validation (fresh containers)
    # The no-op and broken-collection canaries (two more gradings per task): "all" tasks, a "sample"
    # (the first ``canary_sample`` tasks of each repository: its tasks share one eval-script form and
    # parser, which is what the canaries test), or "none".
    canaries: str = "sample"
    canary_sample: int = 3
    workers: int = 2  # screening containers and validation threads
    max_fail_fraction: float = 0.5
    mutant_timeout: float = 30.0
    oversample: float = 1.25  # candidates screened per missing task in the next batch
    batch_size: int = 64
    grading_timeout: float = 600.0


@dataclass
class SynthReport:
    """What a run did, stage by stage (numbers, reasons, seconds)."""

    repo: str
    image: str = ""
    tests: int = 0
    stable_tests: int = 0
    candidates: int = 0
    covered_functions: int = 0  # functions with candidates (some stable test calls them)
    screened: int = 0
    kept: int = 0
    valid: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> how many candidates it turned away
    examples: dict[str, str] = field(default_factory=dict)  # reason -> its first case, with the details
    notes: list[str] = field(default_factory=list)  # what was left out of the repository itself, and why
    error: str = ""  # why the source yielded nothing at all (it did not build, its suite does not run, ...)
    seconds: dict[str, float] = field(default_factory=dict)

    def reject(self, reason: str, example: str) -> None:
        self.rejected[reason] += 1
        self.examples.setdefault(reason, example)

    def note(self, text: str, example: str = "") -> None:
        self.notes.append(f"{text} (e.g. {example})" if example else text)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = dict(self.rejected.most_common())
        return data

    def why_nothing(self) -> str:
        """Why no task came out, in a sentence (for a run that yields none)."""
        if self.error:
            return self.error
        if not self.candidates:
            return (f"no candidates: {self.stable_tests} of {self.tests} tests pass reliably and none of them "
                    "runs a function the mutation operators can change")
        if not self.rejected:
            return "no candidate was screened"
        reason, count = self.rejected.most_common(1)[0]
        return (f"every candidate was rejected; most often ({count} of {sum(self.rejected.values())}) "
                f"{reason}, e.g. {self.examples.get(reason, '?')}")


def _noop(stage: str, done: int, total: int) -> None:
    pass


def _instance_id(source: RepoSource, key: str) -> str:
    owner, _, name = source.name.partition("/")
    return f"{owner}__{name}-mut-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _driver_source() -> bytes:
    return Path(driver_module.__file__).read_bytes()


class Workbench:
    """Containers of a repository image in which the driver runs the suite and the mutants."""

    def __init__(self, source: RepoSource, image: str, backend: Any, count: int) -> None:
        self.source = source
        self.image = image
        self.backend = backend
        self.count = count
        self.sandboxes: list[Any] = []

    def _start(self) -> Any:
        probe = Task(
            instance_id=f"synth-{self.source.slug}",
            repo=self.source.name,
            problem_statement="synthesis",
            image=self.image,
        )
        sandbox = self.backend.start(probe, role="synth")
        try:
            sandbox.write_file(DRIVER_PATH, _driver_source())
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def __enter__(self) -> Self:
        try:
            for _ in range(self.count):
                self.sandboxes.append(self._start())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for sandbox in self.sandboxes:
            sandbox.close()
        self.sandboxes = []

    def run(self, index: int, command: str, spec: dict[str, Any], timeout: float) -> bytes:
        """Run the driver in container ``index``; a container lost on the way (removed by someone
        else, the daemon restarted) is replaced by a fresh one and the command runs once more."""
        try:
            return self._run(index, command, spec, timeout)
        except SandboxLostError as error:
            log.warning("synthesis container %d was lost (%s): starting a fresh one", index, error)
            self.sandboxes[index].close()
            self.sandboxes[index] = self._start()
            return self._run(index, command, spec, timeout)

    def _run(self, index: int, command: str, spec: dict[str, Any], timeout: float) -> bytes:
        sandbox = self.sandboxes[index]
        sandbox.write_file(SPEC_PATH, json.dumps(spec).encode())
        sandbox.exec(f"rm -f {OUT_PATH}", timeout=30)
        result = sandbox.exec(
            f"python3 {DRIVER_PATH} {command} {SPEC_PATH} {OUT_PATH}", timeout=timeout, max_output=1 << 20
        )
        try:
            return sandbox.read_file(OUT_PATH)
        except FileNotFoundError:
            raise InfraError(
                f"the synthesis driver wrote nothing ({command}, exit {result.exit_code}): "
                f"{result.output[-1500:]}"
            ) from None


@dataclass(frozen=True)
class Baseline:
    stable: tuple[str, ...]  # node ids of the tests that passed in every run and that grading can read back
    covers: dict[str, list[str]]  # "path:first_line" -> node ids of the tests that call that function
    names: TestNames = TestNames({})  # node id -> the name the tasks list it by (what the log parser reads)
    test_files: tuple[str, ...] = ()  # the test modules that collect (the eval scripts run these)


def run_baseline(bench: Workbench, config: SynthConfig, report: SynthReport | None = None) -> tuple[Baseline, int]:
    """The suite's stable tests, their coverage and their names. Test modules that fail to collect
    (a missing optional dependency, say) are left out and the suite runs again without them; passing
    tests that the log parser cannot read back from pytest's own summary under their name are left
    out too (they could never be graded)."""
    source = bench.source
    files = source.test_files()
    for _attempt in range(2):
        spec = {
            "tests": files,
            "sources": source.source_files(),
            "repeats": config.baseline_repeats,
            "timeout": config.grading_timeout,
        }
        data = json.loads(bench.run(0, "baseline", spec, config.grading_timeout * config.baseline_repeats + 120))
        runs = data["runs"]
        for run in runs:
            if run.get("crash") or run.get("timed_out"):
                raise TaskError(
                    f"{source.name}: the test suite did not run in its image: {run.get('crash') or 'timed out'}"
                )
        broken = sorted({e for run in runs for e in run.get("collect_errors", [])})
        if not broken:
            break
        if not set(broken) <= set(files) or set(broken) == set(files):
            raise TaskError(f"{source.name}: test collection failed for {broken[:3]}")
        files = [f for f in files if f not in broken]
        if report is not None:
            report.note(f"{len(broken)} test module(s) fail to collect and are left out", broken[0])
    else:
        raise TaskError(f"{source.name}: test collection still fails for {broken[:3]}")
    seen = set().union(*(run["outcomes"] for run in runs))
    names = name_tests(seen)
    passed = sorted(t for t in seen if all(run["outcomes"].get(t) == "PASSED" for run in runs))
    unread = set(unread_names(names, passed, runs[0].get("summary", "")))
    stable = [t for t in passed if t not in unread]
    if passed and not stable:
        raise TaskError(
            f"{source.name}: the log parser reads none of the {len(passed)} passing tests back from pytest's "
            f"summary of their run (e.g. {min(unread)!r}); a plugin that changes pytest's output?"
        )
    shared = [name for name in names.groups if names.shared(name)]
    if shared and report is not None:
        report.note(
            f"{sum(len(names.nodeids(n)) for n in shared)} tests share {len(shared)} logged name(s) and never "
            "join FAIL_TO_PASS", f"{shared[0]!r} for {list(names.nodeids(shared[0]))[:2]}",
        )
    if unread and report is not None:
        report.note(f"{len(unread)} passing test(s) left out: the log parser does not read them back", min(unread))
    return Baseline(tuple(stable), data.get("covers", {}), names, tuple(files)), len(seen)


def fail_and_pass_lists(failing: Iterable[str], baseline: Baseline) -> tuple[list[str], list[str], list[str]]:
    """(FAIL_TO_PASS, PASS_TO_PASS, failing node ids left out) for a mutant that fails ``failing``.

    Lists hold the names the log parser reads back (:mod:`swe_gym_env.grading.test_ids`). A name
    that several tests share never joins FAIL_TO_PASS (one of them skipping would go unseen); one
    shared with a failing or an unstable test never joins PASS_TO_PASS."""
    names, failing = baseline.names, set(failing)
    stable = set(baseline.stable)
    failing_names = {names[n] for n in failing if n in names}
    f2p = sorted({names[n] for n in failing if n in names and not names.shared(names[n])})
    left_out = sorted(n for n in failing if n not in names or names.shared(names[n]))
    p2p = sorted(
        {names[n] for n in stable - failing if n in names}
        - failing_names
        - {names[n] for n in names.by_nodeid if n not in stable}
    )
    return f2p, p2p, left_out


def candidates(
    source: RepoSource, baseline: Baseline, config: SynthConfig
) -> list[tuple[Mutation, list[str]]]:
    """Mutants of covered functions, each with the stable tests to screen it with, interleaved.

    Those tests are the ones that call the function, all of them when it runs at import time (or
    outside any test), plus the *opaque* tests that call no source function in-process (they run
    the code in a subprocess, say), whose outcome tracing cannot predict.
    """
    stable = set(baseline.stable)
    traced = set().union(*baseline.covers.values()) if baseline.covers else set()
    opaque = stable - traced
    files = {path: source.text(path) or "" for path in source.source_files()}
    out = []
    for mutation in interleave(mutations(files, config.operators), config.seed):
        callers = set(baseline.covers.get(mutation.coverage_key, ()))
        tests = stable if "*" in callers else (callers & stable)
        if tests:
            out.append((mutation, sorted(tests | opaque)))
    return out


def screen(
    bench: Workbench, batch: Sequence[tuple[Mutation, list[str]]], config: SynthConfig
) -> dict[str, list[dict]]:
    """Run a batch of mutants across the workbench's containers; returns mutant id -> its runs."""
    shares: list[list[dict[str, Any]]] = [[] for _ in bench.sandboxes]
    for index, (mutation, tests) in enumerate(batch):
        shares[index % len(shares)].append(
            {"id": mutation.id, "path": mutation.path, "text": mutation.text, "tests": tests}
        )

    def work(index: int) -> dict[str, list[dict]]:
        if not shares[index]:
            return {}
        spec = {"mutants": shares[index], "repeats": config.screen_repeats, "timeout": config.mutant_timeout}
        budget = len(shares[index]) * (config.mutant_timeout + 5) * config.screen_repeats + 120
        raw = bench.run(index, "screen", spec, budget).decode()
        return {row["id"]: row["runs"] for row in map(json.loads, filter(None, raw.splitlines()))}

    results: dict[str, list[dict]] = {}
    with ThreadPoolExecutor(len(shares)) as pool:
        for part in pool.map(work, range(len(shares))):
            results.update(part)
    return results


def verdict(runs: list[dict], total_stable: int, config: SynthConfig) -> tuple[str, dict[str, str]]:
    """("keep", failing test -> message) or (reason, {})."""
    if not runs:
        return "not_run", {}
    for run in runs:
        if run.get("timed_out") or run.get("crash"):
            return "hangs_or_crashes", {}
        if run.get("collect_errors"):
            return "breaks_collection", {}
    failing = {t for t, s in runs[0]["outcomes"].items() if s in FAILING}
    if not failing:
        return "survived", {}
    if (
        any({t for t, s in run["outcomes"].items() if s in FAILING} != failing for run in runs[1:])
        or len(runs) < 2
        and config.screen_repeats > 1
    ):
        return "flaky", {}
    if any(s not in FAILING + ("PASSED",) for s in runs[0]["outcomes"].values()):
        return "skips_tests", {}
    if len(failing) > max(1, config.max_fail_fraction * total_stable):
        return "breaks_too_much", {}
    return "keep", {t: runs[0]["messages"].get(t, "") for t in sorted(failing)}


def mutation_task(
    source: RepoSource, mutation: Mutation, failing: dict[str, str], baseline: Baseline, image: str
) -> Task:
    """The SWE-bench row of a kept mutant (raises TaskError when its failing tests cannot be hidden or
    named). ``failing`` maps node ids to their failure messages."""
    f2p, p2p, left_out = fail_and_pass_lists(failing, baseline)
    if not f2p:
        raise Rejected("ambiguous_test_ids", f"every failing test shares its logged name, e.g. {left_out[0]!r}")
    pristine = source.text_files()
    test_files = {p: pristine[p] for p in baseline.test_files or source.test_files()}
    hidden_files, not_hidden = hide_tests(test_files, failing)
    if not_hidden:
        raise Rejected("cannot_hide_tests", f"{not_hidden[:2]} are not plain test definitions")
    start = {**pristine, mutation.path: mutation.text, **hidden_files}
    instance_id = _instance_id(source, mutation.id)
    start_bytes = {**source.files, **{p: t.encode() for p, t in start.items() if t != pristine.get(p)}}
    base = commit_of_files(start_bytes)
    test_patch = make_patch({p: start[p] for p in hidden_files}, {p: pristine[p] for p in hidden_files})
    gold = make_patch({mutation.path: mutation.text}, {mutation.path: pristine[mutation.path]})
    evidence = Evidence(
        function=mutation.function,
        module=module_name(mutation.path, source.python_path),
        docstring=docstring_summary(pristine[mutation.path], mutation.function),
        failures=failing,
    )
    row = {
        "instance_id": instance_id,
        "repo": source.name,
        "base_commit": base,
        "problem_statement": bug_report(evidence, forbidden=patch_lines(gold), seed=instance_id),
        "patch": gold,
        "test_patch": test_patch,
        "FAIL_TO_PASS": f2p,
        "PASS_TO_PASS": p2p,
        "version": source.version,
        "created_at": CREATED_AT,
        "image": image,
        "eval_script": pytest_eval_script(base, test_patch, baseline.test_files or source.test_files()),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
        "setup_patch": make_patch(pristine, start),
        "synth": {
            "method": "mutation",
            "operator": mutation.operator,
            "function": mutation.function,
            "path": mutation.path,
            "source": source.origin_text(),
        },
    }
    return task_from_row(row, where=instance_id)


class Rejected(TaskError):
    """A kept mutant that cannot become a task; ``reason`` is the report's key for it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _failures(report: GradeReport) -> str:
    return (f"{report.status}; FAIL_TO_PASS failing {report.fail_to_pass.get('failure', [])[:3]}, "
            f"PASS_TO_PASS failing {report.pass_to_pass.get('failure', [])[:3]}")


def rejection(result: Validation) -> str:
    """The report's ``reason: detail`` for a failed validation (the first problem, classified)."""
    reports = result.reports
    gold = next((r for k, r in reports.items() if k.startswith("gold#") and not r.resolved), None)
    if gold is not None:
        return f"gold_not_resolved: {_failures(gold)}"
    if "empty" in reports and reports["empty"].resolved:
        return "empty_resolves: the task's tests pass without any fix"
    for name, report in reports.items():
        if name.startswith("canary:") and report.resolved:
            return f"canary_resolves: the {name[7:]} canary patch resolves it"
        if name.startswith("canary:") and not report.patch_applied:
            return f"canary_not_applied: the {name[7:]} canary patch does not apply"
    return "invalid: " + "; ".join(result.problems)[:400]


def check_task(
    grader: Any, task: Task, config: SynthConfig, canaries: bool = True
) -> tuple[Task | None, str, list[str]]:
    """Validate one task the SWE-bench way, plus the before-run consistency check.

    Returns (the task with its gold runs' test cost recorded, or None when it is not valid; ``reason:
    detail``; PASS_TO_PASS tests that failed without the fix while the gold patch passed them: tests the
    screening did not predict, which belong to FAIL_TO_PASS).
    """
    for attempt in range(2):  # a lost container or a daemon hiccup is not the task's fault: once more
        try:
            result = validate_task(grader, task, repeats=config.gold_repeats, canaries=canaries)
            break
        except InfraError as error:
            if attempt:
                return None, f"validation_error: {type(error).__name__}: {str(error)[:300]}", []
            log.warning("validating %s met an infrastructure fault, once more: %s", task.instance_id, error)
        except SweGymError as error:
            return None, f"validation_error: {type(error).__name__}: {str(error)[:300]}", []
    if not result.ok:
        return None, rejection(result), []
    empty = result.reports["empty"]
    if empty.fail_to_pass.get("success"):
        return None, f"f2p_passes_without_fix: {empty.fail_to_pass['success'][:3]}", []
    if empty.pass_to_pass.get("failure"):
        extra = list(empty.pass_to_pass["failure"])
        return None, f"p2p_fails_without_fix: {extra[:3]}", extra
    return with_test_cost(task, result.cost), "ok", []


def validate_mutant(
    grader: Any,
    source: RepoSource,
    mutation: Mutation,
    failing: dict[str, str],
    baseline: Baseline,
    image: str,
    config: SynthConfig,
    canaries: bool,
) -> tuple[Task | None, str]:
    """Build and validate a kept mutant's task; when the full-suite run before the fix shows more
    failing tests than the screening predicted (and the gold patch passes them), rebuild the task
    with them in FAIL_TO_PASS - hidden like the others - and validate it once more."""
    try:
        task = mutation_task(source, mutation, failing, baseline, image)
    except Rejected as error:
        return None, str(error)
    valid, reason, extra = check_task(grader, task, config, canaries)
    if valid is not None or not extra:
        return valid, reason
    more = {nodeid: "" for name in extra for nodeid in baseline.names.nodeids(name)}
    try:
        task = mutation_task(source, mutation, {**failing, **more}, baseline, image)
    except Rejected as error:
        return None, str(error)
    valid, reason, _ = check_task(grader, task, config, canaries=False)
    return valid, ("ok" if valid is not None else reason)


def synthesize_mutations(
    source: RepoSource,
    config: SynthConfig = SynthConfig(),
    *,
    backend: Any = None,
    progress: Progress = _noop,
) -> tuple[list[Task], SynthReport]:
    """Valid mutation tasks of ``source`` and a report of the run (see the module docstring).

    Without a ``backend`` one is made for the run and closed at its end (which waits until every
    container it started is removed).
    """
    from ..backends.docker.backend import DockerBackend

    if backend is not None:
        return _synthesize_mutations(source, config, backend, progress)
    backend = DockerBackend(pull_policy="never", pool_size=4 * config.workers + 4)
    try:
        return _synthesize_mutations(source, config, backend, progress)
    finally:
        backend.close()


def _synthesize_mutations(
    source: RepoSource, config: SynthConfig, backend: Any, progress: Progress
) -> tuple[list[Task], SynthReport]:
    from ..grading import Grader

    report = SynthReport(source.name)
    clock = time.monotonic()
    progress("image", 0, 1)
    report.image = image = source.ensure_image()
    progress("image", 1, 1)
    report.seconds["image"] = round(time.monotonic() - clock, 1)
    grader = Grader(backend, timeout=config.grading_timeout)
    kept_per_function: Counter = Counter()
    tasks: list[Task] = []
    wanted = config.max_tasks
    with Workbench(source, image, backend, max(1, config.workers)) as bench:
        clock = time.monotonic()
        progress("baseline", 0, 1)
        baseline, report.tests = run_baseline(bench, config, report)
        report.stable_tests = len(baseline.stable)
        progress("baseline", 1, 1)
        report.seconds["baseline"] = round(time.monotonic() - clock, 1)
        pool = candidates(source, baseline, config)
        test_texts = {p: source.text(p) or "" for p in baseline.test_files or source.test_files()}
        report.candidates = len(pool)
        report.covered_functions = len({(mutation.path, mutation.function) for mutation, _tests in pool})
        cursor = 0
        screen_seconds = 0.0
        with ThreadPoolExecutor(max(1, config.workers)) as validators:
            pending: list[Any] = []
            while cursor < len(pool):
                if wanted is not None and len(tasks) + len(pending) >= wanted:
                    for future in as_completed(pending):  # some may turn out invalid: wait, then decide
                        _collect(future, tasks, report)
                        progress("validate", len(tasks), wanted)
                    pending = []
                    if len(tasks) >= wanted:
                        break
                size = config.batch_size
                if wanted is not None:
                    size = min(
                        size,
                        max(
                            config.workers, int((wanted - len(tasks) - len(pending)) * config.oversample) + 1
                        ),
                    )
                batch = []
                while cursor < len(pool) and len(batch) < size:
                    mutation, tests = pool[cursor]
                    cursor += 1
                    if kept_per_function[(mutation.path, mutation.function)] < config.max_per_function:
                        batch.append((mutation, tests))
                if not batch:
                    break
                clock = time.monotonic()
                results = screen(bench, batch, config)
                screen_seconds += time.monotonic() - clock
                report.screened += len(batch)
                progress("screen", report.screened, len(pool))
                for mutation, _tests in batch:
                    runs = results.get(mutation.id, [])
                    reason, failing = verdict(runs, len(baseline.stable), config)
                    key = (mutation.path, mutation.function)
                    if reason == "keep" and kept_per_function[key] >= config.max_per_function:
                        reason = "function_quota"
                    detail = screening_detail(reason, runs) if reason != "keep" else ""
                    if reason == "keep":  # a task hides its failing tests: a static check, before any container
                        not_hidden = hide_tests(test_texts, failing)[1]
                        if not_hidden:
                            reason, detail = "cannot_hide_tests", f"{not_hidden[:2]} are not plain test definitions"
                    if reason != "keep":
                        report.reject(reason, f"{describe_mutation(mutation)}: {detail}")
                        continue
                    kept_per_function[key] += 1
                    report.kept += 1
                    canaries = config.canaries == "all" or (
                        config.canaries == "sample" and report.kept <= config.canary_sample
                    )
                    future = validators.submit(
                        validate_mutant, grader, source, mutation, failing, baseline, image, config, canaries
                    )
                    future.mutation = mutation  # type: ignore[attr-defined]
                    pending.append(future)
                still = []
                for future in pending:  # harvest what has finished, so the count above is current
                    if future.done():
                        _collect(future, tasks, report)
                    else:
                        still.append(future)
                pending = still
            clock = time.monotonic()
            for future in as_completed(pending):
                _collect(future, tasks, report)
                progress("validate", len(tasks), wanted or report.kept)
            report.seconds["validate_tail"] = round(time.monotonic() - clock, 1)
        report.seconds["screen"] = round(screen_seconds, 1)
    tasks.sort(key=lambda t: t.instance_id)
    report.valid = len(tasks)  # every kept mutant that validated (the yield), even beyond ``max_tasks``
    if wanted is not None:
        tasks = tasks[:wanted]
    return tasks, report


def describe_mutation(mutation: Mutation) -> str:
    return f"{mutation.path}:{mutation.line} {mutation.function} ({mutation.description})"


def screening_detail(reason: str, runs: list[dict]) -> str:
    """What the screening runs showed, for a rejected mutant's example."""
    if not runs:
        return "no result came back"
    first = runs[0]
    failing = sorted(t for t, status in first.get("outcomes", {}).items() if status in FAILING)
    if reason == "hangs_or_crashes":
        crash = next((r.get("crash") for r in runs if r.get("crash")), "")
        return f"crashed: {crash.splitlines()[0][:200]}" if crash else "timed out"
    if reason == "breaks_collection":
        return f"collection fails in {first.get('collect_errors', [])[:2]}"
    if reason == "survived":
        return f"all {len(first.get('outcomes', {}))} covering tests still pass"
    if reason == "skips_tests":
        odd = sorted(t for t, status in first["outcomes"].items() if status not in FAILING + ("PASSED",))
        return f"tests no longer pass or fail: {odd[:2]}"
    if reason == "flaky":
        return f"the failing tests differ between runs ({len(failing)} failed in the first)"
    return f"{len(failing)} tests fail, e.g. {failing[:2]}"


def _collect(future: Any, tasks: list[Task], report: SynthReport) -> None:
    try:
        task, reason = future.result()
    except Exception as error:  # a fault of ours on one mutant is shown in the yield, not fatal to the run
        log.exception("building or validating %s failed", future.mutation.id)
        task, reason = None, f"internal_error: {type(error).__name__}: {error}"
    if task is not None:
        tasks.append(task)
    else:
        log.info("invalid %s: %s", future.mutation.id, reason)
        key, _, detail = reason.partition(":")
        report.reject(key, f"{describe_mutation(future.mutation)}: {detail.strip()[:600]}")
