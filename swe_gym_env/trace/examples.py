"""Execution-trace training examples from tasks' test runs, in the spirit of Execution Tuning (E.T.).

For each task: its repository in a sandbox, the hidden tests applied, and each FAIL_TO_PASS test run
with the ``trace`` tool focused on the function the gold patch changes - once on the buggy starting
code and once with the gold patch applied. An example is *given the code and an input, predict the
trace and the output*: the prompt holds the function's source (with line numbers) and the test; the
answer is the compact trace (the dynamic scratchpad: lines, changed locals, calls, returns) and the
test's outcome. Works for any task with a gold patch (built-in, synthesized, SWE-bench rows)::

    python -m swe_gym_env.trace.examples --tasks builtin --out trace_examples.jsonl
    python -m swe_gym_env.trace.examples --tasks synth --limit 50 --out synth_traces.jsonl.gz
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import logging
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..backends.base import Sandbox
from ..errors import InfraError
from ..patches import split_patch
from ..pysource import parse_python
from ..tasks.task import Task, load_tasks
from ..tools import ToolError
from .options import TraceOptions
from .runner import run_trace

log = logging.getLogger(__name__)

PROMPT = """Predict the execution of this Python code. Here is {path}:

{code}

The test that runs it:

{test}

Write the trace of {function} as the `trace` tool shows it - each executed line as path:line, the \
source, and the local variables it changed - then the test's result."""

MAX_TRACE_LINES = 40  # examples a small model can learn from: a function's path through one test
MAX_TESTS_PER_TASK = 2  # FAIL_TO_PASS tests traced per task and state
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


@dataclass(frozen=True)
class TraceExample:
    """One example: the code and the test (the input), the trace and the result (the target)."""

    task_id: str
    state: str  # "buggy" (the task's starting code) or "fixed" (the gold patch applied)
    test: str  # the pytest node id
    path: str  # the file of the traced function
    function: str
    code: str  # the function's source, numbered as in the file
    test_source: str
    trace: str  # the trace tool's records
    result: str  # "passed", or "failed" with the assertion message

    def prompt(self) -> str:
        return PROMPT.format(path=self.path, code=self.code, test=self.test_source, function=self.function)

    def answer(self) -> str:
        return f"{self.trace}\nresult: {self.result}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def changed_functions(patch: str, files: dict[str, str]) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The (path, function node) pairs whose lines a patch changes, found in ``files`` (path -> text before it)."""
    found: list[tuple[str, Any]] = []
    for part in split_patch(patch):
        if part.old_path is None or part.old_path not in files or not part.old_path.endswith(".py"):
            continue
        try:
            tree = parse_python(files[part.old_path])
        except SyntaxError:
            continue
        functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for match in _HUNK.finditer(part.text):
            start = int(match.group(1))
            end = start + int(match.group(2) or 1) - 1
            inside = [node for node in functions if node.lineno <= end and node.end_lineno >= start]
            if inside:
                innermost = max(inside, key=lambda node: node.lineno)
                if all(node is not innermost for _path, node in found):
                    found.append((part.old_path, innermost))
    return found


def numbered_source(text: str, node: ast.AST) -> str:
    lines = text.split("\n")[node.lineno - 1 : node.end_lineno]
    return "\n".join(f"{number:4}  {line}" for number, line in enumerate(lines, start=node.lineno))


def test_source(sandbox: Sandbox, test_id: str) -> str:
    """The source of the test function a pytest node id names (empty when it cannot be found)."""
    path, _, name = test_id.partition("::")
    name = name.split("[")[0].split("::")[-1]
    try:
        text = sandbox.read_file(path).decode("utf-8", errors="replace")
        tree = parse_python(text)
    except (FileNotFoundError, IsADirectoryError, SyntaxError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return "\n".join(text.split("\n")[node.lineno - 1 : node.end_lineno])
    return ""


def test_result(output: str) -> str:
    """'passed', or 'failed' with the first assertion line pytest printed."""
    if re.search(r"\b1 passed\b", output) and "failed" not in output:
        return "passed"
    errors = [line[1:].strip() for line in output.splitlines() if line.startswith("E ")]
    return "failed" + (f": {errors[0][:200]}" if errors else "")


def _apply(sandbox: Sandbox, patch: str, name: str) -> None:
    path = f"/tmp/.swe-gym-{name}.patch"
    sandbox.write_file(path, patch.encode())
    result = sandbox.exec(f"git apply --whitespace=nowarn {path} && rm -f {path}", timeout=60)
    if not result.ok:
        raise ToolError(f"the {name} patch does not apply: {result.output[-500:]}")


def task_examples(sandbox: Sandbox, task: Task, *, max_tests: int = MAX_TESTS_PER_TASK,
                  max_lines: int = MAX_TRACE_LINES) -> list[TraceExample]:
    """The examples of one task, in a sandbox at its starting state (the sandbox is changed: use a fresh one)."""
    before: dict[str, str] = {}
    for part in split_patch(task.patch):
        if part.old_path and part.old_path.endswith(".py"):
            try:
                before[part.old_path] = sandbox.read_file(part.old_path).decode("utf-8", errors="replace")
            except (FileNotFoundError, IsADirectoryError):
                continue
    targets = changed_functions(task.patch, before)
    if not targets or not task.FAIL_TO_PASS:
        return []
    _apply(sandbox, task.test_patch, "test")
    tests = list(task.FAIL_TO_PASS)[:max_tests]
    examples = []
    for state in ("buggy", "fixed"):
        if state == "fixed":
            _apply(sandbox, task.patch, "gold")
        for path, node in targets[:1]:
            text = sandbox.read_file(path).decode("utf-8", errors="replace")
            current = next((n for n in ast.walk(parse_python(text)) if isinstance(n, type(node)) and n.name == node.name), None)
            if current is None:
                continue
            for test in tests:
                command = f"python3 -m pytest -q -p no:cacheprovider {shlex.quote(test)}"
                outcome = run_trace(sandbox, TraceOptions(command=command, focus=node.name, max_lines=max_lines))
                lines = [record for process in outcome.processes for record in process.records]
                if not lines:
                    continue
                capped = any(process.capped for process in outcome.processes) or len(lines) > max_lines
                trace = "\n".join(lines[:max_lines]) + ("\n[... trace cap reached ...]" if capped else "")
                examples.append(TraceExample(
                    task_id=task.instance_id, state=state, test=test, path=path, function=node.name,
                    code=numbered_source(text, current), test_source=test_source(sandbox, test), trace=trace,
                    result=test_result(outcome.result.output),
                ))
    return examples


def generate(tasks: Iterable[Task], backend: Any, **kwargs: Any) -> list[TraceExample]:
    """Examples from every task with a gold patch; each task in a fresh sandbox of ``backend``."""
    examples: list[TraceExample] = []
    for task in tasks:
        if not task.patch.strip():
            continue
        try:
            sandbox = backend.start(task)
        except InfraError as error:
            log.warning("no sandbox for %s: %s", task.instance_id, error)
            continue
        try:
            examples += task_examples(sandbox, task, **kwargs)
        except (ToolError, InfraError) as error:
            log.warning("no trace examples from %s: %s", task.instance_id, error)
        finally:
            sandbox.close()
    return examples


def write_examples(examples: Sequence[TraceExample], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if target.suffix == ".gz" else open
    with opener(target, "wt", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example.to_json()) + "\n")
    return target


def read_examples(path: str | Path) -> list[TraceExample]:
    source = Path(path)
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as handle:
        return [TraceExample(**json.loads(line)) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="builtin", help="builtin, synth, or a task file")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N tasks")
    parser.add_argument("--max-lines", type=int, default=MAX_TRACE_LINES)
    parser.add_argument("--out", required=True, help=".jsonl or .jsonl.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ..backends.factory import make_backend

    tasks = load_tasks(args.tasks)[: args.limit]
    backend = make_backend("docker", warm_pool=0)
    try:
        examples = generate(tasks, backend, max_lines=args.max_lines)
    finally:
        backend.close()
    write_examples(examples, args.out)
    print(f"{len(examples)} examples from {len(tasks)} tasks written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
