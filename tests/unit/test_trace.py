"""The trace tool on the host: the real tracer and bootstrap under this Python, run through the exec wrapper.

A local sandbox runs each command with bash under the same wrapper a container uses (timeout, output
caps, process limits), in a copy of tests/fixtures/trace_repo; the Docker tests do the same in task
containers.
"""

import ast
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swe_gym_env.backends.base import Limits
from swe_gym_env.backends.wrapper import parse_wrapper_output, wrapper_argv
from swe_gym_env.tools import ToolError
from swe_gym_env.trace import TraceOptions, run_trace
from swe_gym_env.trace import runner as trace_runner
from swe_gym_env.trace.render import parse_trace_file

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "trace_repo"
TRACER = Path(trace_runner.__file__).resolve().parent / "tracer.py"
BOOTSTRAP = TRACER.parent / "bootstrap.py"
PY = sys.executable
TEST_FILE = '''from pkg.mod import helper, total


def test_total():
    values = [1, 2, 3]
    assert total(values) == 6


def test_helper_wrong():
    assert helper(1) == 3
'''


class LocalSandbox:
    """Runs commands with bash on this machine, under the sandbox exec wrapper, in ``root``."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits

    def exec(self, command, *, timeout=None, workdir=None, env=None, max_output=None):
        timeout = float(timeout or self.limits.command_timeout)
        started = time.monotonic()
        completed = subprocess.run(wrapper_argv(command, timeout, self.limits, max_output), cwd=self.root,
                                   capture_output=True, timeout=timeout + 60, check=False)
        return parse_wrapper_output(completed.stdout, timeout, time.monotonic() - started)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    (root / "tests").mkdir()
    (root / "tests" / "test_mod.py").write_text(TEST_FILE)
    monkeypatch.setattr(trace_runner, "TRACE_DIR_PREFIX", str(tmp_path / "trace-"))
    return root


def trace(repo, command, timeout=60.0, **options):
    sandbox = LocalSandbox(repo, Limits(command_timeout=timeout))
    return run_trace(sandbox, TraceOptions(command=command, **options), sandbox.limits, root=str(repo))


def records(outcome):
    return [line for process in outcome.processes for line in process.records]


def test_a_plain_script_shows_lines_calls_returns_and_changed_locals(repo):
    outcome = trace(repo, f"{PY} main.py")
    text = outcome.observation
    assert "call outer(values=[0, 1, 2, 3, 4, 5, ...4 more])  pkg/mod.py:35" in text
    assert "pkg/mod.py:36  result = total(values)" in text
    assert "pkg/mod.py:14  acc = 0  # acc=0" in text
    assert "return total -> 45" in text
    assert "pkg/mod.py:36  # result=45" in text  # the assignment lands after the call returns
    assert "call Box.__init__(" in text and "yield evens -> 0" in text
    assert "pkg/mod.py:27  raised ValueError: bad x: 5" in text and "return check <- raised ValueError" in text
    assert "message='bad x: 5'" in text
    assert "run main.py" in text and "end main.py" in text
    assert text.rstrip().endswith("(Box(45), [0, 2, 4], 9)")  # then the command's own output
    assert outcome.result.exit_code == 0 and outcome.process_count == 1
    assert not list(repo.parent.glob("trace-*")), "the tracer's directory is removed"


def test_loops_show_two_iterations_and_fold_the_rest(repo):
    text = trace(repo, f"{PY} main.py").observation
    body = [line.strip() for line in text.splitlines()]
    assert body.count("pkg/mod.py:16      acc += item") == 1  # the first pass changes nothing yet: 0 + 0
    assert "pkg/mod.py:16      acc += item  # acc=1" in body
    assert "... 8 more iterations of lines 15-16 folded  # acc=45, item=9" in body  # their net change
    assert "pkg/mod.py:17  return acc" in body


def test_pytest_traces_the_library_not_the_tests_unless_asked(repo):
    outcome = trace(repo, f"{PY} -m pytest -q -p no:cacheprovider tests/test_mod.py::test_helper_wrong")
    text = outcome.observation
    assert "call helper(value=1)  pkg/mod.py:31" in text and "return helper -> 2" in text
    assert "tests/test_mod.py" not in "\n".join(records(outcome))
    assert "1 failed" in text and outcome.result.exit_code == 1
    assert not (repo / ".pytest_cache").exists()
    outcome = trace(repo, f"{PY} -m pytest -q -p no:cacheprovider tests/test_mod.py::test_total", include_tests=True)
    lines = "\n".join(records(outcome))
    assert "call test_total()  tests/test_mod.py:4" in lines and "values=[1, 2, 3]" in lines
    assert "  call total(items=[1, 2, 3])  pkg/mod.py:13" in lines  # nested below the test


def test_focus_on_a_function_or_a_line_range_and_max_depth(repo):
    text = "\n".join(records(trace(repo, f"{PY} main.py", focus="total")))
    assert text.startswith("call total(") and "outer" not in text and "check" not in text
    lines = records(trace(repo, f"{PY} main.py", focus="pkg/mod.py:25-28"))
    assert lines and all("pkg/mod.py:2" in line or line.startswith(("call check", "return check")) for line in lines)
    shallow = records(trace(repo, f"{PY} -c 'from pkg.mod import nested; nested(5)'", max_depth=2))
    assert any(line.startswith("    call nested(depth=3)") for line in shallow)
    assert not any("depth=2)" in line for line in shallow)
    assert shallow[-1] == "return nested -> 5"


def test_caps_stop_the_trace_with_a_marker(repo):
    outcome = trace(repo, f"{PY} -c 'from pkg.mod import nested; [nested(30) for _ in range(50)]'", max_lines=25)
    lines = records(outcome)
    assert len(lines) <= 25 and outcome.processes[0].capped
    assert "[... trace cap reached (25 lines / 16000 bytes): tracing stopped there" in outcome.observation
    assert outcome.result.exit_code == 0  # the program ran on, untraced


def test_byte_cap_of_the_tracer_itself(repo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"root": str(repo), "max_lines": 1000, "max_bytes": 600}))
    shutil.copy(TRACER, out / "swe_gym_tracer.py")
    shutil.copy(BOOTSTRAP, out / "sitecustomize.py")
    subprocess.run([PY, "main.py"], cwd=repo, env={"PYTHONPATH": str(out), "PATH": "/usr/bin:/bin"}, check=True,
                   capture_output=True)
    (trace_file,) = out.glob("trace-*.txt")
    parsed = parse_trace_file(trace_file.read_text())
    assert parsed.capped and parsed.ended and sum(len(line) + 1 for line in parsed.records) <= 600
    assert parsed.summary["capped"] is True


def test_a_command_that_hangs_is_killed_at_the_timeout_and_keeps_its_trace(repo):
    outcome = trace(repo, f"{PY} -c 'from pkg.mod import spin; spin()'", timeout=3)
    text = outcome.observation
    assert outcome.result.timed_out and "[command timed out after 3 s and was killed" in text
    assert "call spin()  pkg/mod.py:52" in text and "count += 1  # count=1" in text
    assert "[the process ended before its trace was complete: killed, timed out or os._exit]" in text
    assert not list(repo.parent.glob("trace-*"))


def test_a_crashing_command_is_a_clean_observation(repo):
    outcome = trace(repo, f"{PY} -c 'from pkg.mod import crash; crash(7)'")
    text = outcome.observation
    assert "pkg/mod.py:27  raised ValueError: bad x: 7" in text and "return crash <- raised ValueError" in text
    assert "Traceback" in text and "[exit code 1]" in text
    outcome = trace(repo, f"{PY} -c 'from pkg.mod import crash; crash(\"abort\")'")
    assert outcome.result.exit_code == 134 and "call crash(code='abort')" in outcome.observation
    assert "[the process ended before its trace was complete" in outcome.observation


def test_megabytes_of_output_are_capped_and_the_trace_is_kept(repo):
    outcome = trace(repo, f"{PY} -c 'from pkg.mod import chatty; chatty(3)'")
    text = outcome.observation
    assert outcome.result.truncated and "characters of output omitted" in text
    assert "return chatty -> 4" in text and "... 3070 more iterations of lines 66-67 folded  # _=3071" in text
    assert len(text) < 30_000


def test_child_processes_are_traced_each_in_their_own_file(repo):
    outcome = trace(repo, f"{PY} main.py child")
    assert outcome.process_count == 2 and len(outcome.processes) == 2
    assert "call helper(value=41)" in outcome.observation and "[process " in outcome.observation


def test_no_python_and_no_repository_code_say_so(repo):
    assert "[no Python process was traced" in trace(repo, "echo hello").observation
    text = trace(repo, f"{PY} -c 'import json'").observation
    assert "[1 Python process(es) ran but executed no code of the repository" in text


def test_the_command_runs_in_a_subshell_and_keeps_its_pythonpath(repo):
    (repo / "extra").mkdir()
    (repo / "extra" / "plug.py").write_text("def hello():\n    return 'hi'\n")
    outcome = trace(repo, f"cd extra && PYTHONPATH=.:$PYTHONPATH {PY} -c 'import plug; print(plug.hello())'")
    assert "call hello()  extra/plug.py:1" in outcome.observation and outcome.result.exit_code == 0


def test_bad_options_are_tool_errors():
    with pytest.raises(ToolError, match="neither a function name"):
        TraceOptions(command="python3 x.py", focus="pkg/mod.py:abc")
    with pytest.raises(ToolError, match="first <= last"):
        TraceOptions(command="python3 x.py", focus="pkg/mod.py:9-3")
    with pytest.raises(ToolError, match="max_lines"):
        TraceOptions(command="python3 x.py", max_lines=0)
    with pytest.raises(ToolError, match="empty"):
        TraceOptions(command="  ")
    options = TraceOptions.from_arguments({"command": "python3 x.py", "focus": "/testbed/pkg/mod.py:3-9",
                                           "include": ["/testbed/pkg/*"]})
    assert options.focus_spec() == {"path": "pkg/mod.py", "start": 3, "end": 9} and options.include == ("pkg/*",)


def test_tracer_and_bootstrap_parse_as_python_3_6():
    ast.parse(TRACER.read_text(), feature_version=(3, 6))
    ast.parse(BOOTSTRAP.read_text(), feature_version=(3, 6))


def _other_pythons():
    """Other interpreters on this machine (python3.X on PATH, pyenv's versions), 3.6 and newer, that run."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(6, 15)] + [shutil.which("pypy3")]
    candidates += sorted(str(path) for path in Path.home().glob(".pyenv/versions/3.*/bin/python3"))
    found = {}
    for path in filter(None, candidates):
        try:
            version = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2] >= (3, 6), sys.version)"],
                                     capture_output=True, text=True, timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue  # a pyenv shim of a version that is not installed, say
        if version.startswith("True") and Path(path).resolve() != Path(PY).resolve():
            found.setdefault(version.split()[1], path)
    return list(found.values())


@pytest.mark.parametrize("engine", ["settrace", "auto"])
@pytest.mark.parametrize("python", [PY, *_other_pythons()])
def test_same_trace_on_every_python_and_engine(repo, python, engine):
    """Python 3.12+ traces with sys.monitoring, older ones with settrace: the records are the same."""
    outcome = trace(repo, f"{python} main.py", engine=engine)
    expected = trace(repo, f"{PY} main.py", engine="settrace")
    (process,) = outcome.processes
    major, minor = (int(part) for part in process.header["python"].split(".")[:2])
    assert process.header["engine"] == ("sys.monitoring" if engine == "auto" and (major, minor) >= (3, 12) else "settrace")
    exception_repr = lambda lines: [line.replace("',)", "')") for line in lines]  # Python 3.6's repr of an exception
    assert exception_repr(records(outcome)) == records(expected)


def test_a_python_too_old_to_trace_says_so_and_runs(repo):
    python2 = next(iter(sorted(Path.home().glob(".pyenv/versions/2.*/bin/python2"))), None) or shutil.which("python2")
    if python2 is None:
        pytest.skip("no Python 2 on this machine")
    outcome = trace(repo, f"{python2} -c 'print(6 * 7)'")
    assert "[trace] Python 2.7 is too old to trace" in outcome.observation and "42" in outcome.observation
    assert outcome.result.exit_code == 0
