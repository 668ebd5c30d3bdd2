"""Problem statements for synthesized tasks: bug reports written from symptoms, never from the diff.

The material is what a user would see - the failing checks' assertion output and exceptions, the
function's name and documentation, and (for tasks mined from history) the commit message - and
every line that repeats a line of the gold patch is dropped, so the fix never leaks into the text.
Wording varies with a seed taken from the instance id, so a set of tasks does not read like one
template.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..patches import split_patch
from ..pysource import parse_python

MAX_EXAMPLE_LINES = 12
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt))(?::|$)")
_DID_NOT_RAISE = re.compile(r"DID NOT RAISE\s*<class '([\w.]+)'>")
_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")


@dataclass(frozen=True)
class Evidence:
    """What is known about a bug from the outside."""

    function: str = ""  # qualified name, e.g. "Interval.overlaps"
    module: str = ""  # import path, e.g. "intervals.interval"
    docstring: str = ""
    failures: Mapping[str, str] = field(default_factory=dict)  # failing test id -> its failure text
    timed_out: bool = False
    commit_message: str = ""


def module_name(path: str, python_path: Sequence[str] = ()) -> str:
    """``src/pkg/mod.py`` -> ``pkg.mod`` (``__init__`` dropped)."""
    for root in python_path:
        if path.startswith(root.rstrip("/") + "/"):
            path = path[len(root.rstrip("/")) + 1 :]
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def docstring_summary(source: str, qualname: str) -> str:
    """The first paragraph of the docstring of ``qualname`` in ``source`` (one line), or ''."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return ""
    node: ast.AST = tree
    for part in qualname.replace(".<locals>", "").split("."):
        found = next(
            (
                c
                for c in ast.iter_child_nodes(node)
                if isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and c.name == part
            ),
            None,
        )
        if found is None:
            return ""
        node = found
    doc = ast.get_docstring(node) or ""  # type: ignore[arg-type]
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


def patch_lines(patch: str) -> set[str]:
    """The changed lines of a patch (stripped, the short and trivial ones left out)."""
    lines = set()
    for part in split_patch(patch):
        for line in part.text.splitlines():
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                text = line[1:].strip()
                if len(text) >= 6 and not re.fullmatch(r"[\W_]*(return|pass|else:|try:|\w+)?[\W_]*", text):
                    lines.add(text)
    return lines


def leaks(text: str, forbidden: Iterable[str]) -> list[str]:
    """The forbidden lines that appear in ``text``."""
    return [line for line in forbidden if line and line in text]


def failure_details(output: str) -> dict[str, str]:
    """Failure text per pytest section header (``test_x``, ``TestA.test_b[1]``) from a ``-rA`` log."""
    details: dict[str, list[str]] = {}
    current: str | None = None
    for line in output.splitlines():
        match = _SECTION.match(line.strip())
        if match:
            current = match.group(1)
            details.setdefault(current, [])
            continue
        if line.startswith("=") and ("short test summary" in line or "PASSES" in line):
            current = None
        if current is not None and line.startswith("E "):
            details[current].append(line[1:].strip())
    return {name: "\n".join(lines) for name, lines in details.items() if lines}


def failures_for(test_ids: Iterable[str], output: str) -> dict[str, str]:
    """Failure texts of ``test_ids`` found in a pytest log."""
    sections = failure_details(output)
    out = {}
    for test_id in test_ids:
        header = ".".join(part for part in test_id.split("::")[1:])
        if header in sections:
            out[test_id] = sections[header]
    return out


def _pick(seed: str, options: Sequence[str], salt: str = "") -> str:
    digest = int(hashlib.sha256(f"{seed}:{salt}".encode()).hexdigest(), 16)
    return options[digest % len(options)]


def _clean(message: str, forbidden: set[str]) -> list[str]:
    lines = []
    for line in message.splitlines():
        line = line.rstrip()
        if not line.strip() or leaks(line, forbidden):
            continue
        lines.append(line)
        if len(lines) >= MAX_EXAMPLE_LINES:
            break
    return lines


def _symptom(evidence: Evidence) -> tuple[str, str]:
    """(kind, detail): ``hang``, ``no_raise`` (the exception expected), ``raises`` (its type) or
    ``wrong`` - whichever most failures show (a wrong result wins ties)."""
    if evidence.timed_out:
        return "hang", ""
    votes: Counter = Counter()
    for message in evidence.failures.values():
        match = _DID_NOT_RAISE.search(message)
        if match:
            votes[("no_raise", match.group(1).rsplit(".", 1)[-1])] += 1
            continue
        raised = ""
        for line in message.splitlines():
            found = _EXCEPTION.match(line.strip())
            if found and found.group(1).rsplit(".", 1)[-1] not in ("AssertionError", "Failed"):
                raised = found.group(1).rsplit(".", 1)[-1]
                break
        votes[("raises", raised) if raised else ("wrong", "")] += 1
    if not votes:
        return "wrong", ""
    best = max(votes.values())
    winners = [kind for kind, count in votes.items() if count == best]
    return ("wrong", "") if ("wrong", "") in winners else sorted(winners)[0]


def _title_from_commit(subject: str) -> str:
    subject = re.sub(
        r"^\s*(?:\[[^\]]*\]\s*)?(?:bug\s*fix|fix(?:e[sd])?|bug|hotfix)(?:\([^)]*\))?\s*[:\-]?\s*",
        "",
        subject,
        flags=re.IGNORECASE,
    ).strip()
    subject = re.sub(r"\s*\(#\d+\)\s*$", "", subject)
    return (subject[:1].upper() + subject[1:]) if subject else ""


def bug_report(evidence: Evidence, *, forbidden: Iterable[str] = (), seed: str = "") -> str:
    """A bug report for ``evidence``: a title line, what breaks, how it shows, what was expected."""
    forbidden = set(forbidden)
    short = evidence.function.split(".<locals>.")[-1] if evidence.function else ""
    target = (
        f"`{evidence.module}.{evidence.function}()`"
        if evidence.module and evidence.function
        else (f"`{short}()`" if short else "the library")
    )
    name = f"`{short}()`" if short else "it"
    kind, detail = _symptom(evidence)
    subject = (
        _title_from_commit(evidence.commit_message.strip().splitlines()[0])
        if evidence.commit_message.strip()
        else ""
    )
    if subject and not leaks(subject, forbidden):
        title = subject
    elif kind == "hang":
        title = _pick(
            seed, (f"{name} never returns", f"{name} hangs on some inputs", f"Infinite loop in {name}"), "t"
        )
    elif kind == "no_raise":
        title = _pick(
            seed,
            (
                f"{name} no longer raises {detail} for invalid input",
                f"{name} silently accepts bad input",
                f"Missing {detail} from {name}",
            ),
            "t",
        )
    elif kind == "raises":
        title = _pick(
            seed, (f"{name} raises {detail}", f"{detail} from {name}", f"{name} crashes with {detail}"), "t"
        )
    else:
        title = _pick(
            seed,
            (
                f"{name} returns wrong results",
                f"Wrong result from {name}",
                f"{name} gives an incorrect answer",
                f"Unexpected output from {name}",
            ),
            "t",
        )
    paragraphs = [title]
    if evidence.commit_message.strip():
        body = [
            line
            for line in evidence.commit_message.strip().splitlines()[1:]
            if not re.match(r"^\s*(signed-off-by|co-authored-by|change-id):", line, re.IGNORECASE)
        ]
        body_text = "\n".join(_clean("\n".join(body), forbidden)).strip()
        if body_text:
            paragraphs.append(body_text)
    opener = _pick(seed, ("I'm using", "I use", "I ran into a problem with", "Something is off with"), "o")
    doc = (
        f' (documented as: "{evidence.docstring.rstrip(".")}.")'
        if evidence.docstring and not leaks(evidence.docstring, forbidden)
        else ""
    )
    symptom = {
        "hang": "For some inputs it never returns - the call has to be killed.",
        "no_raise": f"For input it should reject it no longer raises `{detail}`; it carries on instead.",
        "raises": f"It raises `{detail}` for input that should work.",
        "wrong": _pick(
            seed,
            (
                "It returns a wrong value in some cases.",
                "Some calls give a result that is not right.",
                "The result is wrong for some inputs.",
            ),
            "s",
        ),
    }[kind]
    paragraphs.append(f"{opener} {target}{doc}. {symptom}")
    examples: list[str] = []
    for test_id in sorted(evidence.failures):
        lines = _clean(evidence.failures[test_id], forbidden)
        block = "```\n" + "\n".join(lines) + "\n```"
        if lines and block not in examples:
            examples.append(block)
        if len(examples) == 2:
            break
    if examples:
        paragraphs.append(
            _pick(
                seed,
                (
                    "Here is what a small check against it reports:",
                    "What I see:",
                    "A minimal check shows it:",
                    "For example:",
                ),
                "e",
            )
        )
        paragraphs += examples
    paragraphs.append(
        _pick(
            seed,
            (
                "I'd expect it to behave as documented.",
                "Could this be fixed?",
                "Other inputs seem fine; only these cases go wrong.",
                "Expected the correct result, without the error.",
            ),
            "c",
        )
    )
    text = "\n\n".join(paragraphs).strip() + "\n"
    return text
