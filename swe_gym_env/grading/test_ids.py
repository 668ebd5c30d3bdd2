"""One naming of tests: a task lists each test under the name the log parser reads back for it.

pytest's ``-rA`` summary prints one line per test, ``STATUS <node id>`` (`` - <message>`` after a
failure). The node id is printed whole - pytest never truncates it, only the message - with
non-ASCII and control characters of parameter ids escaped (``caf\\xe9``, ``line\\nbreak``), but
spaces and punctuation kept. swebench's ``parse_log_pytest`` keys each line by its first
whitespace-separated word after the status, so ``test_humanize[employee_salary-Employee salary]``
is read back as ``test_humanize[employee_salary-Employee``; ``parse_log_pytest_v2`` keeps spaces but
cuts a failure's id at its first `` - ``. A list written with the node id would never match.

- :func:`record_id` is the name to write in FAIL_TO_PASS / PASS_TO_PASS for a node id: what the
  task's parser itself returns for that test's summary line when it passes (a listed test must be
  seen passing; a test the parser cannot name is left out);
- :class:`TestNames` names a run's node ids at once and knows which names several tests share
  (their log lines collide: the parser keeps the last, and pytest prints failures after passes, so
  a shared name passes only when all of its tests pass - but one of them skipping or vanishing would
  go unseen, so a shared name never decides a fix);
- :func:`shared_names` finds such names in a log alone (when node ids are not known);
- :func:`align_status_map` is grading's side, for rows written with whole node ids: an expected id
  absent from the parsed log takes the status of the name the parser gives its line. Ids swebench
  itself truncated (more ``[`` than ``]``) are left to swebench's prefix match. A test that is in
  neither form is still missing, and a missing test fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from swebench.harness.log_parsers import PARSER_REGISTRY
from swebench.harness.log_parsers.python import (
    parse_log_pytest,
    parse_log_pytest_options,
    parse_log_pytest_v2,
)

# The parsers that read pytest's summary lines (many repositories' entries alias them); only for
# these does a node id have a summary line to name it by.
SUMMARY_PARSERS = (parse_log_pytest, parse_log_pytest_options, parse_log_pytest_v2)
# How pytest 7-9 print a test's summary line in each outcome (a failure's message follows " - ").
SUMMARY_FORMS = ("PASSED {}", "FAILED {} - AssertionError: assert 1 == 2", "ERROR {} - ValueError: x", "XFAIL {} - reason")
FAILING = ("FAILED", "ERROR")


def summary_parser(log_parser: str):
    """The parser function of ``log_parser`` when it reads pytest summary lines, else None."""
    parser = PARSER_REGISTRY.get(log_parser)
    return parser if parser in SUMMARY_PARSERS else None


def record_id(nodeid: str, log_parser: str = "parse_log_pytest") -> str | None:
    """The name ``log_parser`` reads back from ``nodeid``'s ``PASSED`` summary line; None when it
    reads no single name. A listed test must be seen passing under that name; a failing test whose
    line the parser names otherwise is missing, and a missing test fails, which is its outcome."""
    parser = summary_parser(log_parser)
    if parser is None or not nodeid or "\n" in nodeid:
        return None
    parsed = parser(f"PASSED {nodeid}", None)
    return next(iter(parsed)) if len(parsed) == 1 else None


@dataclass(frozen=True)
class TestNames:
    """The node ids of a run and the names their summary lines are read back under."""

    __test__ = False  # not a pytest test class

    by_nodeid: Mapping[str, str]  # node id -> recorded name
    unnamed: tuple[str, ...] = ()  # node ids the parser cannot name
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> its node ids

    def __getitem__(self, nodeid: str) -> str:
        return self.by_nodeid[nodeid]

    def __contains__(self, nodeid: object) -> bool:
        return nodeid in self.by_nodeid

    def shared(self, name: str) -> bool:
        """Whether more than one test is read back under ``name``."""
        return len(self.groups.get(name, ())) > 1

    def nodeids(self, name: str) -> tuple[str, ...]:
        return self.groups.get(name, ())


def name_tests(nodeids: Iterable[str], log_parser: str = "parse_log_pytest") -> TestNames:
    """Name every node id with :func:`record_id`."""
    by_nodeid: dict[str, str] = {}
    unnamed: list[str] = []
    groups: dict[str, list[str]] = {}
    for nodeid in sorted(set(nodeids)):
        name = record_id(nodeid, log_parser)
        if name is None:
            unnamed.append(nodeid)
            continue
        by_nodeid[nodeid] = name
        groups.setdefault(name, []).append(nodeid)
    return TestNames(by_nodeid, tuple(unnamed), {name: tuple(ids) for name, ids in groups.items()})


def unread_names(names: TestNames, nodeids: Iterable[str], log: str, log_parser: str = "parse_log_pytest") -> list[str]:
    """The node ids among ``nodeids`` (tests that ran) whose recorded name ``log_parser`` does not
    read from ``log``, the real output of their run: tests that could never be graded."""
    parser = summary_parser(log_parser)
    seen = parser(log, None) if parser is not None else {}
    return sorted(n for n in nodeids if n not in names or names[n] not in seen)


def shared_names(log: str, log_parser: str) -> set[str]:
    """Names that more than one summary line of the same outcome in ``log`` is read back under
    (two tests whose lines collide), for when the node ids are not known."""
    parser = PARSER_REGISTRY.get(log_parser)
    if parser not in SUMMARY_PARSERS:
        return set()
    counts: Counter = Counter()
    for line in log.split("\n"):
        if line.startswith(("PASSED ", "FAILED ", "ERROR ", "XFAIL ")):
            counts.update((status, name) for name, status in parser(line, None).items())
    return {name for (_status, name), count in counts.items() if count > 1}


def align_status_map(status_map: Mapping[str, str], expected: Iterable[str], log_parser: str) -> dict[str, str]:
    """``status_map`` plus, for each expected id absent from it, the status of the name the parser
    gives that id's summary line (an id recorded whole, read back split). When the line's forms give
    several names present with different outcomes, the failing one counts. Anything else is left to
    swebench's rules: its prefix match for ids it truncated, and a missing test fails."""
    parser = summary_parser(log_parser)
    aligned = dict(status_map)
    if parser is None:
        return aligned
    for test in expected:
        if test in aligned or not test or "\n" in test:
            continue
        found = set()
        for form in SUMMARY_FORMS:
            for name in parser(form.format(test), None):
                if name != test and name in status_map:
                    found.add(status_map[name])
        if found:
            failing = sorted(found & set(FAILING))
            aligned[test] = failing[0] if failing else sorted(found)[0]
    return aligned


def split_nodeid(nodeid: str) -> tuple[str, tuple[str, ...], str]:
    """``tests/t.py::TestA::test_b[x::y]`` -> (``tests/t.py``, (``TestA``, ``test_b``), ``[x::y]``).

    Python names never hold ``[``, so the parameters start at the first ``[`` after the path and
    may hold anything, ``::`` included; a name read back split keeps its function's name whole."""
    path, _, rest = nodeid.partition("::")
    bracket = rest.find("[")
    names, params = (rest, "") if bracket < 0 else (rest[:bracket], rest[bracket:])
    return path, tuple(part for part in names.split("::") if part), params


__all__ = [
    "TestNames", "align_status_map", "name_tests", "record_id", "shared_names", "split_nodeid",
    "summary_parser", "unread_names",
]
