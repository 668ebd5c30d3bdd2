"""Task synthesis in real containers: mutation tasks from our libraries and from a PyPI sdist, tasks
mined from git history, each validated the SWE-bench way and usable by the env."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from steps import git as run_git

from swe_gym_env import load_tasks, write_tasks
from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.backends.docker.images import no_way_back
from swe_gym_env.errors import TaskError
from swe_gym_env.synth.history import candidate_commits, synthesize_history
from swe_gym_env.synth.pipeline import SynthConfig, synthesize_mutations
from swe_gym_env.synth.repo import builtin_source, pypi_source
from swe_gym_env.synth.statements import leaks, patch_lines
from swe_gym_env.tasks.builtin import repo_files
from swe_gym_env.tasks.builtin.spec import Edit, EditError, edit_files
from swe_gym_env.tasks.builtin.specs import ALL_SPECS

pytestmark = pytest.mark.docker

CONFIG = SynthConfig(max_tasks=3, workers=2, canaries="all")


def check_tasks(tasks, tmp_path, visible_suite_passes=True):
    """Round trip through JSONL, then in a fresh sandbox: the starting state is the task's base
    commit, nothing leads back to the fix, FAIL_TO_PASS tests are hidden, the visible suite passes."""
    path = write_tasks(tasks, tmp_path / "tasks.jsonl")
    again = load_tasks(path)
    assert again == tasks
    backend = DockerBackend(pull_policy="never")
    try:
        sandbox_checks(backend, again, visible_suite_passes)
    finally:
        backend.close()


def sandbox_checks(backend, tasks, visible_suite_passes):
    pytest_cmd = "python3 -m pytest -q -p no:cacheprovider -c /dev/null --rootdir /testbed"
    for task in tasks[:2]:
        assert task.runnable and task.FAIL_TO_PASS and task.PASS_TO_PASS
        assert (
            not leaks(task.problem_statement, patch_lines(task.patch))
            and "diff --git" not in task.problem_statement
        )
        sandbox = backend.start(task)
        try:
            assert sandbox.base_commit == task.base_commit
            assert no_way_back(sandbox) == []
            listing = sandbox.exec(f"{pytest_cmd} --collect-only 2>&1", timeout=300).output
            collected = {line.strip() for line in listing.splitlines() if "::" in line}
            assert collected and not collected & set(task.FAIL_TO_PASS)
            if visible_suite_passes:
                run = sandbox.exec(f"{pytest_cmd} 2>&1 | tail -3", timeout=600)
                assert " passed" in run.output and "failed" not in run.output, run.output
        finally:
            sandbox.close()


def test_mutation_tasks_from_a_builtin_library(tmp_path):
    tasks, report = synthesize_mutations(builtin_source("textkit"), CONFIG)
    assert len(tasks) == 3, report.as_dict()
    assert report.stable_tests == report.tests > 100 and report.candidates > 100
    assert {t.repo for t in tasks} == {"swe-gym/textkit"} and len({t.instance_id for t in tasks}) == 3
    check_tasks(tasks, tmp_path)


def test_mutation_tasks_from_a_package_we_did_not_write(tmp_path):
    """python-slugify's sdist (source and tests) from the package index, its dependency installed."""
    try:
        source = pypi_source("python-slugify")
    except TaskError as error:
        pytest.skip(f"the package index is not reachable and the sdist is not cached: {error}")
    assert source.requirements and all("==" in pin for pin in source.requirements)
    tasks, report = synthesize_mutations(source, dataclasses.replace(CONFIG, canaries="sample"))
    assert len(tasks) == 3, report.as_dict()
    assert {t.repo for t in tasks} == {"pypi/python-slugify"}
    check_tasks(tasks, tmp_path)




def make_history_repo(root: Path, library: str) -> list[str]:
    """A git repository whose history fixes the built-in bugs of ``library`` one commit at a time.

    The first commit holds the library with every hand-written bug of it and without their hidden
    tests; each later commit fixes one bug and adds its tests (the message: the report's title). A
    documentation-only commit and a refactoring commit with tests that already pass are mixed in:
    neither may become a task.
    """

    def git(*args: str) -> str:
        return run_git(root, *args)

    def write(files: dict[str, str]) -> None:
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)

    state = {p: d.decode() for p, d in repo_files(library).items()}
    specs = []
    for spec in (s for s in ALL_SPECS if s.library == library):
        try:
            state = edit_files(state, spec.bug)
            specs.append(spec)
        except EditError:
            continue
    root.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    write(state)
    git("add", "-A")
    git("commit", "-qm", f"Import {library}")
    fixes = []
    for index, spec in enumerate(specs):
        state = edit_files(
            edit_files(state, tuple(Edit(e.path, e.new, e.old) for e in reversed(spec.bug))),
            spec.hidden_tests,
        )
        write(state)
        git("add", "-A")
        git(
            "commit",
            "-qm",
            f"Fix: {spec.problem_statement.strip().splitlines()[0]}\n\nAdds regression tests.",
        )
        fixes.append(git("rev-parse", "HEAD").strip())
        if index == 0:
            state["README.md"] += "\nMore words.\n"
            write(state)
            git("commit", "-qam", "Docs: more words")
            test_file = next(p for p in state if p.startswith("tests/test_"))
            source_file = next(p for p in state if p.endswith(".py") and not p.startswith("tests/"))
            state[source_file] += "\n# a refactoring that changes nothing\n"
            state[test_file] += "\n\ndef test_refactoring_keeps_importing():\n    assert True\n"
            write(state)
            git("commit", "-qam", "Refactor and test an existing behaviour")
    return fixes


def test_tasks_mined_from_git_history(tmp_path):
    repo = tmp_path / "textkit-history"
    fixes = make_history_repo(repo, "textkit")
    commits = candidate_commits(repo)
    assert {c.sha for c in commits} >= set(fixes) and len(commits) == len(
        fixes
    ) + 1  # the docs commit is not one
    tasks, report = synthesize_history(repo, SynthConfig(workers=2, canaries="sample"))
    assert {t.extra["synth"]["commit"] for t in tasks} == set(fixes), report.as_dict()
    assert report.rejected == {"no_fail_to_pass": 1}  # the refactoring: its test passes before it too
    for task in tasks:
        assert task.problem_statement.splitlines()[0] and "Fix:" not in task.problem_statement
        assert task.test_patch and all(t.startswith("tests/") for t in task.FAIL_TO_PASS)
    check_tasks(tasks, tmp_path, visible_suite_passes=False)


def test_offline_nothing_waits_on_the_network(monkeypatch, tmp_path):
    """SWE_GYM_OFFLINE=1: cached sources load, uncached ones fail at once, no pull is tried."""
    import time

    from swe_gym_env.backends.docker.images import ensure_image, registry_reachable
    from swe_gym_env.reachability import host_reachable

    monkeypatch.setenv("SWE_GYM_OFFLINE", "1")
    host_reachable.cache_clear()
    started = time.monotonic()
    assert not registry_reachable("registry-1.docker.io")
    with pytest.raises(TaskError, match="SWE_GYM_OFFLINE"):
        pypi_source("inflection==0.5.1", cache_dir=tmp_path)
    with pytest.raises(Exception, match="not reachable|offline"):
        from swe_gym_env.backends.docker.client import get_client

        ensure_image(get_client(), "swebench/sweb.eval.x86_64.nothing_1776_here-1:latest", "missing")
    assert time.monotonic() - started < 5
    try:
        source = pypi_source("python-slugify")  # from the cache the first test filled
    except TaskError:
        pytest.skip("python-slugify is not cached on this host")
    assert source.requirements and source.ensure_image()
    host_reachable.cache_clear()
