"""Task synthesis without Docker: mutation operators, hidden tests, bug reports, sources, the driver."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from swe_gym_env.patches import apply_patch, make_patch
from swe_gym_env.synth import driver as driver_module
from swe_gym_env.synth.hidden import hide_tests, remove_tests, split_test_id
from swe_gym_env.synth.mutate import OPERATORS, interleave, mutations, mutations_of_file
from swe_gym_env.synth.repo import (
    builtin_source,
    commit_of_files,
    directory_source,
    git_source,
    is_test_path,
    parse_source,
)
from swe_gym_env.synth.statements import (
    Evidence,
    bug_report,
    docstring_summary,
    failure_details,
    leaks,
    module_name,
    patch_lines,
)

SOURCE = '''"""A module."""

LIMIT = 10


def clamp(value, low=0, high=LIMIT):
    """Clamp ``value`` into [low, high]."""
    if value < low:
        return low
    if value > high:
        return high
    return value


class Box:
    def area(self, width, height):
        total = width * height
        total += 1
        return total - 1

    def fits(self, item, size):
        return item <= size and size > 0

    def parts(self, items, n):
        if n:
            out = items[:n]
        else:
            out = list(items)
        return [x for x in range(len(out))] + divmod(n, 2)[0:1]

    def check(self, flag):
        return not flag
'''


def diff_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    patch = make_patch({"m.py": old}, {"m.py": new})
    body = [line for line in patch.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return [line[1:] for line in body if line[0] == "-"], [line[1:] for line in body if line[0] == "+"]


def test_every_operator_makes_a_small_parseable_change():
    found = mutations_of_file("m.py", SOURCE)
    assert {m.operator for m in found} == set(OPERATORS)
    for mutation in found:
        ast.parse(mutation.text)
        removed, added = diff_lines(SOURCE, mutation.text)
        assert removed and len(removed) <= 4, mutation
        assert mutation.text != SOURCE
    described = {(m.operator, m.description) for m in found}
    assert ("compare", "< -> <=") in described and ("binop", "* -> /") in described
    assert ("boolop", "and -> or") in described and ("augassign", "+= -> -=") in described
    assert ("wrong_return", "drop `not`") in described and (
        "swap_args",
        "swap arguments of divmod()",
    ) in described


def test_mutations_stay_in_function_bodies():
    """Signatures, defaults, decorators, docstrings and module-level code are never touched."""
    for mutation in mutations_of_file("m.py", SOURCE):
        removed, _ = diff_lines(SOURCE, mutation.text)
        assert not any(line.startswith(("def ", "LIMIT", '"""', "class ")) for line in removed), mutation
        assert mutation.function in {"clamp", "Box.area", "Box.fits", "Box.parts", "Box.check"}


def test_function_lines_match_code_objects():
    namespace: dict = {}
    exec(compile(SOURCE, "m.py", "exec"), namespace)
    first_lines = {
        "clamp": namespace["clamp"].__code__.co_firstlineno,
        "Box.area": namespace["Box"].area.__code__.co_firstlineno,
    }
    for mutation in mutations_of_file("m.py", SOURCE):
        if mutation.function in first_lines:
            assert mutation.function_line == first_lines[mutation.function]
            assert mutation.coverage_key == f"m.py:{first_lines[mutation.function]}"


def test_remove_branch_keeps_blocks_valid():
    branches = [m for m in mutations_of_file("m.py", SOURCE) if m.operator == "remove_branch"]
    texts = [m.text for m in branches]
    assert any("if value < low" not in t and "if value > high" in t for t in texts)
    assert any("else:" not in t and "out = items[:n]" in t for t in texts)  # the else branch went


def test_mutants_are_deterministic_and_interleaved():
    files = {p: builtin_source("textkit").text(p) for p in builtin_source("textkit").source_files()}
    first = [m.id for m in interleave(mutations(files), seed=3)]
    again = [m.id for m in interleave(mutations(files), seed=3)]
    other = [m.id for m in interleave(mutations(files), seed=4)]
    assert first == again and first != other and sorted(first) == sorted(other)
    assert len(first) == len(set(first)) > 100
    head = [m.split(":")[1] for m in first[:10]]
    assert len(set(head)) >= 8  # the first candidates spread over different functions


def test_hide_and_restore_tests():
    text = (
        "import pytest\n\n\n"
        "def test_a():\n    assert True\n\n\n"
        "@pytest.mark.parametrize('x', [1, 2])\n"
        "def test_b(x):\n    assert x\n\n\n"
        "class TestC:\n    def test_c1(self):\n        pass\n\n    def test_c2(self):\n        pass\n\n\n"
        "class TestD:\n    def test_d(self):\n        pass\n"
    )
    assert split_test_id("t/test_x.py::TestC::test_c1[1-2]") == ("t/test_x.py", ("TestC", "test_c1"))
    new, removed = remove_tests(text, [("test_b",), ("TestC", "test_c1"), ("TestD", "test_d")])
    assert removed == {("test_b",), ("TestC", "test_c1"), ("TestD", "test_d")}
    tree = ast.parse(new)
    names = [n.name for n in tree.body if hasattr(n, "name")]
    assert names == ["test_a", "TestC"]  # TestD lost its only test, so the class went
    assert "test_c2" in new and "parametrize" not in new
    files = {"t/test_x.py": text}
    changed, not_hidden = hide_tests(files, ["t/test_x.py::test_b[1]", "t/test_x.py::made_by_factory"])
    assert not_hidden == ["t/test_x.py::made_by_factory"]
    patch = make_patch(changed, files)
    assert apply_patch(changed, patch) == files


def test_statements_read_like_bug_reports_and_never_leak_the_fix():
    gold = make_patch(
        {"pkg/m.py": "def f(x):\n    return x - 1  # buggy\n"},
        {"pkg/m.py": "def f(x):\n    return x + 1  # fixed\n"},
    )
    forbidden = patch_lines(gold)
    assert forbidden == {"return x - 1  # buggy", "return x + 1  # fixed"}
    evidence = Evidence(
        function="f",
        module="pkg.m",
        docstring="Add one.",
        failures={
            "tests/test_m.py::test_f": "assert 1 == 3\n+  where 1 = f(2)\nreturn x + 1  # fixed",
            "tests/test_m.py::test_g": "TypeError: unsupported operand",
        },
    )
    text = bug_report(evidence, forbidden=forbidden, seed="x")
    assert "`pkg.m.f()`" in text and "TypeError" in text and "where 1 = f(2)" in text
    assert not leaks(text, forbidden) and "diff --git" not in text
    assert bug_report(evidence, forbidden=forbidden, seed="x") == text
    seeds = {bug_report(evidence, forbidden=forbidden, seed=str(i)).splitlines()[0] for i in range(12)}
    assert len(seeds) > 1  # the wording varies
    hang = bug_report(Evidence(function="g", timed_out=True), seed="s")
    assert "never returns" in hang or "hangs" in hang or "Infinite loop" in hang
    no_raise = bug_report(
        Evidence(function="h", failures={"t": "Failed: DID NOT RAISE <class 'ValueError'>"}), seed="s"
    )
    assert "ValueError" in no_raise.splitlines()[0] or "bad input" in no_raise.splitlines()[0]
    from_commit = bug_report(
        Evidence(function="f", commit_message="Fix: f adds the wrong amount (#12)\n\nSigned-off-by: a"),
        seed="s",
    )
    assert from_commit.startswith("F adds the wrong amount\n") and "Signed-off-by" not in from_commit


def test_statement_helpers():
    assert module_name("src/pkg/sub/mod.py", ("src",)) == "pkg.sub.mod"
    assert module_name("pkg/__init__.py") == "pkg"
    assert docstring_summary(SOURCE, "clamp") == "Clamp ``value`` into [low, high]."
    assert docstring_summary(SOURCE, "Box.area") == ""
    log = "____ test_f ____\n\n>   assert f(2) == 3\nE   assert 1 == 3\n\n____ TestA.test_b[1] ____\nE   KeyError: 'x'\n"
    assert failure_details(log) == {"test_f": "assert 1 == 3", "TestA.test_b[1]": "KeyError: 'x'"}


def test_builtin_source_and_its_image_is_the_builtin_one():
    from swe_gym_env.backends.docker.builtin_images import repo_image_tag

    source = builtin_source("textkit")
    assert source.name == "swe-gym/textkit" and source.version
    assert source.image_tag() == repo_image_tag("textkit")
    assert all(is_test_path(p) for p in source.test_files()) and "tests/test_slug.py" in source.test_files()
    assert "textkit/slug.py" in source.source_files() and not any(
        p.startswith("tests/") for p in source.source_files()
    )
    assert parse_source("builtin:textkit") == source


def test_directory_and_git_sources(tmp_path):
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("X = 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_pkg.py").write_text("def test_x():\n    pass\n")
    (root / "build").mkdir()
    (root / "build" / "junk.py").write_text("")
    source = directory_source(root)
    assert set(source.files) == {"src/pkg/__init__.py", "tests/test_pkg.py"}
    assert source.python_path == ("src",) and source.recipe().env == ("PYTHONPATH=/testbed/src",)
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@b",
    }
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=env)
    subprocess.run(["git", "add", "src", "tests"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "one"], cwd=root, check=True, env=env)
    from_git = git_source(root)
    assert from_git.files == source.files and from_git.origin["kind"] == "git"
    assert ".git" not in "".join(from_git.files)


def test_recipe_refuses_git_directories():
    from swe_gym_env.backends.docker.images import RepoImage

    with pytest.raises(ValueError, match=".git"):
        RepoImage("swe-gym-env/x", {".git/config": b""})


def test_commit_of_files_is_stable():
    files = {"a.py": b"x = 1\n", "run.sh": b"echo\n", ".gitignore": b"*.log\n", "out.log": b"ignored\n"}
    assert commit_of_files(files) == commit_of_files(dict(reversed(list(files.items()))))
    assert commit_of_files(files) == commit_of_files({k: v for k, v in files.items() if k != "out.log"})
    assert commit_of_files(files) != commit_of_files({**files, "a.py": b"x = 2\n"})


@pytest.fixture
def textkit_copy(tmp_path):
    root = tmp_path / "testbed"
    for name, data in builtin_source("textkit").files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_driver(root: Path, command: str, spec: dict, tmp_path: Path) -> Path:
    spec_path, out_path = tmp_path / "spec.json", tmp_path / f"out-{command}.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "SWE_GYM_TESTBED": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        [sys.executable, driver_module.__file__, command, str(spec_path), str(out_path)],
        env=env,
        check=True,
        timeout=300,
        cwd=root,
    )
    return out_path


def test_driver_baseline_and_screening_on_the_host(textkit_copy, tmp_path):
    """The in-container driver, run here against a copy of textkit: coverage, outcomes, mutants."""
    source = builtin_source("textkit")
    tests = ["tests/test_slug.py", "tests/test_numerals.py"]
    out = json.loads(
        run_driver(
            textkit_copy,
            "baseline",
            {"tests": tests, "sources": source.source_files(), "repeats": 2},
            tmp_path,
        ).read_text()
    )
    assert len(out["runs"]) == 2
    outcomes = out["runs"][0]["outcomes"]
    assert outcomes and set(outcomes.values()) == {"PASSED"}
    assert "tests/test_slug.py::test_basic_slug" in outcomes
    slug_text = source.text("textkit/slug.py")
    line = next(i for i, text in enumerate(slug_text.splitlines(), 1) if text.startswith("def slugify"))
    covered = out["covers"][f"textkit/slug.py:{line}"]
    assert "tests/test_slug.py::test_basic_slug" in covered
    assert not any(t.startswith("tests/test_numerals.py") for t in covered)

    mutants = [m for m in mutations({"textkit/slug.py": slug_text}) if m.function == "slugify"][:3]
    spec = {
        "mutants": [{"id": m.id, "path": m.path, "text": m.text, "tests": covered} for m in mutants],
        "repeats": 2,
        "timeout": 60,
    }
    rows = [
        json.loads(line)
        for line in run_driver(textkit_copy, "screen", spec, tmp_path).read_text().splitlines()
    ]
    assert [row["id"] for row in rows] == [m.id for m in mutants]
    assert (textkit_copy / "textkit/slug.py").read_text() == slug_text  # every mutant was reverted
    for row in rows:
        failing = [t for t, s in row["runs"][0]["outcomes"].items() if s == "FAILED"]
        if failing:
            assert len(row["runs"]) == 2  # confirmed by a second run
            assert row["runs"][0]["messages"][failing[0]]


def test_shipped_synth_set_matches_the_builtin_libraries():
    """The shipped set is valid only for the libraries it was made from: catch drift here, not at reset."""
    from swe_gym_env.backends.docker.builtin_images import repo_image_tag
    from swe_gym_env.tasks.builtin import SYNTH_TASKS_FILE, repo_files
    from swe_gym_env.tasks.task import load_tasks

    if not SYNTH_TASKS_FILE.is_file():
        pytest.skip("no shipped synthesized set")
    tasks = load_tasks("synth")
    assert len(tasks) >= 200 and len({t.instance_id for t in tasks}) == len(tasks)
    libraries = {t.repo.split("/")[1] for t in tasks}
    tags = {lib: repo_image_tag(lib) for lib in libraries}
    texts = {lib: {p: d.decode() for p, d in repo_files(lib).items()} for lib in libraries}
    for task in tasks:
        library = task.repo.split("/")[1]
        assert task.image == tags[library], (
            f"{task.instance_id}: rebuild the set (`swe-gym-env tasks synth ...`)"
        )
        assert task.runnable and task.FAIL_TO_PASS and task.PASS_TO_PASS and task.test_patch
        start = apply_patch(texts[library], task.setup_patch)
        assert apply_patch(start, task.patch)  # the gold patch applies to the starting state
        assert not leaks(task.problem_statement, patch_lines(task.patch))
    assert shutil.which("git")
