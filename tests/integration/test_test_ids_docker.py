"""Awkward test ids with the base image's pytest (Debian's), in containers: the baseline names every
test by what swebench's parser reads back from the run's own summary, synthesized tasks list those
names and validate, and rows listing whole node ids grade through them (a missing test still fails)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.grading import Grader
from swe_gym_env.synth.pipeline import SynthConfig, SynthReport, Workbench, run_baseline, synthesize_mutations
from swe_gym_env.synth.repo import directory_source
from swe_gym_env.synth.run import format_report

pytestmark = pytest.mark.docker

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "awkward_ids"
MODULE = "tests/test_wordcase.py"


@pytest.fixture(scope="module")
def source():
    return directory_source(FIXTURE, name="local/wordcase")


@pytest.fixture(scope="module")
def backend():
    backend = DockerBackend(pull_policy="never")
    yield backend
    backend.close()


def test_the_baseline_names_every_test_from_its_own_log(source, backend):
    report = SynthReport(source.name)
    with Workbench(source, source.ensure_image(), backend, 1) as bench:
        baseline, total = run_baseline(bench, SynthConfig(baseline_repeats=1), report)
    assert total == 30 and len(baseline.stable) == 30
    assert len(report.notes) == 1 and report.notes[0].startswith("2 tests share 1 logged name(s)")
    names = baseline.names
    assert names[f"{MODULE}::test_humanize[employee_salary-Employee salary]"] == f"{MODULE}::test_humanize[employee_salary-Employee"
    assert names[f"{MODULE}::test_parameterize[caf\\xe9 au lait-caf-au-lait]"] == f"{MODULE}::test_parameterize[caf\\xe9"
    assert names[f"{MODULE}::test_parameterize[line\\nbreak\\ttab-line-break-tab]"] == (
        f"{MODULE}::test_parameterize[line\\nbreak\\ttab-line-break-tab]"
    )
    assert names[f"{MODULE}::test_ünïcode_name"] == f"{MODULE}::test_ünïcode_name"
    assert [name for name in names.groups if names.shared(name)] == [f"{MODULE}::test_shared_names[same"]


def test_tasks_list_the_names_grading_reads(source, backend):
    tasks, report = synthesize_mutations(source, SynthConfig(max_tasks=3, workers=2, canaries="sample"), backend=backend)
    assert len(tasks) == 3, format_report(report)
    assert "gold_not_resolved" not in report.rejected, format_report(report)
    listed = {name for task in tasks for name in (*task.FAIL_TO_PASS, *task.PASS_TO_PASS)}
    assert f"{MODULE}::test_humanize[employee_salary-Employee" in listed
    assert f"{MODULE}::test_shared_names[same" not in {name for task in tasks for name in task.FAIL_TO_PASS}

    grader = Grader(backend, timeout=300)
    task = tasks[0]
    run = grader.run(task, task.patch)  # the task's own eval script, in a fresh container
    assert set(task.FAIL_TO_PASS) | set(task.PASS_TO_PASS) <= set(run.status_map)
    assert grader.verdict(task, run).resolved

    # the same task listing whole node ids: they grade through the names the parser reads back
    nodeids = {}
    with Workbench(source, task.image, backend, 1) as bench:
        baseline, _ = run_baseline(bench, SynthConfig(baseline_repeats=1))
    for nodeid, name in baseline.names.by_nodeid.items():
        nodeids.setdefault(name, []).append(nodeid)
    whole = dataclasses.replace(
        task,
        FAIL_TO_PASS=tuple(n for name in task.FAIL_TO_PASS for n in nodeids[name]),
        PASS_TO_PASS=tuple(n for name in task.PASS_TO_PASS for n in nodeids[name]),
    )
    assert any(" " in test for test in whole.PASS_TO_PASS)
    assert grader.verdict(whole, run).resolved
    assert not grader.grade(whole, "").resolved
    missing = dataclasses.replace(whole, PASS_TO_PASS=(*whole.PASS_TO_PASS, f"{MODULE}::test_humanize[no such case-x]"))
    report = grader.verdict(missing, run)
    assert not report.resolved and report.pass_to_pass["failure"] == [f"{MODULE}::test_humanize[no such case-x]"]
