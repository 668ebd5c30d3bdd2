"""Recorded logs through swebench's parsers and our verdict: pytest (-rA), Django's runner, sympy's bin/test.

The logs in tests/fixtures/logs are shaped like the real ones (the eval script's `set -x` trace, the
start/end markers, each runner's own output); the tests pin the status each parser gives every
test and the verdict our grader draws from it, so a swebench upgrade that changes a parser shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from swebench.harness.grading import get_logs_eval
from swebench.harness.utils import make_test_spec

from swe_gym_env.grading import Grader
from swe_gym_env.grading import TestRun as Run
from swe_gym_env.tasks.task import task_from_row

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def spec_for(parser: str, f2p=(), p2p=()):
    row = {
        "instance_id": "owner__repo-1",
        "repo": "owner/repo",
        "version": "1.0",
        "image": "img",
        "eval_script": "#!/bin/bash\nset -uxo pipefail\n: '>>>>> Start Test Output'\ntrue\n: '>>>>> End Test Output'\n",
        "log_parser": parser,
        "eval_type": "pass_and_fail",
        "FAIL_TO_PASS": json.dumps(list(f2p)),
        "PASS_TO_PASS": json.dumps(list(p2p)),
    }
    return make_test_spec(row), row


def status_map(parser: str, log_name: str, tmp_path: Path, text: str | None = None) -> tuple[dict, bool]:
    spec, _ = spec_for(parser)
    path = tmp_path / log_name
    path.write_text(text if text is not None else (LOGS / log_name).read_text())
    return get_logs_eval(spec, str(path))


def verdict(parser: str, status: dict, valid: bool, f2p, p2p):
    _, row = spec_for(parser, f2p, p2p)
    task = task_from_row({**row, "problem_statement": "x"})
    run = Run(status, valid, "log", False, True, "diff --git a/x b/x\n", (), 0.0)
    return Grader(backend=None).verdict(task, run)  # type: ignore[arg-type]


def test_pytest_rA_log(tmp_path):
    status, valid = status_map("parse_log_pytest", "pytest_rA.log", tmp_path)
    assert valid
    assert status == {
        "tests/test_interval.py::test_create": "PASSED",
        "tests/test_interval.py::test_length": "PASSED",
        "tests/test_interval.py::test_contains[inside-True]": "PASSED",
        "tests/test_ops.py::test_merge[disjoint-1]": "PASSED",
        "tests/test_interval.py::test_unbounded": "XFAIL",
        "tests/test_interval.py::test_overlaps_touching": "FAILED",
        "tests/test_ops.py::test_merge[adjacent-2]": "FAILED",
        "tests/test_ops.py::test_merge_uses_fixture": "ERROR",
    }  # the "SKIPPED [1] path:line" summary is not a test
    report = verdict(
        "parse_log_pytest",
        status,
        valid,
        ["tests/test_interval.py::test_overlaps_touching"],
        ["tests/test_interval.py::test_create", "tests/test_interval.py::test_unbounded"],
    )
    assert not report.resolved and report.fail_to_pass["failure"] == [
        "tests/test_interval.py::test_overlaps_touching"
    ]
    report = verdict(
        "parse_log_pytest",
        status,
        valid,
        ["tests/test_interval.py::test_create"],
        ["tests/test_interval.py::test_unbounded", "tests/test_interval.py::test_length"],
    )
    assert report.resolved and report.reward == 1.0  # XFAIL counts as passing
    # an ERROR (fixture setup failed) is a failure, and a test missing from the log fails too
    assert not verdict(
        "parse_log_pytest", status, valid, ["tests/test_ops.py::test_merge_uses_fixture"], []
    ).resolved
    assert not verdict(
        "parse_log_pytest", status, valid, ["tests/test_interval.py::test_not_run"], []
    ).resolved


def test_pytest_parser_exit_code_cross_check(tmp_path):
    """A log that claims only passes while the test command exited non-zero is not a valid run."""
    text = (LOGS / "pytest_rA.log").read_text()
    forged = "\n".join(line for line in text.splitlines() if not line.startswith(("FAILED", "ERROR")))
    forged = forged.replace(
        "+ : '>>>>> End Test Output'", "+ : '>>>>> End Test Output'\n>>>>> Test Exit Code: 1"
    )
    status, valid = status_map("parse_log_pytest", "forged.log", tmp_path, forged)
    assert status == {} and not valid
    assert (
        verdict("parse_log_pytest", status, valid, ["tests/test_interval.py::test_create"], []).status
        == "invalid_log"
    )


def test_pytest_collection_error_log(tmp_path):
    text = (
        "+ : '>>>>> Start Test Output'\n"
        "==================================== ERRORS ====================================\n"
        "____________________ ERROR collecting tests/test_interval.py ____________________\n"
        'E     File "/testbed/intervals/interval.py", line 12\n'
        "E       )(\n"
        "E       ^\n"
        "E   SyntaxError: unmatched ')'\n"
        "=========================== short test summary info ============================\n"
        "ERROR tests/test_interval.py\n"
        "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
        "=============================== 1 error in 0.12s ===============================\n"
        "+ : '>>>>> End Test Output'\n"
    )
    status, valid = status_map("parse_log_pytest", "collect.log", tmp_path, text)
    assert status == {"tests/test_interval.py": "ERROR"}
    report = verdict(
        "parse_log_pytest",
        status,
        valid,
        ["tests/test_interval.py::test_overlaps_touching"],
        ["tests/test_interval.py::test_create"],
    )
    assert not report.resolved and report.reward == 0.0


def test_django_log(tmp_path):
    status, valid = status_map("parse_log_django", "django.log", tmp_path)
    assert valid
    assert status == {
        "test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)": "PASSED",
        "test_validate (auth_tests.test_validators.MinimumLengthValidatorTest)": "PASSED",
        "test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)": "FAILED",
        "test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)": "PASSED",
        "test_validate_property (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)": "ERROR",
        "test_windows_only (auth_tests.test_validators.CommonPasswordValidatorTest)": "SKIPPED",
        # "... Testing against Django installed in ... silenced." then "ok" on the next line: a pass
        "test_slow_check (auth_tests.test_validators.NumericPasswordValidatorTest)": "PASSED",
        # the "FAIL: name (class)" / "ERROR: name (class)" summary lines add the bare names too
        "test_ascii_validator": "FAILED",
        "test_validate_property": "ERROR",
    }
    f2p = ["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"]
    p2p = [
        "test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)",
        "test_windows_only (auth_tests.test_validators.CommonPasswordValidatorTest)",
    ]
    assert not verdict("parse_log_django", status, valid, f2p, p2p).resolved
    fixed = {**status, f2p[0]: "PASSED"}
    report = verdict("parse_log_django", fixed, True, f2p, p2p)
    assert report.resolved  # a skipped PASS_TO_PASS test is not a regression
    assert not verdict(
        "parse_log_django",
        fixed,
        True,
        ["test_windows_only (auth_tests.test_validators.CommonPasswordValidatorTest)"],
        [],
    ).resolved


def test_sympy_log(tmp_path):
    status, valid = status_map("parse_log_sympy", "sympy.log", tmp_path)
    assert valid
    assert status == {
        "test__aresame": "PASSED",
        "test_structure": "PASSED",
        "test_equality": "FAILED",
        "test_matches_basic": "PASSED",
        "test_atoms": "ERROR",
        # the failure headers are parsed too (path:name -> FAILED)
        "sympy/core/tests/test_basic.py:test_atoms": "FAILED",
        "sympy/core/tests/test_basic.py:test_equality": "FAILED",
    }  # "test_free_symbols f" (expected to fail) gets no status: a missing test
    assert not verdict("parse_log_sympy", status, valid, ["test_equality"], ["test__aresame"]).resolved
    fixed = {k: v for k, v in status.items() if ":" not in k} | {
        "test_equality": "PASSED",
        "test_atoms": "PASSED",
    }
    assert verdict(
        "parse_log_sympy", fixed, True, ["test_equality"], ["test__aresame", "test_atoms"]
    ).resolved
    assert not verdict("parse_log_sympy", fixed, True, ["test_free_symbols"], []).resolved


@pytest.mark.parametrize(
    "log_name, parser",
    [
        ("pytest_rA.log", "parse_log_pytest"),
        ("django.log", "parse_log_django"),
        ("sympy.log", "parse_log_sympy"),
    ],
)
def test_logs_without_markers_are_not_valid_runs(tmp_path, log_name, parser):
    text = (LOGS / log_name).read_text().replace(">>>>> Start Test Output", "start")
    status, valid = status_map(parser, log_name, tmp_path, text)
    assert (status, valid) == ({}, False)
