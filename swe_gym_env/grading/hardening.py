"""Hardening an eval script, whoever wrote it: its test command found, canaries added where they will run.

Every row's eval script - ours, or the one a SWE-bench / SWE-Gym / SWE-rebench / SWE-smith row brings -
runs its tests between swebench's ``: '>>>>> Start Test Output'`` and ``: '>>>>> End Test Output'``
markers. :func:`harden` finds the command there; when it runs pytest (the pytest-family log parsers),
it adds canaries (:mod:`.canaries`) to the test files the hidden test patch touches - a patch applied
just before the start marker - when the command will surely run them: files and directories named on
the command line are checked, explicitly selected test ids get the canaries' ids beside them, and a
``-k``/``-m`` selection (which could deselect them) means no canaries. Whatever cannot be hardened keeps
SWE-bench's verdict, and :class:`Hardening` says why.

The judge's configuration is out of the agent's reach for every row alike: conftest.py, pytest.ini,
tox.ini, setup.cfg and pyproject.toml changes are dropped from the diff before grading
(:mod:`.protected`), and our own scripts also run pytest with ``-c /dev/null``.
"""

from __future__ import annotations

import posixpath
import re
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

from . import canaries as canary_module
from .canaries import Canary

PYTEST_PARSERS = ("parse_log_pytest", "parse_log_pytest_options", "parse_log_pytest_v2", "parse_log_astroid",
                  "parse_log_flask", "parse_log_marshmallow", "parse_log_pvlib", "parse_log_pyvista",
                  "parse_log_sqlfluff", "parse_log_xarray", "parse_log_pydicom", "parse_log_requests",
                  "parse_log_pylint", "parse_log_astropy", "parse_log_scikit", "parse_log_sphinx",
                  "parse_log_matplotlib")
# pytest options that take the next word as their value (when not written as --opt=value)
VALUE_OPTIONS = {"-k", "-m", "-p", "-c", "-o", "-W", "-n", "-x", "--rootdir", "--deselect", "--ignore",
                 "--ignore-glob", "--tb", "--maxfail", "--durations", "--junitxml", "--junit-xml", "--basetemp",
                 "--confcutdir", "--log-level", "--log-file", "--color", "--capture", "--import-mode",
                 "--config-file", "--cov", "--cov-report", "--dist", "--numprocesses", "--timeout", "-r"}
VALUE_OPTIONS -= {"-x"}
SELECTING = ("-k", "-m")
SHELL_OPERATORS = re.compile(r"[|&;<>()`$]")


@dataclass(frozen=True)
class Hardening:
    """What grading did to the eval script: the canaries, the defences that ran, and what could not."""

    script: str
    seed: int
    canaries: tuple[Canary, ...] = ()
    defences: tuple[str, ...] = ()
    limits: tuple[str, ...] = ()  # what could not be hardened, and why
    marker: str = ""  # printed (before the tests) when the canary patch did not apply

    @property
    def canary_ids(self) -> tuple[str, ...]:
        return tuple(c.test_id for c in self.canaries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "defences": list(self.defences),
            "limits": list(self.limits),
            "canaries": [{"id": c.test_id, "shape": c.shape} for c in self.canaries],
        }


@dataclass
class _Command:
    index: int  # line index in the script
    words: list[str]
    at: int  # index of the pytest word
    positional: list[str] = field(default_factory=list)
    selecting: bool = False


def _test_section(lines: Sequence[str]) -> tuple[int, int] | None:
    start = next((i for i, line in enumerate(lines) if START_TEST_OUTPUT in line), None)
    end = next((i for i, line in enumerate(lines) if END_TEST_OUTPUT in line and i > (start or 0)), None)
    if start is None or end is None:
        return None
    return start, end


def pytest_command(line: str) -> _Command | None:
    """The pytest invocation on ``line`` (``pytest``, ``py.test``, ``python -m pytest``, after variables or
    ``timeout``), its positional arguments and whether it selects by expression; None if it has none."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    at = None
    for i, word in enumerate(words):
        if posixpath.basename(word) in ("pytest", "py.test") or (word == "pytest" and i and words[i - 1] == "-m"):
            at = i
            break
    if at is None:
        return None
    command = _Command(0, words, at)
    skip = False
    for word in words[at + 1:]:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            if option in SELECTING:
                command.selecting = True
            if "=" not in word and word in VALUE_OPTIONS:
                skip = True
            continue
        command.positional.append(word)
    return command


def _covers(command: _Command, path: str) -> bool:
    if not command.positional:
        return True  # pytest collects from its rootdir / testpaths, where the hidden tests are too
    for arg in command.positional:
        target = posixpath.normpath(arg.split("::", 1)[0].removeprefix("/testbed/"))
        if "::" in arg:  # selected test ids: the canaries' ids are added beside them
            if path == target:
                return True
        elif path == target or path.startswith(target.rstrip("/") + "/") or target == ".":
            return True
    return False


def strip_legacy_canary(script: str) -> str:
    """Remove the fixed canary file that eval scripts written by earlier versions carry (its name and body
    are public, so it proves nothing): the heredoc that writes it, its path on the pytest line, its removal."""
    match = re.search(r"^cat > (\S+) <<'EOF_SWE_GYM_CANARY_5511'\n.*?\nEOF_SWE_GYM_CANARY_5511\n", script, re.M | re.S)
    if not match:
        return script
    path = match.group(1)
    script = script[:match.start()] + script[match.end():]
    script = re.sub(rf"^rm -f {re.escape(path)}\n", "", script, flags=re.M)
    return re.sub(rf" {re.escape(path)}(?=\n| )", "", script)


def harden(
    script: str,
    *,
    log_parser: str,
    test_files: Mapping[str, str],
    hidden: Sequence[str] = (),
    known: Sequence[str] = (),
    seed: int | None = None,
) -> Hardening:
    """``script`` with canaries for ``test_files`` (path -> the content the tests run with, after the test
    patch), when its test command runs pytest and will run them. ``hidden``: the FAIL_TO_PASS ids (preferred
    canary sources); ``known``: every other test id a canary must not collide with."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    script = strip_legacy_canary(script)
    defences = ["diff filtered: judge files dropped (tests, conftest.py, pytest/tox/setup.cfg/pyproject.toml)"]
    if "-c /dev/null" in script:
        defences.append("pytest configuration ignored (-c /dev/null)")
    lines = script.split("\n")
    section = _test_section(lines)
    if section is None:
        return Hardening(script, seed, defences=tuple(defences),
                         limits=("no start/end test markers: the test command cannot be found",))
    if log_parser not in PYTEST_PARSERS:
        return Hardening(script, seed, defences=tuple(defences),
                         limits=(f"no canaries: the {log_parser} log is not pytest's, swebench's verdict as it is",))
    commands = []
    for index in range(section[0] + 1, section[1]):
        command = pytest_command(lines[index])
        if command is not None:
            command.index = index
            commands.append(command)
    if not commands:
        return Hardening(script, seed, defences=tuple(defences),
                         limits=("no canaries: no pytest command between the test markers",))
    if any(c.selecting for c in commands):
        return Hardening(script, seed, defences=tuple(defences),
                         limits=("no canaries: the test command selects tests by -k/-m, which could deselect them",))
    if any("cd " in lines[i] for i in range(section[0] + 1, section[1])):
        commands = [c for c in commands if not c.positional]  # relative paths after a cd: only bare pytest
    files = {path: text for path, text in test_files.items() if path.endswith(".py")
             and any(_covers(c, path) for c in commands)}
    plan = canary_module.plan(files, seed, hidden=hidden, known=known)
    if not plan.canaries:
        return Hardening(script, seed, defences=tuple(defences),
                         limits=("no canaries: no test in the hidden test files could be made one",))
    for command in commands:
        if any("::" in arg for arg in command.positional):  # explicit test ids: add the canaries' beside them
            if SHELL_OPERATORS.search(lines[command.index]):
                return Hardening(script, seed, defences=tuple(defences),
                                 limits=("no canaries: the test command selects test ids on a compound line",))
            lines[command.index] = shlex.join(command.words + [c.test_id for c in plan.canaries])
    marker = f"SWEGYM-CANARIES-NOT-APPLIED-{secrets.token_hex(8)}"
    delimiter = f"EOF_SWEGYM_{secrets.token_hex(8)}"
    block = [f"git -C /testbed apply --whitespace=nowarn - <<'{delimiter}' || echo {marker}", plan.patch.rstrip("\n"), delimiter]
    lines[section[0]:section[0]] = block
    defences.append(f"{len(plan.canaries)} canaries of shapes {sorted({c.shape for c in plan.canaries})}")
    return Hardening("\n".join(lines), seed, plan.canaries, tuple(defences), (), marker)


def canaries_applied(hardening: Hardening, output: str) -> bool:
    """Whether the canary patch applied: its failure marker is not on a line of its own before the tests."""
    if not hardening.marker:
        return True
    head = output.split(START_TEST_OUTPUT, 1)[0]
    return hardening.marker not in head.splitlines()
