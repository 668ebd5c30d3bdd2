"""Canaries that look like the hidden tests: tests that must fail, made anew for every grading.

A patch that tampers with the test run from inside the repository's own package (a hook that rewrites
reports, a patched assertion, a filter on the output) must spare the canaries to get a reward, and it
can only spare what it can tell apart. So a canary is made from a real test of the files the hidden test
patch touches - its decorators, fixtures and body - with one top-level assertion made false:

- ``literal``: the expected literal of an equality changes (``assert f(x) == "ox"`` -> ``"oX"``);
- ``flip``: the comparison or truth test is inverted (``==``/``!=``, ``in``/``not in``, ``is``/``is not``,
  ``<``/``>=``, ``assert x``/``assert not x``, ``assertTrue``/``assertFalse``, ...);
- ``raises``: ``pytest.raises``/``assertRaises`` expects an unrelated built-in exception.

The source test passes on a correct fix (it is a hidden or an existing test, and the assertion is reached
on every run: only statements at the top of the body are changed), so its canary then fails. The name
recombines words of the file's own test names, the canary sits between two tests of the same scope (a
file, or a class) at a random place, and the number, files, sources and shapes vary with a seed that the
grading report records. Hidden tests are the preferred sources: a canary made from one fails, unfixed,
alongside it.
"""

from __future__ import annotations

import ast
import builtins
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..patches import make_patch
from ..pysource import parse_python

SHAPES = ("literal", "flip", "raises")
FLIP_OPS = {
    ast.Eq: "!=", ast.NotEq: "==", ast.Lt: ">=", ast.LtE: ">", ast.Gt: "<=", ast.GtE: "<",
    ast.In: "not in", ast.NotIn: "in", ast.Is: "is not", ast.IsNot: "is",
}
OP_TEXT = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
FLIP_METHODS = {
    "assertEqual": "assertNotEqual", "assertNotEqual": "assertEqual", "assertEquals": "assertNotEqual",
    "assertTrue": "assertFalse", "assertFalse": "assertTrue", "assertIn": "assertNotIn", "assertNotIn": "assertIn",
    "assertIs": "assertIsNot", "assertIsNot": "assertIs", "assertIsNone": "assertIsNotNone",
    "assertIsNotNone": "assertIsNone", "assertIsInstance": "assertNotIsInstance",
    "assertNotIsInstance": "assertIsInstance", "assertGreater": "assertLessEqual", "assertLess": "assertGreaterEqual",
    "assertGreaterEqual": "assertLess", "assertLessEqual": "assertGreater",
}
EQUAL_METHODS = ("assertEqual", "assertEquals")
RAISES = ("raises", "assertRaises", "assertRaisesRegex", "assertRaisesRegexp")
UNRELATED = ("KeyError", "IndexError", "ValueError", "TypeError", "AttributeError", "ZeroDivisionError",
             "NotImplementedError", "RuntimeError", "OSError", "UnicodeDecodeError", "RecursionError")
UNSAFE = re.compile(r"skip|xfail|parametrize|expectedFailure|expected_failure|flaky|timeout")


@dataclass(frozen=True)
class Canary:
    """One canary: where it is, what it is called, how it was made."""

    path: str
    name: str
    cls: str | None
    shape: str
    source: str  # the test it was made from

    @property
    def test_id(self) -> str:
        """Its id in pytest's form (``path::Class::name``)."""
        return "::".join(part for part in (self.path, self.cls, self.name) if part)


@dataclass(frozen=True)
class Plan:
    """Canaries for one grading and the patch that adds them to the test files."""

    canaries: tuple[Canary, ...]
    patch: str
    seed: int


@dataclass(frozen=True)
class _Site:
    start: int  # absolute offsets in the file text of the span to replace
    end: int
    text: str  # its replacement
    shape: str


@dataclass(frozen=True)
class _Test:
    path: str
    node: ast.FunctionDef
    cls: ast.ClassDef | None
    sites: tuple[_Site, ...]
    hidden: bool


def _offsets(text: str) -> list[int]:
    starts, total = [0], 0
    for line in text.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


class _File:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text
        self.tree = parse_python(text)
        self._starts = _offsets(text)

    def pos(self, line: int, col: int) -> int:
        # ast columns count UTF-8 bytes; convert within the line
        start = self._starts[line - 1]
        row = self.text[start:self._starts[line]] if line < len(self._starts) else self.text[start:]
        return start + len(row.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def source(self, node: ast.AST) -> str:
        return self.text[slice(*self.span(node))]

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.pos(node.lineno, node.col_offset), self.pos(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _mutated_literal(node: ast.expr, rng: random.Random, text_of: Callable[[ast.AST], str]) -> str | None:
    """Python source of a value surely different from the literal ``node``, written the way the file
    writes its literals (its quotes, its elements), or None if ``node`` is no literal."""
    source = text_of(node)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return repr(not value)
        if isinstance(value, int):
            return repr(value + rng.choice((1, -1, 2)))
        if isinstance(value, float):
            return repr(value * 2 + 1.0)
        if isinstance(value, (str, bytes)):
            changed = _changed_text(value, rng)
            prefix = "b" if isinstance(value, bytes) else ""
            quote = source[len(prefix):len(prefix) + 1]
            plain = changed.decode("latin-1") if isinstance(changed, bytes) else changed
            simple = source[len(prefix) + 1:-1] == (value.decode("latin-1") if isinstance(value, bytes) else value)
            if quote in ("'", '"') and simple and not (set(plain) & {quote, "\\", "\n", "\r"}) and plain.isprintable():
                return f"{prefix}{quote}{plain}{quote}"  # the file's own quoting
            return repr(changed)
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        if isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            return repr(-node.operand.value - 1)
        return None
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts and all(isinstance(e, ast.Constant) for e in node.elts):
        items = [text_of(e) for e in node.elts]
        items = items[:-1] if len(items) > 1 else items + items  # one element fewer, or twice the only one
        text = ", ".join(items)
        if isinstance(node, ast.List):
            return f"[{text}]"
        return f"({text},)" if len(items) == 1 else f"({text})"
    return None


def _changed_text(value: str | bytes, rng: random.Random) -> str | bytes:
    """``value`` with one character changed (its case swapped where it has one), or ``x`` if empty."""
    empty = value[:0]
    if not value:
        return empty + (b"x" if isinstance(value, bytes) else "x")  # type: ignore[operator]
    index = rng.randrange(len(value))
    char = value[index:index + 1]
    swapped = char.swapcase()
    if swapped == char:
        swapped = (b"y" if char == b"x" else b"x") if isinstance(char, bytes) else ("y" if char == "x" else "x")
    return value[:index] + swapped + value[index + 1:]  # type: ignore[operator]


def _sites(file: _File, statement: ast.stmt, rng: random.Random) -> list[_Site]:
    """The ways ``statement`` (at the top of a test's body) can be made false."""
    sites: list[_Site] = []
    if isinstance(statement, ast.Assert):
        test = statement.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op, left, right = test.ops[0], test.left, test.comparators[0]
            if type(op) in FLIP_OPS:
                start, end = file.span(left)[1], file.span(right)[0]
                between = file.text[start:end]
                if " ".join(between.split()) == OP_TEXT[type(op)]:
                    sites.append(_Site(start, end, f" {FLIP_OPS[type(op)]} ", "flip"))
            if isinstance(op, ast.Eq):
                for side in (right, left):
                    new = _mutated_literal(side, rng, file.source)
                    if new is not None:
                        sites.append(_Site(*file.span(side), new, "literal"))
                        break
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            start, end = file.span(test)
            sites.append(_Site(start, end, f"({file.source(test.operand)})", "flip"))
        elif not isinstance(test, ast.Constant):
            start, end = file.span(test)
            sites.append(_Site(start, end, f"not ({file.text[start:end]})", "flip"))
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            name_end = file.pos(func.end_lineno, func.end_col_offset)  # type: ignore[arg-type]
            name_start = name_end - len(func.attr)
            if func.attr in FLIP_METHODS and file.text[name_start:name_end] == func.attr:
                sites.append(_Site(name_start, name_end, FLIP_METHODS[func.attr], "flip"))
            if func.attr in EQUAL_METHODS and len(call.args) >= 2:
                for arg in (call.args[1], call.args[0]):
                    new = _mutated_literal(arg, rng, file.source)
                    if new is not None:
                        sites.append(_Site(*file.span(arg), new, "literal"))
                        break
    elif isinstance(statement, ast.With) and len(statement.items) == 1:
        expr = statement.items[0].context_expr
        if isinstance(expr, ast.Call) and expr.args:
            func = expr.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            raised = expr.args[0]
            original = getattr(builtins, raised.id, None) if isinstance(raised, ast.Name) else None
            if name in RAISES and isinstance(original, type) and issubclass(original, BaseException):
                choices = [n for n in UNRELATED if not issubclass(getattr(builtins, n), original)
                           and not issubclass(original, getattr(builtins, n))]
                if choices:
                    sites.append(_Site(*file.span(raised), rng.choice(choices), "raises"))
    return sites


def _usable(node: ast.FunctionDef, file: _File) -> bool:
    """A test whose canary surely runs and reaches its changed assertion: no skip/xfail/parametrize
    decorators or calls, no yield, no early return."""
    for decorator in node.decorator_list:
        if UNSAFE.search(file.source(decorator)):
            return False
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Yield, ast.YieldFrom, ast.Return)):
            return False
        if isinstance(sub, ast.Call):
            func = sub.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if UNSAFE.search(called) or called in ("skipTest", "importorskip", "fail"):
                return False
    return True


def _tests(file: _File, hidden: set[str], rng: random.Random) -> list[_Test]:
    found: list[_Test] = []

    def visit(node: ast.FunctionDef, cls: ast.ClassDef | None) -> None:
        if not node.name.startswith("test") or not _usable(node, file):
            return
        sites = tuple(site for statement in node.body for site in _sites(file, statement, rng))
        if sites:
            test_id = "::".join(p for p in (file.path, cls.name if cls else None, node.name) if p)
            found.append(_Test(file.path, node, cls, sites, test_id in hidden))

    for item in file.tree.body:
        if isinstance(item, ast.FunctionDef):
            visit(item, None)
        elif isinstance(item, ast.ClassDef) and not any(UNSAFE.search(file.source(d))
                                                      for d in item.decorator_list):
            testcase = any("TestCase" in file.source(base) for base in item.bases)
            if item.name.startswith("Test") or testcase:
                for member in item.body:
                    if isinstance(member, ast.FunctionDef):
                        visit(member, item)
    return found


def _name(source: str, taken: set[str], words: list[str], rng: random.Random) -> str | None:
    """A new test name in the file's own words: the source's name with its last word(s) replaced."""
    parts = source.split("_")
    for attempt in range(20):
        keep = parts[:max(1, len(parts) - rng.choice((1, 1, 2)))]
        fresh = [w for w in words if w not in keep] or (words if attempt > 10 else [])
        tail = rng.sample(fresh, k=min(len(fresh), rng.choice((1, 2)))) if fresh else [f"{rng.randrange(2, 99)}"]
        name = "_".join(keep + tail)
        if name not in taken and name.startswith("test") and name.isidentifier():
            return name
    return None


def _words(names: Iterable[str]) -> list[str]:
    words = {w for name in names for w in name.split("_")[1:] if w.isidentifier() and not w.isdigit() and len(w) > 1}
    return sorted(words)


def plan(files: Mapping[str, str], seed: int, *, hidden: Iterable[str] = (), known: Iterable[str] = (),
         count: tuple[int, int] = (2, 4)) -> Plan:
    """Canaries for test ``files`` (path -> the text the tests will run with) and the patch that adds them.

    ``hidden`` are the test ids the verdict rests on (preferred sources); ``known`` every id a canary's
    must differ from. Files that do not parse (or have no usable test) are left alone; the plan may be
    empty.
    """
    rng = random.Random(seed)
    hidden_ids, known_ids = set(hidden), set(known) | set(hidden)
    parsed: dict[str, _File] = {}
    candidates: list[_Test] = []
    for path in sorted(files):
        try:
            parsed[path] = _File(path, files[path])
        except (SyntaxError, ValueError):
            continue
        candidates += _tests(parsed[path], hidden_ids, rng)
    if not candidates:
        return Plan((), "", seed)
    wanted = rng.randint(*count)
    pool = [t for t in candidates if t.hidden] or candidates
    chosen: list[tuple[_Test, _Site]] = []
    shapes_used: set[str] = set()
    for _ in range(wanted):
        test = rng.choice(pool)
        fresh = [s for s in test.sites if s.shape not in shapes_used]
        site = rng.choice(fresh or list(test.sites))
        shapes_used.add(site.shape)
        chosen.append((test, site))
    inserts: dict[str, list[tuple[int, int, str]]] = {}
    canaries: list[Canary] = []
    taken_by_scope: dict[tuple[str, str | None], set[str]] = {}
    for test, site in chosen:
        file = parsed[test.path]
        scope_nodes = test.cls.body if test.cls else file.tree.body
        scope = [n for n in scope_nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        key = (test.path, test.cls.name if test.cls else None)
        taken = taken_by_scope.setdefault(key, {n.name for n in scope} | {i.split("::")[-1] for i in known_ids})
        vocabulary = _words([n.name for n in scope if n.name.startswith("test")] + [
            f"_{n.id}" for n in ast.walk(test.node) if isinstance(n, ast.Name) and n.id.islower()])
        name = _name(test.node.name, taken, vocabulary, rng)
        if name is None:
            continue
        taken.add(name)
        first = min([test.node.lineno] + [d.lineno for d in test.node.decorator_list])
        start = file.pos(first, 0)
        end = file.pos(test.node.end_lineno, test.node.end_col_offset)  # type: ignore[arg-type]
        body = file.text[start:site.start] + site.text + file.text[site.end:end]
        body = re.sub(rf"\bdef\s+{re.escape(test.node.name)}\b", f"def {name}", body, count=1)
        neighbours = [n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        after = rng.choice(neighbours)
        at = file.pos(after.end_lineno, after.end_col_offset)  # type: ignore[arg-type]
        gap = "\n\n" if test.cls else "\n\n\n"
        inserts.setdefault(test.path, []).append((at, 1 if test.cls else 0, gap + body))
        canaries.append(Canary(test.path, name, test.cls.name if test.cls else None, site.shape, test.node.name))
    changed = {}
    for path, items in inserts.items():
        text = parsed[path].text
        # from the end backwards; at one offset (a class and its last method end together) the top-level
        # block goes in first, so that the method's lands before it, inside the class
        for at, _, block in sorted(items, key=lambda item: (-item[0], item[1])):
            text = text[:at] + block + text[at:]
        changed[path] = text
    return Plan(tuple(canaries), make_patch({p: parsed[p].text for p in changed}, changed), seed)
