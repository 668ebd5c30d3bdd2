"""Every hand-written built-in task is proved on the host, without Docker.

For each spec the library is copied to a temporary directory, edited, and its pytest suite run in a
subprocess:

- the clean library passes, with at least 15 tests;
- clean + hidden tests: everything passes;
- bug + hidden tests: some hidden test fails while every visible test still passes;
- bug + wrong fix + hidden tests: some hidden test still fails;
- ``bug`` and ``wrong_fix`` edit only source files, ``hidden_tests`` only test files.

All the suite runs are started together (they are independent), so the module takes a few seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from swe_gym_env.tasks.builtin import spec as spec_module
from swe_gym_env.tasks.builtin.spec import Edit, TaskSpec, apply_edits
from swe_gym_env.tasks.builtin.specs import ALL_SPECS

REPOS = Path(spec_module.__file__).resolve().parent / "repos"
MIN_TESTS = 15
_RESULT_LINE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    results: dict[str, str]  # test id -> PASSED / FAILED / ERROR / ...
    output: str

    def with_status(self, status: str) -> set[str]:
        return {test for test, outcome in self.results.items() if outcome == status}

    @property
    def passed(self) -> set[str]:
        return self.with_status("PASSED")

    @property
    def not_passed(self) -> set[str]:
        return {test for test, outcome in self.results.items() if outcome != "PASSED"}

    def describe(self) -> str:
        return f"exit code {self.returncode}\n{self.output[-4000:]}"


def _is_test_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return parts[0] == "tests" or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _run_suite(library: str, *edit_groups: tuple[Edit, ...]) -> SuiteRun:
    with tempfile.TemporaryDirectory(prefix=f"spec-{library}-") as tmp:
        root = Path(tmp) / library
        shutil.copytree(REPOS / library, root, ignore=_IGNORED)
        for edits in edit_groups:
            apply_edits(root, edits)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        env.pop("PYTHONPATH", None)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-q"],
            check=False,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = proc.stdout + proc.stderr
    results: dict[str, str] = {}
    for line in output.splitlines():
        match = _RESULT_LINE.match(line)
        if match:
            results[match.group(2)] = match.group(1)
    return SuiteRun(proc.returncode, results, output)


def _jobs() -> Iterator[tuple[tuple[str, str], str, tuple[tuple[Edit, ...], ...]]]:
    for library in sorted({spec.library for spec in ALL_SPECS}):
        yield ("clean", library), library, ()
    for spec in ALL_SPECS:
        yield (spec.name, "hidden"), spec.library, (spec.hidden_tests,)
        yield (spec.name, "bug"), spec.library, (spec.bug, spec.hidden_tests)
        yield (spec.name, "wrong_fix"), spec.library, (spec.bug, spec.wrong_fix, spec.hidden_tests)


class _Runs(dict):
    """Suite runs by (spec name or "clean", variant); a run that could not be made re-raises its error."""

    def __getitem__(self, key: tuple[str, str]) -> SuiteRun:
        future = super().__getitem__(key)
        return future.result()


@pytest.fixture(scope="module")
def runs() -> Iterator[_Runs]:
    jobs = list(_jobs())
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        futures = _Runs({key: pool.submit(_run_suite, library, *groups) for key, library, groups in jobs})
        for future in futures.values():
            future.exception()  # wait for every run before the pool shuts down
        yield futures


def _hidden_tests(runs: _Runs, spec: TaskSpec) -> set[str]:
    return set(runs[(spec.name, "hidden")].results) - set(runs[("clean", spec.library)].results)


def test_there_are_specs_for_several_libraries():
    assert len(ALL_SPECS) >= 9
    libraries = {spec.library for spec in ALL_SPECS}
    assert len(libraries) >= 3
    for library in libraries:
        assert (REPOS / library).is_dir(), library
        assert sum(spec.library == library for spec in ALL_SPECS) >= 3, library


def test_instance_ids_are_unique():
    ids = [spec.instance_id for spec in ALL_SPECS]
    assert len(ids) == len(set(ids))
    names = [spec.name for spec in ALL_SPECS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("library", sorted({spec.library for spec in ALL_SPECS}))
def test_clean_library_suite_passes(runs, library):
    run = runs[("clean", library)]
    assert run.returncode == 0, run.describe()
    assert run.results, run.describe()
    assert not run.not_passed, run.describe()
    assert len(run.passed) >= MIN_TESTS, run.describe()
    assert not any(" " in test for test in run.results)


@pytest.mark.parametrize("spec", ALL_SPECS, ids=[spec.name for spec in ALL_SPECS])
class TestSpec:
    def test_name_and_library(self, spec):
        assert spec.name.startswith(f"{spec.library}-")
        assert (REPOS / spec.library).is_dir()
        assert spec.problem_statement.strip()

    def test_edits_touch_the_right_files(self, spec):
        assert spec.bug and spec.hidden_tests and spec.wrong_fix
        for edit in spec.bug + spec.wrong_fix:
            assert not _is_test_path(edit.path), edit.path
        for edit in spec.hidden_tests:
            assert _is_test_path(edit.path), edit.path

    def test_clean_with_hidden_tests_passes(self, runs, spec):
        run = runs[(spec.name, "hidden")]
        assert run.returncode == 0, run.describe()
        assert not run.not_passed, run.describe()
        assert _hidden_tests(runs, spec), "the hidden tests add no new test"
        assert not any(" " in test for test in run.results)  # the SWE-bench log parser splits on spaces

    def test_bug_fails_hidden_and_keeps_visible_passing(self, runs, spec):
        run = runs[(spec.name, "bug")]
        hidden = _hidden_tests(runs, spec)
        visible = set(runs[("clean", spec.library)].results)
        assert hidden & run.with_status("FAILED"), run.describe()
        assert visible <= run.passed, sorted(visible - run.passed)

    def test_wrong_fix_is_rejected(self, runs, spec):
        run = runs[(spec.name, "wrong_fix")]
        assert run.returncode != 0, run.describe()
        assert _hidden_tests(runs, spec) & run.not_passed, run.describe()

    def test_problem_statement_hides_the_tests(self, runs, spec):
        for test in _hidden_tests(runs, spec):
            function = test.split("::")[-1].split("[")[0]
            assert function not in spec.problem_statement
