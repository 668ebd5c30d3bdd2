"""Eval scripts hardened whoever wrote them: the test command found, canaries added only where they run."""

import pytest

from swe_gym_env.grading.eval_script import pytest_eval_script
from swe_gym_env.grading.hardening import canaries_applied, harden, pytest_command, strip_legacy_canary
from swe_gym_env.patches import make_patch

TESTS = "def test_a():\n    assert 1 + 1 == 2\n\n\ndef test_b():\n    assert 'x' in 'xy'\n"
TEST_PATCH = make_patch({"tests/test_a.py": "def test_a():\n    assert 1 + 1 == 2\n"}, {"tests/test_a.py": TESTS})
START, END = ": '>>>>> Start Test Output'", ": '>>>>> End Test Output'"


def row_script(command: str) -> str:
    """A script in the form swebench's own eval scripts take."""
    return "\n".join(["#!/bin/bash", "set -uxo pipefail", "cd /testbed", "git apply -v - <<'EOF_114329324912'",
                      TEST_PATCH.rstrip("\n"), "EOF_114329324912", START, command, END,
                      "git checkout abc tests/test_a.py", ""])


@pytest.mark.parametrize("line, positional, selecting", [
    ("python3 -m pytest --rootdir=/testbed -c /dev/null -p no:cacheprovider -rA tests/a.py tests/b.py",
     ["tests/a.py", "tests/b.py"], False),
    ("pytest -rA --tb=no -p no:cacheprovider tests/test_x.py::test_y", ["tests/test_x.py::test_y"], False),
    ("timeout 1800 PYTHONWARNINGS=ignore python -W ignore -m pytest -k 'a or b' tests", ["tests"], True),
    ("py.test -m slow", [], True),
    ("/opt/env/bin/pytest --durations 10 tests/", ["tests/"], False),
])
def test_pytest_commands_are_recognized(line, positional, selecting):
    command = pytest_command(line)
    assert command is not None and command.positional == positional and command.selecting is selecting


@pytest.mark.parametrize("line", ["./tests/runtests.py --verbosity 2 admin_changelist.tests",
                                  "bin/test -C --verbose sympy/core/tests/test_basic.py", "echo pytest-ish", ""])
def test_other_commands_are_not_pytest(line):
    assert pytest_command(line) is None


def test_our_scripts_get_canaries_in_the_hidden_test_files_before_the_tests():
    script = pytest_eval_script("f" * 40, TEST_PATCH, ["tests/test_a.py"])
    hardened = harden(script, log_parser="parse_log_pytest", test_files={"tests/test_a.py": TESTS},
                      hidden=["tests/test_a.py::test_b"], seed=5)
    assert hardened.canaries and all(c.path == "tests/test_a.py" for c in hardened.canaries)
    lines = hardened.script.splitlines()
    apply_at = next(i for i, line in enumerate(lines) if hardened.marker in line)
    assert apply_at < lines.index(START) and "git -C /testbed apply" in lines[apply_at]
    assert any("canaries" in d for d in hardened.defences) and "-c /dev/null" in " ".join(hardened.defences)
    assert hardened.as_dict()["seed"] == 5 and len(hardened.as_dict()["canaries"]) == len(hardened.canaries)


def test_a_row_that_selects_test_ids_gets_the_canaries_ids_too():
    hardened = harden(row_script("pytest -rA tests/test_a.py::test_a tests/test_a.py::test_b"),
                      log_parser="parse_log_pytest", test_files={"tests/test_a.py": TESTS}, seed=1)
    command = next(line for line in hardened.script.splitlines() if line.startswith("pytest"))
    assert all(c.test_id in command for c in hardened.canaries) and hardened.canaries


@pytest.mark.parametrize("command, parser, why", [
    ("pytest -rA -k 'test_a' tests/test_a.py", "parse_log_pytest", "-k/-m"),
    ("./tests/runtests.py --verbosity 2 tests.test_a", "parse_log_django", "parse_log_django"),
    ("pytest -rA other/test_z.py", "parse_log_pytest", "no test in the hidden test files"),
    ("pytest -rA tests/test_a.py::test_a | tee /tmp/log", "parse_log_pytest", "compound line"),
])
def test_what_cannot_be_hardened_keeps_its_verdict_and_says_why(command, parser, why):
    script = row_script(command)
    hardened = harden(script, log_parser=parser, test_files={"tests/test_a.py": TESTS}, seed=1)
    assert not hardened.canaries and hardened.script == script
    assert why in " ".join(hardened.limits)


def test_a_script_without_markers_is_left_as_it_is():
    hardened = harden("#!/bin/bash\npytest\n", log_parser="parse_log_pytest", test_files={"t.py": TESTS})
    assert not hardened.canaries and "markers" in hardened.limits[0]


def test_the_fixed_canary_of_earlier_scripts_is_removed():
    old = "\n".join([
        "cd /testbed", "cat > tests/test_swe_gym_canary.py <<'EOF_SWE_GYM_CANARY_5511'",
        "def test_swe_gym_canary_must_fail():", "    assert False", "EOF_SWE_GYM_CANARY_5511", START,
        "python3 -m pytest -rA tests/test_a.py tests/test_swe_gym_canary.py", END,
        "rm -f tests/test_swe_gym_canary.py", "true", ""])
    stripped = strip_legacy_canary(old)
    assert "canary" not in stripped and "python3 -m pytest -rA tests/test_a.py\n" in stripped


def test_a_canary_patch_that_did_not_apply_is_noticed_only_before_the_tests():
    hardened = harden(row_script("pytest -rA tests/test_a.py"), log_parser="parse_log_pytest",
                      test_files={"tests/test_a.py": TESTS}, seed=2)
    assert canaries_applied(hardened, f"+ git apply\n{START}\nPASSED x\n")
    assert not canaries_applied(hardened, f"error: patch failed\n{hardened.marker}\n{START}\n")
    # a test that prints the marker (it cannot know it, but even so) does not turn the canaries off
    assert canaries_applied(hardened, f"{START}\n{hardened.marker}\n")
