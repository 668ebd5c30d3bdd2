"""An external SWE-bench-format JSONL (image, eval_script, log_parser per row) graded with no code change.

The test plays the part of someone who built instance images elsewhere: a small repository with a
real git history, one image per task at the base commit (the fix is a *future* commit), and a
JSONL of swebench 5.x rows. load_tasks reads it as it is; gold patches resolve, empty patches do
not. A second image made the careless way - a full clone reset to the base commit - still holds the
fix in its refs and reflog: ``no_way_back`` says so, and ``sanitize_image`` derives one that does not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from steps import git

from swe_gym_env import load_tasks
from swe_gym_env.backends.docker.backend import DockerBackend
from swe_gym_env.backends.docker.client import get_client
from swe_gym_env.backends.docker.images import base_image_tag, build_image, no_way_back, sanitize_image
from swe_gym_env.errors import ImageNotFoundError
from swe_gym_env.grading import Grader
from swe_gym_env.tasks.sources import legacy_eval_script

pytestmark = pytest.mark.docker

CALC_BUGGY = '''def add(a, b):
    return a + b


def mean(values):
    """The arithmetic mean of a non-empty sequence."""
    return sum(values) / (len(values) + 1)
'''
CALC_FIXED = CALC_BUGGY.replace("(len(values) + 1)", "len(values)")
TESTS_BEFORE = """from calc import add, mean


def test_add():
    assert add(2, 3) == 5


def test_mean_single():
    assert mean([0]) == 0
"""
TESTS_AFTER = (
    TESTS_BEFORE
    + """

def test_mean():
    assert mean([1, 2, 3]) == 2
"""
)


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """Two images of the same base commit (clean and careless) and the rows of a JSONL."""
    tmp = tmp_path_factory.mktemp("external")
    upstream = tmp / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "calc.py").write_text(CALC_BUGGY)
    (upstream / "tests").mkdir()
    (upstream / "tests" / "test_calc.py").write_text(TESTS_BEFORE)
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "calc: add and mean")
    base = git(upstream, "rev-parse", "HEAD").strip()
    (upstream / "calc.py").write_text(CALC_FIXED)
    (upstream / "tests" / "test_calc.py").write_text(TESTS_AFTER)
    git(upstream, "commit", "-qam", "Fix mean dividing by one too many")
    fix = git(upstream, "rev-parse", "HEAD").strip()
    gold = git(upstream, "diff", base, fix, "--", "calc.py")
    test_patch = git(upstream, "diff", base, fix, "--", "tests")

    clean = tmp / "clean"  # what an instance image should hold: history up to the base commit only
    git(tmp, "clone", "-q", "--no-local", "--single-branch", "--branch", "main", str(upstream), str(clean))
    git(clean, "reset", "-q", "--hard", base)
    git(clean, "remote", "remove", "origin")
    git(clean, "reflog", "expire", "--expire=now", "--all")
    git(clean, "gc", "-q", "--prune=now")
    careless = tmp / "careless"  # a full clone reset to the base commit: the fix is one `git log --all` away
    git(tmp, "clone", "-q", "--no-local", str(upstream), str(careless))
    git(careless, "reset", "-q", "--hard", base)

    client = get_client()
    dockerfile = f"FROM {base_image_tag()}\nCOPY repo/ /testbed/\nWORKDIR /testbed\n"
    images = {}
    for name, root in (("clean", clean), ("careless", careless)):
        files = {f"repo/{path}": data for path, data in tree_files(root).items()}
        images[name] = build_image(client, f"swe-gym-test/external-{name}:{base[:12]}", dockerfile, files)
    eval_script = legacy_eval_script(
        repo="calc/calc",
        base_commit=base,
        test_patch=test_patch,
        test_cmd="python3 -m pytest -rA -p no:cacheprovider",
        conda=False,
    )
    row = {
        "instance_id": "calc__calc-1",
        "repo": "calc/calc",
        "base_commit": base,
        "problem_statement": "mean([1, 2, 3]) returns 1.5 instead of 2.",
        "patch": gold,
        "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_mean"]),
        "PASS_TO_PASS": json.dumps(["tests/test_calc.py::test_add", "tests/test_calc.py::test_mean_single"]),
        "version": "1.0",
        "image": images["clean"],
        "eval_script": eval_script,
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }
    path = tmp / "external.jsonl"
    path.write_text(
        json.dumps(row)
        + "\n"
        + json.dumps({**row, "instance_id": "calc__calc-1-careless", "image": images["careless"]})
        + "\n"
    )
    yield {"path": path, "images": images, "fix": fix, "base": base}
    for image in images.values():
        client.images.remove(image, force=True)


def test_external_rows_grade_gold_resolved_and_empty_unresolved(external):
    tasks = load_tasks(external["path"])
    assert all(task.runnable and not task.setup_patch for task in tasks)
    backend = DockerBackend(pull_policy="never")
    grader = Grader(backend, timeout=300)
    try:
        for task in tasks:
            gold = grader.grade(task, task.patch)
            assert gold.resolved and gold.reward == 1.0, gold.log_tail
            empty = grader.grade(task, "")
            assert not empty.resolved and empty.fail_to_pass["failure"] == ["tests/test_calc.py::test_mean"]
    finally:
        backend.close()


def test_the_clean_image_has_no_way_back_and_the_careless_one_is_caught_and_sanitized(external):
    raw = DockerBackend(pull_policy="never", sanitize_history=False)
    backend = DockerBackend(pull_policy="never")
    clean, careless = load_tasks(external["path"])

    def audit(task, backend=raw):
        sandbox = backend.start(task, role="audit")
        try:
            problems = no_way_back(sandbox)
            everything = sandbox.exec("git log --all --format=%H; git reflog --format=%H", timeout=60).output
        finally:
            sandbox.close()
        return problems, everything

    sanitized = sanitize_image(get_client(), external["images"]["careless"])
    try:
        import dataclasses

        problems, everything = audit(clean)
        assert problems == [] and external["fix"] not in everything and external["base"] in everything
        problems, everything = audit(careless)
        assert problems and external["fix"] in everything
        problems, everything = audit(dataclasses.replace(careless, image=sanitized))
        assert problems == [] and external["fix"] not in everything
        problems, everything = audit(careless, backend)  # the default backend sanitizes by itself
        assert problems == [] and external["fix"] not in everything and external["base"] in everything
    finally:
        raw.close()
        backend.close()
        get_client().images.remove(sanitized, force=True)


def test_a_missing_image_fails_at_once_when_no_registry_answers(external):
    import dataclasses

    task = dataclasses.replace(
        load_tasks(external["path"])[0], image="swebench/sweb.eval.x86_64.calc_1776_calc-1:latest"
    )
    for policy in ("never", "missing", "always"):
        backend = DockerBackend(pull_policy=policy)
        started = time.monotonic()
        with pytest.raises(ImageNotFoundError):
            backend.start(task)
        assert time.monotonic() - started < 10
        backend.close()
