"""Procedural bugs: AST-located, text-level mutations of the bodies of a repository's functions.

Each operator finds nodes in a function body (never in its signature, decorators or nested
definitions) and rewrites only the characters of that node, so a mutant differs from the original
by the smallest possible diff and keeps the file's formatting. Operators:

``binop`` (``+`` <-> ``-``, ``*`` -> ``/``, ...), ``compare`` (``<`` <-> ``<=``, ``==`` <-> ``!=``,
``in`` <-> ``not in``, ...), ``boolop`` (``and`` <-> ``or``), ``negate`` (drop or add ``not`` in a
condition), ``constant`` (integer +-1, ``True`` <-> ``False``), ``off_by_one`` (slice bounds and
``range`` limits +1), ``remove_branch`` (an ``if`` without ``else``, or an ``else`` branch),
``swap_args`` (the first two positional arguments of a call), ``wrong_return`` (a boolean result
negated), ``augassign`` (``+=`` <-> ``-=``).

Everything is deterministic: the same files and seed give the same mutants in the same order.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..pysource import parse_python

OPERATORS = (
    "binop",
    "compare",
    "boolop",
    "negate",
    "constant",
    "off_by_one",
    "remove_branch",
    "swap_args",
    "wrong_return",
    "augassign",
)

BINOP = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"),
    ast.Mod: ("%", "//"),
    ast.Pow: ("**", "*"),
    ast.BitAnd: ("&", "|"),
    ast.BitOr: ("|", "&"),
    ast.LShift: ("<<", ">>"),
    ast.RShift: (">>", "<<"),
}
COMPARE = {
    ast.Lt: (r"<(?!=)", "<="),
    ast.LtE: (r"<=", "<"),
    ast.Gt: (r">(?!=)", ">="),
    ast.GtE: (r">=", ">"),
    ast.Eq: (r"==", "!="),
    ast.NotEq: (r"!=", "=="),
    ast.In: (r"\bin\b", "not in"),
    ast.NotIn: (r"\bnot\s+in\b", "in"),
    ast.Is: (r"\bis\b", "is not"),
    ast.IsNot: (r"\bis\s+not\b", "is"),
}
AUGASSIGN = {ast.Add: ("+=", "-="), ast.Sub: ("-=", "+="), ast.Mult: ("*=", "//="), ast.BitOr: ("|=", "&=")}
NO_SWAP_CALLS = {
    "max",
    "min",
    "print",
    "sum",
    "any",
    "all",
    "zip",
    "dict",
    "set",
    "frozenset",
    "getattr",
    "setattr",
    "hasattr",
    "isinstance",
    "issubclass",
    "super",
    "log",
    "debug",
    "info",
    "warning",
    "error",
    "format",
}
SIMPLE = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript)


@dataclass(frozen=True)
class Mutation:
    """One mutant of one file; ``text`` is the whole mutated file. ``description`` is for logs only."""

    id: str
    path: str
    function: str  # qualified name, e.g. "Interval.overlaps"
    function_line: int  # the function's code object's co_firstlineno (first decorator or ``def``)
    operator: str
    line: int
    description: str
    text: str

    @property
    def coverage_key(self) -> str:
        return f"{self.path}:{self.function_line}"


class _Positions:
    """Character offsets of AST positions (whose columns count UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node) : self.end(node)]


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    new: str
    operator: str
    line: int
    description: str


def functions(tree: ast.AST) -> Iterator[tuple[str, int, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, co_firstlineno, node) of every function and method, nested ones included."""

    def visit(
        node: ast.AST, prefix: str
    ) -> Iterator[tuple[str, int, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                name = f"{prefix}{child.name}"
                yield name, first, child
                yield from visit(child, f"{name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def _body_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """(node, parent) for the nodes of a function body, without nested definitions, f-strings,
    annotations or the docstring."""
    body = list(function.body)
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    stack: list[tuple[ast.AST, ast.AST | None]] = [(node, function) for node in reversed(body)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.JoinedStr)):
            continue
        yield node, parent
        children = []
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment"):
                continue
            items = value if isinstance(value, list) else [value]
            children += [(item, node) for item in items if isinstance(item, ast.AST)]
        stack.extend(reversed(children))


def _find_token(pos: _Positions, left: ast.AST, right: ast.AST, pattern: str) -> tuple[int, int] | None:
    """The span of the one match of ``pattern`` between two nodes (None if not exactly one)."""
    start, end = pos.end(left), pos.start(right)
    segment = pos.text[start:end]
    if "#" in segment:
        return None
    matches = list(re.finditer(pattern, segment))
    if len(matches) != 1:
        return None
    return start + matches[0].start(), start + matches[0].end()


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
    )


def _plus_one(pos: _Positions, node: ast.AST) -> str:
    text = pos.segment(node)
    return (
        f"{text} + 1"
        if isinstance(node, SIMPLE) or isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))
        else f"({text}) + 1"
    )


def _whole_lines(pos: _Positions, node: ast.stmt) -> tuple[int, int] | None:
    """The span of the full lines of a statement, if nothing else shares them."""
    line_start = pos.starts[node.lineno - 1]
    if pos.text[line_start : pos.start(node)].strip():
        return None
    end = pos.end(node)
    line_end = pos.starts[node.end_lineno] if node.end_lineno < len(pos.starts) else len(pos.text)  # type: ignore[operator]
    rest = pos.text[end:line_end]
    if rest.strip() and not rest.strip().startswith("#"):
        return None
    return line_start, line_end


def _edits(pos: _Positions, node: ast.AST, parent: ast.AST | None) -> Iterator[_Edit]:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP:
        old, new = BINOP[type(node.op)]
        if not (_is_str(node.left) or _is_str(node.right)):
            span = _find_token(
                pos, node.left, node.right, re.escape(old) + (r"(?![*/=])" if old in ("*", "/") else "")
            )
            if span:
                yield _Edit(*span, new, "binop", line, f"{old} -> {new}")
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if type(op) not in COMPARE:
                continue
            pattern, new = COMPARE[type(op)]
            span = _find_token(pos, operands[index], operands[index + 1], pattern)
            if span:
                yield _Edit(*span, new, "compare", line, f"{pos.text[span[0] : span[1]]} -> {new}")
    elif isinstance(node, ast.BoolOp):
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:]):
            span = _find_token(pos, left, right, rf"\b{old}\b")
            if span:
                yield _Edit(*span, new, "boolop", line, f"{old} -> {new}")
                break
    elif isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        test = node.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            yield _Edit(
                pos.start(test), pos.end(test), pos.segment(test.operand), "negate", line, "drop `not`"
            )
        elif not isinstance(node, ast.Assert):
            text = pos.segment(test)
            new = f"not {text}" if isinstance(test, SIMPLE) else f"not ({text})"
            yield _Edit(pos.start(test), pos.end(test), new, "negate", line, "negate condition")
    if (
        isinstance(node, ast.Constant)
        and type(node.value) in (int, bool)
        and not isinstance(parent, ast.JoinedStr)
    ):
        value = node.value
        if isinstance(value, bool):
            new = "False" if value else "True"
        else:
            new = {0: "1", 1: "0"}.get(value, str(value + 1))
        text = pos.segment(node)
        if text.isdigit() or text in ("True", "False"):
            yield _Edit(pos.start(node), pos.end(node), new, "constant", line, f"{text} -> {new}")
    elif isinstance(node, ast.Slice):
        for bound in (node.upper, node.lower):
            if bound is not None and not isinstance(bound, ast.Constant):
                yield _Edit(
                    pos.start(bound),
                    pos.end(bound),
                    _plus_one(pos, bound),
                    "off_by_one",
                    line,
                    "slice bound + 1",
                )
                break
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and node.args
        and not any(isinstance(a, ast.Starred) for a in node.args)
    ):
        target = node.args[0] if len(node.args) == 1 else node.args[1]
        yield _Edit(
            pos.start(target), pos.end(target), _plus_one(pos, target), "off_by_one", line, "range bound + 1"
        )
    if (
        isinstance(node, ast.Call)
        and len(node.args) >= 2
        and not any(isinstance(a, ast.Starred) for a in node.args[:2])
    ):
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first, second = node.args[0], node.args[1]
        if name not in NO_SWAP_CALLS and pos.segment(first) != pos.segment(second):
            between = pos.text[pos.end(first) : pos.start(second)]
            if "#" not in between and "\n" not in between:
                yield _Edit(
                    pos.start(first),
                    pos.end(second),
                    pos.segment(second) + between + pos.segment(first),
                    "swap_args",
                    line,
                    f"swap arguments of {name}()",
                )
    if isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
            yield _Edit(
                pos.start(value),
                pos.end(value),
                pos.segment(value.operand),
                "wrong_return",
                line,
                "drop `not`",
            )
        elif isinstance(value, (ast.Compare, ast.BoolOp)):
            yield _Edit(
                pos.start(value),
                pos.end(value),
                f"not ({pos.segment(value)})",
                "wrong_return",
                line,
                "negate returned condition",
            )
    if isinstance(node, ast.AugAssign) and type(node.op) in AUGASSIGN:
        old, new = AUGASSIGN[type(node.op)]
        span = _find_token(pos, node.target, node.value, re.escape(old))
        if span:
            yield _Edit(*span, new, "augassign", line, f"{old} -> {new}")
    if isinstance(node, ast.If) and isinstance(
        parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try)
    ):
        yield from _branch_edits(pos, node, parent)


def _siblings(parent: ast.AST, node: ast.stmt) -> list[ast.stmt]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(item is node for item in block):
            return block
    for handler in getattr(parent, "handlers", []) or []:
        if any(item is node for item in handler.body):
            return handler.body
    return []


def _branch_edits(pos: _Positions, node: ast.If, parent: ast.AST) -> Iterator[_Edit]:
    line_text = pos.lines[node.lineno - 1][
        len(pos.lines[node.lineno - 1].encode()[: node.col_offset].decode("utf-8", "ignore")) :
    ]
    if not line_text.startswith("if"):
        return  # an elif: its text belongs to the enclosing if
    if not node.orelse:
        span = _whole_lines(pos, node)
        if span is None:
            return
        block = _siblings(parent, node)
        indent = pos.text[span[0] : pos.start(node)]
        replacement = "" if len(block) > 1 else f"{indent}pass\n"
        yield _Edit(span[0], span[1], replacement, "remove_branch", node.lineno, "remove an if block")
        return
    first = node.orelse[0]
    if isinstance(first, ast.If) and len(node.orelse) == 1:
        else_line = first.lineno - 1
        if pos.lines[else_line].strip().startswith("elif"):
            return
    else_index = next(
        (
            i
            for i in range(first.lineno - 2, node.body[-1].end_lineno - 1, -1)  # type: ignore[operator]
            if pos.lines[i].strip().startswith("else") and pos.lines[i].strip().rstrip(":").strip() == "else"
        ),
        None,
    )
    if else_index is None:
        return
    last = node.orelse[-1]
    end_line = last.end_lineno  # type: ignore[attr-defined]
    start = pos.starts[else_index]
    end = pos.starts[end_line] if end_line < len(pos.starts) else len(pos.text)
    if pos.text[pos.end(last) : end].strip() and not pos.text[pos.end(last) : end].strip().startswith("#"):
        return
    yield _Edit(start, end, "", "remove_branch", else_index + 1, "remove an else branch")


def mutations_of_file(path: str, text: str, operators: Sequence[str] = OPERATORS) -> list[Mutation]:
    """Every mutant of one file, in source order; mutants that do not parse or change nothing are left out."""
    try:
        tree = parse_python(text)
    except SyntaxError:
        return []
    pos = _Positions(text)
    original = ast.dump(tree)
    seen: set[str] = set()
    out: list[Mutation] = []
    for qualname, first_line, function in functions(tree):
        counters: dict[str, int] = {}
        for node, parent in _body_nodes(function):
            for edit in _edits(pos, node, parent):
                if edit.operator not in operators:
                    continue
                new_text = text[: edit.start] + edit.new + text[edit.end :]
                if new_text in seen:
                    continue
                try:
                    mutated = parse_python(new_text)
                except SyntaxError:
                    continue
                if ast.dump(mutated) == original:
                    continue
                seen.add(new_text)
                counters[edit.operator] = counters.get(edit.operator, 0) + 1
                mutation_id = f"{path}:{qualname}:{edit.operator}:{counters[edit.operator]}"
                out.append(
                    Mutation(
                        mutation_id,
                        path,
                        qualname,
                        first_line,
                        edit.operator,
                        edit.line,
                        edit.description,
                        new_text,
                    )
                )
    return out


def mutations(files: Mapping[str, str], operators: Sequence[str] = OPERATORS) -> list[Mutation]:
    """Mutants of every file (sorted by path)."""
    out: list[Mutation] = []
    for path in sorted(files):
        out += mutations_of_file(path, files[path], operators)
    return out


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def interleave(candidates: Sequence[Mutation], seed: int = 0) -> list[Mutation]:
    """A deterministic order that spreads over functions and operators: within each function the
    operators take turns (each in a seeded random order), and functions take turns likewise."""
    by_function: dict[str, dict[str, list[Mutation]]] = {}
    for mutation in candidates:
        key = f"{mutation.path}:{mutation.function}"
        by_function.setdefault(key, {}).setdefault(mutation.operator, []).append(mutation)
    queues: list[list[Mutation]] = []
    for key in sorted(by_function, key=lambda k: _rank(seed, k)):
        groups = [
            sorted(group, key=lambda m: _rank(seed, m.id))
            for _, group in sorted(by_function[key].items(), key=lambda item: _rank(seed, key + item[0]))
        ]
        queue: list[Mutation] = []
        while any(groups):
            for group in groups:
                if group:
                    queue.append(group.pop(0))
        queues.append(queue)
    ordered: list[Mutation] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered
