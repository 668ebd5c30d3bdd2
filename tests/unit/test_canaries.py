"""Canaries made from real tests: every shape fails where its source passes, and nothing marks them out."""

import ast
import random
import re
import subprocess
import sys
import textwrap

import pytest

from swe_gym_env.grading.canaries import plan
from swe_gym_env.patches import apply_patch

MODULE = '''def double(x):
    return 2 * x


def words(text):
    return text.split()


def parse(text):
    if not text:
        raise ValueError("empty")
    return int(text)
'''
TESTS = '''import unittest

import pytest

from mod import double, parse, words


def test_double_small():
    value = double(2)
    assert value == 4
    assert value > 3


def test_double_list():
    assert double([1]) == [1, 1]


def test_words_split():
    assert "b" in words("a b")
    assert words("a b") == ["a", "b"]
    assert words("") != ["x"]
    assert words("x")


def test_parse_empty_raises():
    with pytest.raises(ValueError):
        parse("")


@pytest.mark.skip(reason="not this one")
def test_skipped_never_a_source():
    assert double(1) == 2


@pytest.mark.parametrize("x", [1, 2])
def test_parametrized_never_a_source(x):
    assert double(x) == 2 * x


def test_loop_assertion_is_left_alone():
    for x in range(3):
        assert double(x) == 2 * x


class TestCaseStyle(unittest.TestCase):
    def test_double_method(self):
        self.assertEqual(double(3), 6)
        self.assertTrue(double(1))

    def test_parse_method(self):
        with self.assertRaises(ValueError):
            parse("")


class TestPlain:
    def test_words_method(self):
        assert words("a") == ["a"]
'''


def run_pytest(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", "test_mod.py"],
                          cwd=tmp_path, capture_output=True, text=True)
    return {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()
            if line.startswith(("PASSED ", "FAILED ", "ERROR ", "SKIPPED "))}


@pytest.mark.parametrize("seed", range(12))
def test_every_canary_fails_and_every_real_test_still_passes(tmp_path, seed):
    result = plan({"test_mod.py": TESTS}, seed, count=(3, 5))
    assert 3 <= len(result.canaries) <= 5
    after = apply_patch({"test_mod.py": TESTS}, result.patch)["test_mod.py"]
    ast.parse(after)
    status = run_pytest(tmp_path, {"mod.py": MODULE, "test_mod.py": after})
    for canary in result.canaries:
        assert status.get(canary.test_id) == "FAILED", (canary, status)
    real = {k: v for k, v in status.items() if k not in {c.test_id for c in result.canaries}}
    assert real and all(v in ("PASSED", "SKIPPED") for v in real.values()), real
    assert result.seed == seed


def test_shapes_vary_and_sources_are_never_unsafe():
    shapes, sources = set(), set()
    for seed in range(40):
        for canary in plan({"test_mod.py": TESTS}, seed, count=(4, 4)).canaries:
            shapes.add(canary.shape)
            sources.add(canary.source)
    assert shapes == {"literal", "flip", "raises"}
    assert not {"test_skipped_never_a_source", "test_parametrized_never_a_source",
                "test_loop_assertion_is_left_alone"} & sources
    assert {"test_double_method", "test_parse_method"} & sources  # unittest methods too


def test_the_same_seed_gives_the_same_canaries_and_others_differ():
    first, again = plan({"test_mod.py": TESTS}, 7), plan({"test_mod.py": TESTS}, 7)
    assert first == again
    ids = {tuple(c.test_id for c in plan({"test_mod.py": TESTS}, seed).canaries) for seed in range(20)}
    assert len(ids) > 10


def test_hidden_tests_are_the_preferred_sources():
    hidden = ["test_mod.py::test_parse_empty_raises"]
    for seed in range(10):
        assert {c.source for c in plan({"test_mod.py": TESTS}, seed, hidden=hidden).canaries} == {"test_parse_empty_raises"}


def test_names_are_new_and_made_of_the_files_words():
    vocabulary = {w for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", TESTS) for w in name.split("_")}
    for seed in range(30):
        result = plan({"test_mod.py": TESTS}, seed, known=["test_mod.py::test_double_small_split"])
        for canary in result.canaries:
            existing = {n.name for n in ast.walk(ast.parse(TESTS)) if isinstance(n, ast.FunctionDef)}
            assert canary.name not in existing and canary.name != "test_double_small_split"
            assert "canary" not in canary.name and set(canary.name.split("_")) <= vocabulary | {str(n) for n in range(100)}
        assert "canary" not in result.patch.lower()


def test_literals_keep_the_files_quoting():
    text = textwrap.dedent('''\
        def test_one():
            assert name() == "abc"
            assert tag() == 'xyz'
        ''')
    changed = set()
    for seed in range(30):
        result = plan({"t.py": text}, seed, count=(1, 1))
        for line in result.patch.splitlines():
            if line.startswith("+") and "==" in line:
                changed.add(line)
    assert any('name() == "' in line for line in changed) and any("tag() == '" in line for line in changed)
    assert not any("name() == '" in line for line in changed)


def test_files_that_do_not_parse_or_have_no_usable_test_give_no_plan():
    assert plan({"bad.py": "def test_x(:\n"}, 1).canaries == ()
    assert plan({"t.py": "def helper():\n    assert 1 == 1\n"}, 1).patch == ""
    assert plan({}, 1).canaries == ()


def test_positions_vary_in_the_file():
    positions = set()
    for seed in range(30):
        result = plan({"test_mod.py": TESTS}, seed, count=(1, 1))
        after = apply_patch({"test_mod.py": TESTS}, result.patch)["test_mod.py"]
        names = [n.name for n in ast.parse(after).body if isinstance(n, ast.FunctionDef)]
        if result.canaries[0].cls is None:
            positions.add(names.index(result.canaries[0].name))
    assert len(positions) >= 4


def test_random_sources_do_not_leak_between_plans():
    rng_state = random.getstate()
    plan({"test_mod.py": TESTS}, 3)
    assert random.getstate() == rng_state
