"""Tasks from a repository's own history, the SWE-bench / SWE-RL way.

A commit (not a merge) that changes source files and test files together is a candidate: its
source change is the gold patch, its test change the hidden test patch, its parent the starting
state and its message the seed of the problem statement. All candidates of a repository share one
repository image, a snapshot of one revision (``HEAD`` by default) with no ``.git``; a task's
``setup_patch`` turns that snapshot into the parent commit's tree, and the reset makes a fresh
single-commit repository of it - no later commit, reflog or object survives to leak the fix.

FAIL_TO_PASS/PASS_TO_PASS are measured in containers (without and with the gold patch, repeated to
drop flaky tests); a candidate whose tests do not fail before the fix is rejected.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SweGymError, TaskError
from ..grading.eval_script import pytest_eval_script
from ..grading.validation import measure, validate_task, with_test_cost, with_test_lists
from ..patches import make_patch
from ..pysource import parse_python
from ..tasks.task import Task, task_from_row
from .mutate import functions
from .pipeline import CREATED_AT, Progress, SynthConfig, SynthReport, _noop, rejection
from .repo import RepoSource, commit_of_files, git_files, git_source, is_test_path, is_test_support
from .statements import Evidence, bug_report, docstring_summary, failures_for, module_name, patch_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str
    message: str
    sources: tuple[str, ...]  # non-test files it changes
    tests: tuple[str, ...]  # test files it changes


def _git(repo: str | Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise TaskError(f"git {' '.join(args)} failed in {repo}: {done.stderr[-500:]}")
    return done.stdout


def candidate_commits(repo: str | Path, rev: str = "HEAD", max_commits: int = 500) -> list[Commit]:
    """Commits reachable from ``rev`` (newest first, merges left out) that change a Python source
    file and a test file."""
    out = []
    for line in _git(
        repo, "rev-list", "--no-merges", "--parents", f"--max-count={max_commits}", rev
    ).splitlines():
        shas = line.split()
        if len(shas) != 2:
            continue  # a root commit has nothing to compare with
        sha, parent = shas
        changed = [
            p
            for p in _git(repo, "diff-tree", "-r", "--no-commit-id", "--name-only", parent, sha).splitlines()
            if p
        ]
        tests = tuple(p for p in changed if is_test_path(p) or is_test_support(p))
        sources = tuple(p for p in changed if p not in tests)
        if tests and any(p.endswith(".py") for p in sources):
            out.append(
                Commit(sha, parent, _git(repo, "log", "-1", "--format=%B", sha).strip(), sources, tests)
            )
    return out


def _texts(files: Mapping[str, bytes], paths: set[str], what: str) -> dict[str, str]:
    out = {}
    for path in paths:
        if path in files:
            try:
                out[path] = files[path].decode("utf-8")
            except UnicodeDecodeError:
                raise TaskError(f"{what}: {path} is not UTF-8 text; a text patch cannot carry it") from None
    return out


def touched_function(source: str, patch_old_lines: list[int]) -> str:
    """The qualified name of the innermost function containing the first changed line, or ''."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return ""
    best = ""
    best_size = None
    for qualname, _first, node in functions(tree):
        for line in patch_old_lines:
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                size = (node.end_lineno or node.lineno) - node.lineno
                if best_size is None or size < best_size:
                    best, best_size = qualname, size
    return best


def _changed_lines(patch: str, path: str) -> list[int]:
    lines: list[int] = []
    current = None
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current = line.split(" b/", 1)[-1]
        match = re.match(r"^@@ -(\d+)(?:,(\d+))? ", line)
        if match and current == path:
            start, length = int(match.group(1)), int(match.group(2) or 1)
            lines += list(range(start, start + max(1, length)))
    return lines


def commit_task(repo: str | Path, commit: Commit, snapshot: RepoSource, image: str) -> Task:
    """The (unmeasured) task of ``commit`` on the repository image of ``snapshot``."""
    repo = Path(repo)
    parent = git_files(repo, commit.parent)
    after = git_files(repo, commit.sha)
    differing = {p for p in set(parent) | set(snapshot.files) if parent.get(p) != snapshot.files.get(p)}
    image_text = _texts(snapshot.files, differing, commit.sha[:8])
    start_text = _texts(parent, differing, commit.sha[:8])
    setup_patch = make_patch(image_text, start_text)
    base = commit_of_files(parent)
    sources = set(commit.sources)
    tests = set(commit.tests)
    gold = make_patch(_texts(parent, sources, commit.sha[:8]), _texts(after, sources, commit.sha[:8]))
    test_patch = make_patch(_texts(parent, tests, commit.sha[:8]), _texts(after, tests, commit.sha[:8]))
    if not gold.strip() or not test_patch.strip():
        raise TaskError(f"{commit.sha[:8]}: the source or the test change is empty as text")
    owner, _, name = snapshot.name.partition("/")
    instance_id = f"{owner}__{name}-{commit.sha[:10]}"
    test_files = sorted(p for p in parent if is_test_path(p))
    row = {
        "instance_id": instance_id,
        "repo": snapshot.name,
        "base_commit": base,
        "problem_statement": commit.message.splitlines()[0] if commit.message else instance_id,
        "patch": gold,
        "test_patch": test_patch,
        "version": snapshot.version,
        "created_at": CREATED_AT,
        "image": image,
        "eval_script": pytest_eval_script(base, test_patch, test_files),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
        "setup_patch": setup_patch,
        "synth": {"method": "history", "commit": commit.sha, "source": snapshot.origin_text()},
    }
    return task_from_row(row, where=instance_id)


def describe(
    task: Task,
    commit: Commit,
    parent_files: Mapping[str, bytes],
    before_output: str,
    python_path: tuple[str, ...],
) -> str:
    """A bug report for a history task: the commit message, the symptoms before the fix, the function."""
    path = next((p for p in commit.sources if p.endswith(".py")), "")
    source_text = parent_files.get(path, b"").decode("utf-8", "replace")
    function = touched_function(source_text, _changed_lines(task.patch, path)) if path else ""
    evidence = Evidence(
        function=function,
        module=module_name(path, python_path) if path else "",
        docstring=docstring_summary(source_text, function) if function else "",
        failures=failures_for(task.FAIL_TO_PASS, before_output),
        commit_message=commit.message,
    )
    return bug_report(evidence, forbidden=patch_lines(task.patch), seed=task.instance_id)


def synthesize_history(
    repo: str | Path,
    config: SynthConfig = SynthConfig(),
    *,
    rev: str = "HEAD",
    requirements: tuple[str, ...] = (),
    name: str | None = None,
    backend: Any = None,
    progress: Progress = _noop,
    max_commits: int = 500,
) -> tuple[list[Task], SynthReport]:
    """Valid tasks from the commits of a local git repository (see the module docstring)."""
    import dataclasses

    from ..backends.docker.backend import DockerBackend
    from ..grading import Grader

    snapshot = git_source(repo, rev, name=name, requirements=requirements)
    report = SynthReport(snapshot.name)
    clock = time.monotonic()
    report.image = image = snapshot.ensure_image()
    report.seconds["image"] = round(time.monotonic() - clock, 1)
    commits = candidate_commits(repo, rev, max_commits)
    report.candidates = len(commits)
    own_backend = backend is None
    backend = backend or DockerBackend(pull_policy="never", pool_size=4 * config.workers + 4)
    grader = Grader(backend, timeout=config.grading_timeout)

    kept: list[str] = []

    def process(commit: Commit) -> tuple[Task | None, str]:
        try:
            task = commit_task(repo, commit, snapshot, image)
            measured = measure(grader, task, repeats=max(2, config.screen_repeats))
            if not measured.lists.fail_to_pass:
                return None, "no_fail_to_pass: no test fails before the commit and passes after it"
            kept.append(commit.sha)  # measured with tests that show the bug: validation decides now
            task = with_test_lists(task, measured.lists)
            statement = describe(
                task, commit, git_files(repo, commit.parent), measured.before[0].output, snapshot.python_path
            )
            task = dataclasses.replace(task, problem_statement=statement)
            result = validate_task(
                grader, task, repeats=config.gold_repeats, canaries=config.canaries != "none"
            )
            return (with_test_cost(task, result.cost), "ok") if result.ok else (None, rejection(result))
        except (SweGymError, ValueError) as error:
            log.info("commit %s rejected: %s", commit.sha[:8], error)
            return None, f"{type(error).__name__}: {str(error)[:400]}"

    clock = time.monotonic()
    tasks: list[Task] = []
    try:
        pool = ThreadPoolExecutor(max(1, config.workers))
        try:
            futures = [pool.submit(process, commit) for commit in commits]
            for done, (commit, future) in enumerate(zip(commits, futures), start=1):
                task, reason = future.result()
                report.screened = done
                if task is None:
                    key, _, detail = reason.partition(":")
                    title = commit.message.splitlines()[0][:80] if commit.message else ""
                    report.reject(key, f"{commit.sha[:10]} {title!r}: {detail.strip()}")
                else:
                    tasks.append(task)
                progress("validate", done, len(commits))
                if config.max_tasks is not None and len(tasks) >= config.max_tasks:
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # enough tasks: the commits not started are not
    finally:
        if own_backend:
            backend.close()  # waits until every container it started is removed
    report.seconds["validate"] = round(time.monotonic() - clock, 1)
    report.kept, report.valid = len(kept), len(tasks)
    tasks.sort(key=lambda t: t.instance_id)
    return tasks[: config.max_tasks] if config.max_tasks is not None else tasks, report


__all__ = ["Commit", "candidate_commits", "commit_task", "synthesize_history"]
