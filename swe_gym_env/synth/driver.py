"""Runs inside a repository container: the test suite with per-test coverage, and many mutants in one go.

This file is copied into the container and run with the container's python3 (standard library and
pytest only; nothing from swe_gym_env is importable there). Usage::

    python3 driver.py baseline SPEC.json OUT.json   # suite runs (the first traced, with its -rA summary)
    python3 driver.py screen SPEC.json OUT.jsonl    # each mutant: write it, run its tests, restore

Every suite run happens in a forked child of a process that has already imported pytest (the
child exits when its run ends), so a mutant costs a fork and a collection, not an interpreter and
a pytest start. Tests are reported by node id, those of ``pytest --rootdir=/testbed -c /dev/null``
from /testbed as in the tasks' eval scripts; the first baseline run also returns pytest's ``-rA``
summary, from which the host checks that the log parser reads each test back under the name the
task will list it by.
"""

import json
import os
import signal
import sys
import threading
import time
import traceback

ROOT = os.environ.get("SWE_GYM_TESTBED", "/testbed")
PYTEST_ARGS = [
    "--rootdir=" + ROOT,
    "-c",
    "/dev/null",
    "-p",
    "no:cacheprovider",
    "-q",
    "-o",
    "console_output_style=classic",
    "--tb=short",
    "-W",
    "ignore",
]
MAX_MESSAGE = 1500
MAX_SUMMARY = 32 * 1024 * 1024  # one line per test: room for suites of 100k tests
LOG_PATH = "/tmp/.swe-gym-baseline.log"


class Collector:
    """A pytest plugin that records each test's outcome (swebench's status names) and failure text."""

    def __init__(self):
        self.outcomes = {}
        self.messages = {}
        self.collect_errors = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(report.nodeid or "?")
            self.messages["<collection>"] = (str(report.longrepr) or "")[-MAX_MESSAGE:]

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                status = "XFAIL" if report.skipped else "FAILED"  # an XPASS(strict) is a failure
            else:
                status = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED"}[report.outcome]
            if self.outcomes.get(nodeid) != "ERROR":
                self.outcomes[nodeid] = status
        elif report.failed:  # setup or teardown
            self.outcomes[nodeid] = "ERROR"
        elif report.skipped and report.when == "setup":
            self.outcomes[nodeid] = "XFAIL" if hasattr(report, "wasxfail") else "SKIPPED"
        if report.failed:
            self.messages[nodeid] = _failure_text(report)


def _failure_text(report):
    """The ``E`` lines of a failure (the exception and pytest's explanation) and where it was raised."""
    text = getattr(report, "longreprtext", "") or str(report.longrepr or "")
    lines = [
        line[1:].strip() if line.startswith("E") else line
        for line in text.splitlines()
        if line.startswith("E ")
    ]
    crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", "")
    body = "\n".join(lines) if lines else crash
    return body[-MAX_MESSAGE:]


class Tracer:
    """Which functions of the source files each test calls (sys.setprofile: calls only, cheap enough).

    Calls made outside any test - at import or collection time, or in a shared fixture's teardown -
    are recorded for ``*``: a bug there can break any test.
    """

    def __init__(self, roots):
        self.roots = roots
        self.current = "*"
        self.covers = {}
        self._known = {}
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)

    def _wanted(self, filename):
        if filename not in self._known:
            path = os.path.realpath(filename)
            rel = os.path.relpath(path, ROOT) if path.startswith(ROOT + "/") else None
            self._known[filename] = rel if rel in self.roots else None
        return self._known[filename]

    def profile(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        rel = self._wanted(code.co_filename)
        if rel is not None:
            self.covers.setdefault(f"{rel}:{code.co_firstlineno}", set()).add(self.current)

    # pytest hooks: the whole protocol of an item (setup, call, teardown) belongs to it
    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid

    def pytest_runtest_logfinish(self, nodeid, location):
        self.current = "*"


def summary_of(text):
    """The ``-rA`` short test summary of a pytest run's output (what the tasks' log parser reads)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "short test summary info" in line), len(lines))
    return "\n".join(lines[start:])[-MAX_SUMMARY:]


def run_suite(args, timeout, trace_files=None, log_path=None):
    """Run pytest on ``args`` in a forked child; returns (result, timed_out). The result holds
    outcomes, messages, collect_errors, covers (when traced) and, with ``log_path``, ``summary``:
    pytest's own ``-rA`` summary of the run, written to that file."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        os.setpgid(0, 0)
        signal.alarm(int(max(1, timeout)))
        result = {}
        try:
            import pytest

            collector = Collector()
            plugins = [collector]
            tracer = None
            if trace_files:
                tracer = Tracer(set(trace_files))
                plugins.append(tracer)
            devnull = os.open(os.devnull, os.O_WRONLY)
            out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if log_path else devnull
            os.dup2(out, 1)
            os.dup2(devnull, 2)
            pytest.main(PYTEST_ARGS + (["-rA"] if log_path else []) + list(args), plugins=plugins)
            sys.stdout.flush()
            result = {
                "outcomes": collector.outcomes,
                "messages": collector.messages,
                "collect_errors": collector.collect_errors,
            }
            if tracer is not None:
                result["covers"] = {key: sorted(tests) for key, tests in tracer.covers.items()}
        except BaseException as error:  # report anything, never hang the parent
            result = {"crash": f"{type(error).__name__}: {error}\n{traceback.format_exc()[-1000:]}"}
        data = json.dumps(result).encode()
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout + 5
    timed_out = False
    with os.fdopen(read_fd, "rb") as pipe:
        os.set_blocking(pipe.fileno(), False)
        while True:
            try:
                chunk = pipe.read()
            except BlockingIOError:
                chunk = None
            if chunk:
                chunks.append(chunk)
            done_pid, _status = os.waitpid(pid, os.WNOHANG)
            if done_pid:
                rest = pipe.read()
                if rest:
                    chunks.append(rest)
                break
            if time.monotonic() > deadline:
                timed_out = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                break
            time.sleep(0.01)
    try:
        result = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        result = {}
    if not result or "crash" in result:
        timed_out = timed_out or not result
    if log_path and result:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            result["summary"] = summary_of(handle.read())
    return result, timed_out


def baseline(spec, out_path):
    """``repeats`` runs of the whole suite; the first records which tests call which functions."""
    runs = []
    covers = {}
    for index in range(spec.get("repeats", 2)):
        started = time.monotonic()
        first = index == 0
        result, timed_out = run_suite(
            spec["tests"],
            spec.get("timeout", 600),
            spec.get("sources") if first else None,
            LOG_PATH if first else None,
        )
        if first:
            covers = result.pop("covers", {})
        runs.append(
            {
                "outcomes": result.get("outcomes", {}),
                "timed_out": timed_out,
                "collect_errors": result.get("collect_errors", []),
                "crash": result.get("crash", ""),
                "summary": result.get("summary", ""),
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    with open(out_path, "w") as handle:
        json.dump({"runs": runs, "covers": covers}, handle)


def selection(nodeid):
    """The argument that selects ``nodeid``'s test function: pytest splits an argument at every
    ``::``, so a parameter id holding one (``test_x[key::value]``) cannot be selected by itself."""
    path, sep, rest = nodeid.partition("::")
    return path + sep + rest.split("[", 1)[0]


def screen(spec, out_path):
    """For each mutant: write its file, run its tests (again when something fails), restore the file.

    The tests run by function (every parameter of a wanted one), and only the wanted node ids'
    outcomes are reported."""
    originals = {}
    with open(out_path, "a") as out:
        for mutant in spec["mutants"]:
            path = os.path.join(ROOT, mutant["path"])
            if path not in originals:
                with open(path, "rb") as handle:
                    originals[path] = handle.read()
            started = time.monotonic()
            try:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(mutant["text"])
                runs = []
                wanted = set(mutant["tests"])
                args = sorted({selection(test) for test in wanted})
                for _attempt in range(spec.get("repeats", 2)):
                    result, timed_out = run_suite(args, spec.get("timeout", 60))
                    runs.append(
                        {
                            "outcomes": {t: s for t, s in result.get("outcomes", {}).items() if t in wanted},
                            "messages": {t: m for t, m in result.get("messages", {}).items() if t in wanted},
                            "collect_errors": result.get("collect_errors", []),
                            "timed_out": timed_out,
                            "crash": result.get("crash", ""),
                        }
                    )
                    if not any(s in ("FAILED", "ERROR") for s in runs[-1]["outcomes"].values()) or timed_out:
                        break  # nothing failed (or it hangs): no need to confirm
            finally:
                with open(path, "wb") as handle:
                    handle.write(originals[path])
            out.write(
                json.dumps(
                    {"id": mutant["id"], "runs": runs, "seconds": round(time.monotonic() - started, 3)}
                )
                + "\n"
            )
            out.flush()


def main(argv):
    command, spec_path, out_path = argv[1:4]
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    with open(spec_path) as handle:
        spec = json.load(handle)
    {"baseline": baseline, "screen": screen}[command](spec, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
