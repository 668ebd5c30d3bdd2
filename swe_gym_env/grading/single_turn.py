"""SWE-RL's single-turn reward: an answer's SEARCH/REPLACE edits against the oracle change, file by file.

``score_answer(context, oracle_new, output)`` follows Wei et al. 2025: -1 on any format error (see
:mod:`.answer`); else the edits are applied to the context files, each changed file's unified diff
(3 lines of context, no headers) is computed for the prediction and for the oracle, and the reward is
the mean over the union of changed files of ``difflib.SequenceMatcher(None, pred, oracle,
autojunk=False).ratio()``, a file changed on one side only scoring 0. No container is involved.
:func:`answer_patch` turns the predicted files into a patch for the real grader.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import AnswerFormatError, TaskError
from ..patches import make_patch
from .answer import read_answer

FORMAT_ERROR_REWARD = -1.0


def file_diff(old: str, new: str, context_lines: int = 3) -> str:
    """The unified diff of one file's lines without its two header lines ("" when nothing changed)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile="old", tofile="new",
                                      lineterm="", n=context_lines))
    return "\n".join(lines[2:])


def changed_files(context: Mapping[str, str], new_contents: Mapping[str, str]) -> dict[str, str]:
    """path -> diff, for the files whose new content differs (as lines) from the context (absent: empty)."""
    diffs = {path: file_diff(context.get(path, ""), new) for path, new in new_contents.items()}
    return {path: diff for path, diff in diffs.items() if diff}


def change_similarities(predicted: Mapping[str, str], oracle: Mapping[str, str]) -> dict[str, float]:
    """path -> similarity of the two diffs, over the union of changed files; one side missing scores 0."""
    out = {}
    for path in sorted(set(predicted) | set(oracle)):
        pred, gold = predicted.get(path, ""), oracle.get(path, "")
        out[path] = difflib.SequenceMatcher(None, pred, gold, autojunk=False).ratio() if pred and gold else 0.0
    return out


@dataclass(frozen=True)
class SingleTurnScore:
    """The reward of one answer and how it came about."""

    reward: float
    error: str = ""  # the format error, when the reward is -1
    similarities: Mapping[str, float] = field(default_factory=dict)  # per changed file (either side)
    predicted: Mapping[str, str] = field(default_factory=dict)  # new content of every file the answer edits
    thought: str = ""

    @property
    def well_formed(self) -> bool:
        return not self.error


def score_answer(context: Mapping[str, str], oracle_new: Mapping[str, str], output: str) -> SingleTurnScore:
    """SWE-RL's reward of the model ``output`` (see the module docstring).

    ``context`` maps paths to the files' content before the change (the files the model was shown);
    ``oracle_new`` maps the paths the oracle change touches to their content after it.
    """
    oracle = changed_files(context, oracle_new)
    if not oracle:
        raise TaskError("the oracle changes no file: nothing to compare an answer with")
    try:
        thought, _edits, predicted = read_answer(output, context)
    except AnswerFormatError as error:
        return SingleTurnScore(FORMAT_ERROR_REWARD, error=str(error))
    similarities = change_similarities(changed_files(context, predicted), oracle)
    reward = sum(similarities.values()) / len(similarities)
    return SingleTurnScore(reward, similarities=similarities, predicted=predicted, thought=thought)


def single_turn_reward(context: Mapping[str, str], oracle_new: Mapping[str, str], output: str) -> float:
    """The reward alone: -1 for a malformed answer, else the mean per-file diff similarity in [0, 1]."""
    return score_answer(context, oracle_new, output).reward


def is_repository_path(path: str) -> bool:
    """A relative, normalized path inside the repository (no ``..``, no absolute path, no odd characters)."""
    return (
        bool(path)
        and not path.startswith("/")
        and posixpath.normpath(path) == path
        and path != "."
        and not path.startswith("../")
        and ".." not in path.split("/")
        and not any(ch in path for ch in "\\\n\r\t\0")
        and path.isprintable()
    )


def answer_patch(context: Mapping[str, str], predicted: Mapping[str, str]) -> str:
    """A git-style patch of the predicted files against the context, for grading in the task's sandbox.

    A path outside the repository raises :class:`AnswerFormatError`; a file not in the context is a new file.
    """
    bad = [path for path in predicted if not is_repository_path(path)]
    if bad:
        raise AnswerFormatError(f"edit path(s) outside the repository: {', '.join(repr(p) for p in bad[:3])}")
    before = {path: context[path] for path in predicted if path in context}
    return make_patch(before, dict(predicted))
