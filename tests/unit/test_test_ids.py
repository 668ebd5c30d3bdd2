"""One naming of tests, on real pytest runs: awkward parametrized ids (spaces, brackets, quotes,
unicode, escaped newlines, ``::``, `` - ``, ids past a terminal line, ids sharing a first word)
recorded under the name swebench's parser reads back, and graded under it.

pytest runs here on the host (the venv's pytest); tests/integration/test_test_ids_docker.py runs
the same repository with the base image's pytest, through synthesis and grading in containers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS
from swebench.harness.grading import get_eval_tests_report, get_logs_eval
from swebench.harness.utils import make_test_spec

from swe_gym_env.grading import Grader
from swe_gym_env.grading import TestRun as Run
from swe_gym_env.grading.test_ids import (
    align_status_map,
    name_tests,
    record_id,
    shared_names,
    split_nodeid,
    unread_names,
)
from swe_gym_env.synth.hidden import hide_tests, split_test_id
from swe_gym_env.synth.pipeline import Baseline, SynthReport, fail_and_pass_lists
from swe_gym_env.synth.run import format_report
from swe_gym_env.tasks.task import task_from_row

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "awkward_ids"
MODULE = "tests/test_wordcase.py"
START, END = ">>>>> Start Test Output", ">>>>> End Test Output"


def pytest_in(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--rootdir", str(root), "-c", "/dev/null", "-p", "no:cacheprovider", *args],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )
    return done.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, str]:
    """The fixture repository's node ids and ``-rA`` logs: pristine, and with a bug in ``humanize``
    (the ``_id`` suffix kept) that fails some awkward ids and one of two tests sharing a name."""
    root = tmp_path_factory.mktemp("awkward") / "repo"
    shutil.copytree(FIXTURE, root)
    listing = pytest_in(root, "--collect-only", "-q", MODULE)
    out = {"nodeids": json.dumps([line for line in listing.splitlines() if line.startswith(MODULE + "::")])}
    out["pristine"] = pytest_in(root, "-rA", MODULE)
    source = root / "wordcase" / "__init__.py"
    source.write_text(source.read_text().replace('    word = re.sub(r"_id$", "", word)\n', ""))
    out["buggy"] = pytest_in(root, "-rA", MODULE)
    return out


def parsed(log: str, tmp_path: Path) -> dict[str, str]:
    spec = make_test_spec(row())
    path = tmp_path / "run.log"
    path.write_text(f"+ : '{START}'\n{log}\n+ : '{END}'\n")
    status, valid = get_logs_eval(spec, str(path))
    assert valid
    return status


def row(f2p=(), p2p=()) -> dict:
    return {
        "instance_id": "local__wordcase-1", "repo": "local/wordcase", "version": "0", "image": "img",
        "problem_statement": "x", "log_parser": "parse_log_pytest", "eval_type": "pass_and_fail",
        "eval_script": f"#!/bin/bash\n: '{START}'\ntrue\n: '{END}'\n",
        "FAIL_TO_PASS": json.dumps(list(f2p)), "PASS_TO_PASS": json.dumps(list(p2p)),
    }


def verdict(status: dict, f2p, p2p):
    run = Run(status, True, "log", False, True, "diff --git a/x b/x\n", (), 0.0)
    return Grader(backend=None).verdict(task_from_row(row(f2p, p2p)), run)  # type: ignore[arg-type]


def test_pytest_prints_awkward_ids_whole_and_escaped(runs):
    """What the summary holds: ids never truncated (a 150-character one too), non-ASCII and control
    characters escaped in parameters, spaces, quotes, brackets and ``::`` kept as they are."""
    nodeids = json.loads(runs["nodeids"])
    assert len(nodeids) == 30
    for nodeid in nodeids:
        assert f"PASSED {nodeid}\n" in runs["pristine"]
    assert f"{MODULE}::test_parameterize[line\\nbreak\\ttab-line-break-tab]" in nodeids
    assert f"{MODULE}::test_parameterize[caf\\xe9 au lait-caf-au-lait]" in nodeids
    assert f"{MODULE}::test_ünïcode_name" in nodeids  # a function's own name is not escaped
    long = next(n for n in nodeids if "a long id" in n)
    assert len(long) > 150 and long.endswith(" past the line]")


def test_recorded_names_are_the_names_the_parser_reads_back(runs, tmp_path):
    nodeids = json.loads(runs["nodeids"])
    names = name_tests(nodeids)
    status = parsed(runs["pristine"], tmp_path)
    assert set(names.by_nodeid.values()) == set(status)
    assert unread_names(names, nodeids, runs["pristine"]) == []
    assert names[f"{MODULE}::test_humanize[employee_salary-Employee salary]"] == f"{MODULE}::test_humanize[employee_salary-Employee"
    assert names[f"{MODULE}::test_parameterize[!@#Leading bad characters-leading-bad-characters]"] == (
        f"{MODULE}::test_parameterize[!@#Leading"
    )
    assert names[f"{MODULE}::test_parameterize[key::value [x]-key-value-x]"] == f"{MODULE}::test_parameterize[key::value"
    unchanged = [n for n in nodeids if " " not in n]
    assert all(names[n] == n for n in unchanged) and len(unchanged) == 14
    # two tests read back under one name, and nothing else
    assert [name for name in names.groups if names.shared(name)] == [f"{MODULE}::test_shared_names[same"]
    assert shared_names(runs["pristine"], "parse_log_pytest") == {f"{MODULE}::test_shared_names[same"}


def test_a_failure_under_a_shared_name_shows(runs, tmp_path):
    """pytest prints failures after passes, and the parser keeps the last line: a name shared by a
    passing and a failing test reads as failing."""
    status = parsed(runs["buggy"], tmp_path)
    assert status[f"{MODULE}::test_shared_names[same"] == "FAILED"
    assert status[f"{MODULE}::test_humanize[author_id-Author]"] == "FAILED"
    assert status[f"{MODULE}::test_humanize[employee_salary-Employee"] == "PASSED"


def baseline_of(runs) -> Baseline:
    nodeids = json.loads(runs["nodeids"])
    return Baseline(tuple(nodeids), {}, name_tests(nodeids), (MODULE,))


def test_lists_recorded_from_one_run_grade_the_other(runs, tmp_path):
    """FAIL_TO_PASS / PASS_TO_PASS in recorded names, from the node ids that fail with the bug:
    the fixed run resolves, the buggy one does not; a shared name never decides the fix."""
    baseline = baseline_of(runs)
    buggy = parsed(runs["buggy"], tmp_path)
    failing = [n for n in baseline.stable if f"FAILED {n} - " in runs["buggy"]]  # by node id, as the driver reports
    f2p, p2p, left_out = fail_and_pass_lists(failing, baseline)
    assert f2p == [f"{MODULE}::test_humanize[author_id-Author]"]
    assert left_out == [f"{MODULE}::test_shared_names[same prefix two]"]
    assert f"{MODULE}::test_shared_names[same" not in p2p  # it fails before the fix: not "pass to pass" either
    assert f"{MODULE}::test_humanize[employee_salary-Employee" in p2p and len(p2p) == 27
    assert verdict(parsed(runs["pristine"], tmp_path), f2p, p2p).resolved
    report = verdict(buggy, f2p, p2p)
    assert not report.resolved and report.fail_to_pass["failure"] == f2p


def test_lists_of_whole_ids_grade_through_the_names_they_are_read_back_by(runs, tmp_path):
    """Rows listing whole node ids (as written before this naming, or by other tools): without
    alignment swebench's rules fail every id with a space; with it the fix resolves, the bug does
    not, and a test that is not in the log at all still fails."""
    nodeids = json.loads(runs["nodeids"])
    pristine, buggy = parsed(runs["pristine"], tmp_path), parsed(runs["buggy"], tmp_path)
    f2p = [f"{MODULE}::test_humanize[author_id-Author]"]
    p2p = [n for n in nodeids if n not in f2p and "shared_names" not in n]
    raw = get_eval_tests_report(pristine, {FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p})
    assert f"{MODULE}::test_humanize[employee_salary-Employee salary]" in raw[PASS_TO_PASS]["failure"]
    assert verdict(pristine, f2p, p2p).resolved
    assert not verdict(buggy, f2p, p2p).resolved
    missing = f"{MODULE}::test_humanize[no such case-None]"
    report = verdict(pristine, f2p, [*p2p, missing])
    assert not report.resolved and report.pass_to_pass["failure"] == [missing]
    # a whole id whose read-back name belongs to a failing test fails, even when shared
    aligned = align_status_map(buggy, [f"{MODULE}::test_shared_names[same prefix one]"], "parse_log_pytest")
    assert aligned[f"{MODULE}::test_shared_names[same prefix one]"] == "FAILED"


def test_record_id_follows_the_parser():
    nodeid = "t.py::test_p[x - y-z]"
    assert record_id(nodeid, "parse_log_pytest") == "t.py::test_p[x"
    assert record_id(nodeid, "parse_log_pytest_v2") == nodeid  # keeps spaces (a failure's line is cut at " - ")
    assert record_id(nodeid, "parse_log_django") is None  # not a pytest summary: nothing to name it by
    assert record_id("t.py::test_p[a\nb]") is None  # pytest escapes newlines; a raw one is no node id
    assert align_status_map({"t.py::test_p[x": "PASSED"}, [nodeid], "parse_log_django") == {"t.py::test_p[x": "PASSED"}


def test_split_ids_find_their_test_functions():
    assert split_nodeid(f"{MODULE}::TestShout::test_shout[key::value [x]]") == (
        MODULE, ("TestShout", "test_shout"), "[key::value [x]]"
    )
    assert split_test_id(f"{MODULE}::test_words[limit") == (MODULE, ("test_words",))
    text = (FIXTURE / MODULE).read_text()
    hidden, not_hidden = hide_tests(
        {MODULE: text}, [f"{MODULE}::test_parameterize[key::value [x]-key-value-x]", f"{MODULE}::test_words[limit"]
    )
    assert not_hidden == []
    assert "def test_parameterize(" not in hidden[MODULE] and "def test_words(" not in hidden[MODULE]
    assert "def test_parameterize_separator(" in hidden[MODULE]


def test_yield_report_says_why():
    report = SynthReport("pypi/example", tests=40, stable_tests=38, candidates=12, screened=12, kept=3)
    report.reject("survived", "pkg/mod.py:3 f (+ -> -): all 4 covering tests still pass")
    report.reject("survived", "pkg/mod.py:9 g (< -> <=): all 2 covering tests still pass")
    report.reject("gold_not_resolved", "pkg/mod.py:5 h (drop `not`): RESOLVED_NO; ...")
    report.note("1 test module(s) fail to collect and are left out", "tests/test_optional.py")
    text = format_report(report)
    assert "0 valid of 3 kept (0%), 12 screened of 12 candidates; 38 of 40 tests stable" in text
    assert "survived" in text and "e.g. pkg/mod.py:3 f (+ -> -)" in text and "tests/test_optional.py" in text
    assert "most often (2 of 3) survived, e.g. pkg/mod.py:3 f" in report.why_nothing()
    assert report.as_dict()["rejected"] == {"survived": 2, "gold_not_resolved": 1}
    assert "none of them runs a function" in SynthReport("x", tests=3, stable_tests=3).why_nothing()


def test_cli_exits_non_zero_and_says_why_when_nothing_comes_out(tmp_path, capsys):
    from swe_gym_env.cli import main

    out = tmp_path / "tasks.jsonl"
    assert main(["tasks", "synth", f"dir:{tmp_path / 'missing'}", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no valid task came out" in err and "is not a directory" in err and not out.exists()


def test_the_driver_screens_tests_whose_ids_pytest_cannot_select(tmp_path):
    """pytest splits a selection argument at every ``::``: the driver selects by function and reports
    the wanted node ids, so a mutant is seen failing ``test_parameterize[key::value [x]-key-value-x]``."""
    import os

    from swe_gym_env.synth import driver as driver_module

    root = tmp_path / "testbed"
    shutil.copytree(FIXTURE, root)
    source = (root / "wordcase" / "__init__.py").read_text()
    mutant = source.replace('re.sub(r"[^a-z0-9]+", separator, text.lower())', 're.sub(r"[^a-z0-9:]+", separator, text.lower())')
    assert mutant != source
    wanted = [f"{MODULE}::test_parameterize[key::value [x]-key-value-x]", f"{MODULE}::test_parameterize[a - b-a-b]"]
    spec = {"mutants": [{"id": "m", "path": "wordcase/__init__.py", "text": mutant, "tests": wanted}], "repeats": 2}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, driver_module.__file__, "screen", str(tmp_path / "spec.json"), str(tmp_path / "out.jsonl")],
        env={**os.environ, "SWE_GYM_TESTBED": str(root), "PYTHONDONTWRITEBYTECODE": "1"}, cwd=root,
        check=True, timeout=300,
    )
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [run["outcomes"] for run in row["runs"]] == [{wanted[0]: "FAILED", wanted[1]: "PASSED"}] * 2
    assert (root / "wordcase" / "__init__.py").read_text() == source
