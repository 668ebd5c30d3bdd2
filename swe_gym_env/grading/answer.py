"""SWE-RL's answer format: ``<think>``/``<solution>`` around SEARCH/REPLACE edit blocks - read, applied, written.

An answer is ``<think>...</think><solution>...</solution>``; the solution holds edit blocks, each in a
fenced code block::

    ```python
    ### path/to/file.py
    <<<<<<< SEARCH
    the exact lines to find
    =======
    the lines to put there
    >>>>>>> REPLACE
    ```

The rules are SWE-RL's (Wei et al. 2025): each of the four tags exactly once, a non-empty thought, at
least one edit block, every SEARCH found in the file (matched from the start of a line) and no SEARCH
identical to its REPLACE; a SEARCH replaces every place it matches, and blocks apply in order.
Breaking a rule raises :class:`~swe_gym_env.errors.AnswerFormatError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import AnswerFormatError

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
SOLUTION_OPEN, SOLUTION_CLOSE = "<solution>", "</solution>"
SEARCH_MARK, DIVIDER, REPLACE_MARK = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"

# A fence (any info string), "### path", SEARCH lines, the divider, REPLACE lines, the closing fence.
_EDIT_BLOCK = re.compile(
    r"```.*?\n### (.*)\n" + re.escape(SEARCH_MARK) + r"\n([\s\S]*?)\n" + re.escape(DIVIDER)
    + r"\n([\s\S]*?)\n" + re.escape(REPLACE_MARK) + r"\n```"
)
_FENCE_LANGUAGE = {".py": "python", ".js": "javascript", ".ts": "typescript", ".go": "go", ".rs": "rust",
                   ".java": "java", ".c": "c", ".h": "c", ".cpp": "cpp", ".rb": "ruby"}


@dataclass(frozen=True)
class Edit:
    """One SEARCH/REPLACE block: in ``path``, the lines ``search`` become ``replace``."""

    path: str
    search: str
    replace: str


def split_answer(output: str) -> tuple[str, str]:
    """(thought, solution), both stripped; every tag must appear exactly once and the thought be non-empty."""
    for tag in (THINK_OPEN, THINK_CLOSE, SOLUTION_OPEN, SOLUTION_CLOSE):
        count = output.count(tag)
        if count != 1:
            raise AnswerFormatError(f"{tag} appears {count} times; it must appear exactly once")
    thought = output.split(THINK_OPEN)[1].split(THINK_CLOSE)[0].strip()
    solution = output.split(SOLUTION_OPEN)[1].split(SOLUTION_CLOSE)[0].strip()
    if not thought:
        raise AnswerFormatError("the thought between <think> and </think> is empty")
    return thought, solution


def parse_edits(solution: str) -> list[Edit]:
    """The edit blocks of a solution, in order (an empty list when there are none)."""
    return [Edit(path, search, replace) for path, search, replace in _EDIT_BLOCK.findall(solution)]


def apply_edits(files: Mapping[str, str], edits: Sequence[Edit]) -> dict[str, str]:
    """The new content of every file the edits touch (a file not in ``files`` starts empty).

    Per file, the blocks apply in order; a SEARCH is looked for at the start of a line and every
    match is replaced.
    """
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    out: dict[str, str] = {}
    for path, blocks in by_path.items():
        content = "\n" + files.get(path, "")  # the leading newline anchors a SEARCH at a line start
        for edit in blocks:
            if edit.search == edit.replace:
                raise AnswerFormatError(f"a SEARCH block for {path} is identical to its REPLACE block")
            search, replace = "\n" + edit.search, "\n" + edit.replace
            if search not in content:
                raise AnswerFormatError(f"a SEARCH block for {path} is not in the file: {edit.search[:200]!r}")
            content = content.replace(search, replace)
        out[path] = content[1:]
    return out


def read_answer(output: str, files: Mapping[str, str]) -> tuple[str, list[Edit], dict[str, str]]:
    """(thought, edits, new contents of the edited files) of a model's answer; raises on a format error."""
    thought, solution = split_answer(output)
    edits = parse_edits(solution)
    if not edits:
        raise AnswerFormatError("the solution holds no SEARCH/REPLACE edit block")
    return thought, edits, apply_edits(files, edits)


# -- writing answers ---------------------------------------------------------------------------------
def edits_for(path: str, old: str, new: str, *, merge_gap: int = 2) -> list[Edit]:
    """Edit blocks that turn ``old`` into ``new`` under :func:`apply_edits`.

    One block per changed region (regions at most ``merge_gap`` unchanged lines apart share one),
    each SEARCH widened by context lines until it matches exactly once in the file as it is when the
    block applies, and never empty unless the file is new.
    """
    if old == new:
        return []
    if not old:
        return [Edit(path, "", new)]
    old_lines, new_lines = old.split("\n"), new.split("\n")
    regions: list[list[int]] = []  # [i1, i2, j1, j2]: old_lines[i1:i2] becomes new_lines[j1:j2]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if regions and i1 - regions[-1][1] <= merge_gap:
            regions[-1][1], regions[-1][3] = i2, j2
        else:
            regions.append([i1, i2, j1, j2])
    edits: list[Edit] = []
    content = old
    shift = 0  # lines the earlier blocks added (or removed, negative)
    for i1, i2, j1, j2 in regions:
        current = content.split("\n")
        start, end = i1 + shift, i2 + shift  # the region's old lines in the current content
        changed = new_lines[j1:j2]
        above = below = 0
        while True:
            search = current[start - above : end + below]
            replace = current[start - above : start] + changed + current[end : end + below]
            text = "\n".join(search)
            unique = ("\n" + content).count("\n" + text) == 1
            if search and unique and search != replace and (changed or above or below):
                break
            grow_above = start - above > 0 and (above <= below or end + below >= len(current))
            if grow_above:
                above += 1
            elif end + below < len(current):
                below += 1
            else:  # the whole file: it matches once by construction
                search, replace = current, current[:start] + changed + current[end:]
                break
        edit = Edit(path, "\n".join(search), "\n".join(replace))
        edits.append(edit)
        content = apply_edits({path: content}, [edit])[path]
        shift += len(changed) - (i2 - i1)
    return edits


def fence_language(path: str) -> str:
    for suffix, language in _FENCE_LANGUAGE.items():
        if path.endswith(suffix):
            return language
    return ""


def format_edits(edits: Sequence[Edit]) -> str:
    """The edit blocks as a solution: one fenced block per edit."""
    blocks = [
        f"```{fence_language(e.path)}\n### {e.path}\n{SEARCH_MARK}\n{e.search}\n{DIVIDER}\n{e.replace}\n{REPLACE_MARK}\n```"
        for e in edits
    ]
    return "\n".join(blocks)


def format_answer(thought: str, edits: Sequence[Edit]) -> str:
    """A whole answer: the thought and the edit blocks inside their tags."""
    return f"{THINK_OPEN}\n{thought.strip()}\n{THINK_CLOSE}\n{SOLUTION_OPEN}\n{format_edits(edits)}\n{SOLUTION_CLOSE}"
