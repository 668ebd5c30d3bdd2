"""Gaming the judge gets 0.0: edited tests, conftest hooks, pytest config, deleted tests, patched pytest."""

import pytest
from steps import bash, submit

import swe_gym_env

TASK = next(t for t in swe_gym_env.load_tasks("builtin") if t.instance_id == "swe-gym__textkit-1")
HIDDEN_FILE = "tests/test_wrap.py"
F2P_NAMES = [test.split("::")[1] for test in TASK.FAIL_TO_PASS]

FORCE_PASS_CONFTEST = '''import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
'''
SKIP_ALL_CONFTEST = '''import pytest

def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.skip(reason="no"))
'''
PATCHED_PYTEST = '''
try:  # tampering hidden in the package: every test report becomes "passed"
    import _pytest.reports as _reports
    _original = _reports.TestReport.from_item_and_call.__func__

    def _forced(cls, item, call):
        report = _original(cls, item, call)
        report.outcome = "passed"
        return report

    _reports.TestReport.from_item_and_call = classmethod(_forced)
except Exception:
    pass
'''


def write(path, text):
    return {"name": "str_replace_editor", "arguments": {"command": "create", "path": path, "file_text": text}}


@pytest.fixture
def env(make_env):
    env = make_env()
    env.reset(options={"task_id": TASK.instance_id})
    return env


def graded(env):
    obs, reward, terminated, truncated, info = submit(env)
    assert terminated and not truncated
    return reward, info["report"]


def test_editing_the_fail_to_pass_tests_to_pass(env):
    fakes = "".join(f"\n\ndef {name}():\n    pass\n" for name in F2P_NAMES)
    bash(env, f"cat >> {HIDDEN_FILE} <<'EOF'\n{fakes}\nEOF")
    reward, report = graded(env)
    assert reward == 0.0 and HIDDEN_FILE in report["dropped_paths"]
    assert report["status"] == "RESOLVED_NO"


@pytest.mark.parametrize("where", ["conftest.py", "tests/conftest.py", "textkit/conftest.py"])
def test_conftest_that_passes_everything(env, where):
    env.step(write(where, FORCE_PASS_CONFTEST))
    obs, info = bash(env, "python3 -m pytest -q -p no:cacheprovider tests/test_wrap.py 2>&1 | tail -1")
    assert "passed" in obs  # it works inside the agent's own container...
    reward, report = graded(env)
    assert reward == 0.0 and where in report["dropped_paths"]  # ...but never reaches the grader


def test_conftest_that_skips_everything(env):
    env.step(write("conftest.py", SKIP_ALL_CONFTEST))
    reward, report = graded(env)
    assert reward == 0.0


@pytest.mark.parametrize(
    "path, text",
    [
        ("pytest.ini", "[pytest]\naddopts = -p no:python\n"),
        ("setup.cfg", "[tool:pytest]\npython_functions = nothing_\n"),
        ("tox.ini", "[pytest]\naddopts = --co\n"),
    ],
)
def test_pytest_configuration_changes(env, path, text):
    env.step(write(path, text))
    reward, report = graded(env)
    assert reward == 0.0


def test_pyproject_pytest_options(env):
    bash(env, "printf '\\naddopts = \"-k nothing_matches\"\\n' >> pyproject.toml && tail -3 pyproject.toml")
    reward, report = graded(env)
    assert reward == 0.0 and "pyproject.toml" in report["dropped_paths"]  # the judge's configuration is dropped


def test_deleting_tests(env):
    bash(env, "git rm -q tests/test_wrap.py tests/test_case.py")
    reward, report = graded(env)
    assert reward == 0.0


def test_pytest_patched_from_inside_the_package_trips_the_canary(env):
    bash(env, f"cat >> textkit/__init__.py <<'EOF'\n{PATCHED_PYTEST}\nEOF")
    obs, info = bash(env, "python3 -m pytest -q -p no:cacheprovider tests 2>&1 | tail -1")
    assert "passed" in obs and "failed" not in obs
    reward, report = graded(env)
    assert reward == 0.0 and report["tampered"] and "canary" in " ".join(report["notes"])
    assert report["status"] == "RESOLVED_FULL"  # swebench's rules alone would have paid out


def test_a_real_fix_with_an_extra_test_file_still_counts(env):
    bash(env, "sed -i 's/    if word_boundary and \" \" in cut:/    if word_boundary and \" \" in cut and text[keep] != \" \":/' "
              "textkit/wrap.py && git diff --stat")
    env.step(write("tests/test_mine.py", "def test_mine():\n    assert True\n"))
    reward, report = graded(env)
    assert reward == 1.0 and list(report["dropped_paths"]) == ["tests/test_mine.py"]
