"""SWE-RL's rule-based reward: how close a predicted patch is to the oracle patch, file by file."""

from __future__ import annotations

import difflib

from ..patches import split_patch


def patch_similarity(predicted: str, oracle: str) -> float:
    """SWE-RL's reward: -1 for unusable output, else the mean per-file difflib ratio against the oracle.

    Files are the union of both patches' files; a file only one side changes scores 0.
    """
    predicted_files = {part.path: part.text for part in split_patch(predicted or "")}
    if not predicted_files:
        return -1.0
    oracle_files = {part.path: part.text for part in split_patch(oracle or "")}
    paths = sorted(set(predicted_files) | set(oracle_files))
    ratios = [
        difflib.SequenceMatcher(None, predicted_files.get(path, ""), oracle_files.get(path, ""), autojunk=False).ratio()
        for path in paths
    ]
    return sum(ratios) / len(ratios)
