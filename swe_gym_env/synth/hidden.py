"""Hidden tests: take the tests that show a bug out of the starting state; the test patch brings them back.

A synthesized task then looks like a SWE-bench one: the visible suite passes on the buggy code, the
bug report says what is wrong, and the tests that decide the reward arrive only at grading.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from ..grading.test_ids import split_nodeid
from ..pysource import parse_python


def split_test_id(test_id: str) -> tuple[str, tuple[str, ...]]:
    """``tests/test_x.py::TestA::test_b[1-2]`` -> (``tests/test_x.py``, (``TestA``, ``test_b``)); the
    parameters may hold anything (``::``, spaces), and a name the log parser cut short works too."""
    path, names, _params = split_nodeid(test_id)
    return path, names


def _span(lines: list[str], node: ast.stmt) -> tuple[int, int]:
    """0-based [start, end) line span of a definition, decorators and the blank lines before it."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    return start, node.end_lineno  # type: ignore[return-value]


def remove_tests(text: str, names: Iterable[tuple[str, ...]]) -> tuple[str, set[tuple[str, ...]]]:
    """``text`` without the test functions/methods named (class path + name); returns what was removed.

    A class whose every test would go is removed whole. Names that are not plain definitions (tests
    made by a factory, say) are not removed and are missing from the returned set.
    """
    wanted = {tuple(n) for n in names}
    tree = parse_python(text)
    lines = text.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []
    removed: set[tuple[str, ...]] = set()

    def visit(body: list[ast.stmt], prefix: tuple[str, ...]) -> bool:
        """Collect spans; True when every statement of ``body`` is going."""
        going = 0
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and prefix + (node.name,) in wanted:
                spans.append(_span(lines, node))
                removed.add(prefix + (node.name,))
                going += 1
            elif isinstance(node, ast.ClassDef) and any(
                w[: len(prefix) + 1] == prefix + (node.name,) for w in wanted
            ):
                before = len(spans)
                if visit(node.body, prefix + (node.name,)):
                    del spans[before:]
                    spans.append(_span(lines, node))
                    going += 1
        return going == len(body)

    visit(tree.body, ())
    keep = [True] * len(lines)
    for start, end in spans:
        for index in range(start, end):
            keep[index] = False
    new_text = "".join(line for line, kept in zip(lines, keep) if kept)
    return new_text, removed


def hide_tests(files: Mapping[str, str], test_ids: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """The test files without the definitions of ``test_ids``; returns (changed files, ids not hidden)."""
    by_file: dict[str, set[tuple[str, ...]]] = {}
    for test_id in test_ids:
        path, names = split_test_id(test_id)
        if names:
            by_file.setdefault(path, set()).add(names)
    changed: dict[str, str] = {}
    not_hidden: list[str] = []
    for path, names in sorted(by_file.items()):
        if path not in files:
            not_hidden += ["::".join((path, *n)) for n in sorted(names)]
            continue
        new_text, removed = remove_tests(files[path], names)
        not_hidden += ["::".join((path, *n)) for n in sorted(names - removed)]
        if removed:
            changed[path] = new_text
    return changed, not_hidden
