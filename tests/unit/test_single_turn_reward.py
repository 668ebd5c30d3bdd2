"""SWE-RL's single-turn reward: the answer format, SEARCH/REPLACE application and per-file diff similarity."""

import difflib

import pytest

from swe_gym_env.errors import AnswerFormatError, TaskError
from swe_gym_env.grading.answer import (
    Edit,
    apply_edits,
    edits_for,
    format_answer,
    parse_edits,
    read_answer,
    split_answer,
)
from swe_gym_env.grading.single_turn import (
    answer_patch,
    file_diff,
    is_repository_path,
    score_answer,
    single_turn_reward,
)
from swe_gym_env.patches import apply_patch

A_OLD = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
A_NEW = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
B_OLD = "X = 1\nY = 2\n"
B_NEW = "X = 1\nY = 3\n"
CONTEXT = {"a.py": A_OLD, "b.py": B_OLD, "c.py": "unrelated = True\n"}


def block(path, search, replace, fence="```python"):
    return f"{fence}\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```"


def answer(*blocks, thought="the sign is wrong"):
    return f"<think>\n{thought}\n</think>\n<solution>\n" + "\n".join(blocks) + "\n</solution>"


GOLD_A = block("a.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b")


def ratio(pred, gold):
    return difflib.SequenceMatcher(None, pred, gold, autojunk=False).ratio()


def test_the_oracle_edit_scores_one():
    score = score_answer(CONTEXT, {"a.py": A_NEW}, answer(GOLD_A))
    assert score.reward == 1.0 and score.well_formed and score.similarities == {"a.py": 1.0}
    assert score.predicted == {"a.py": A_NEW} and score.thought == "the sign is wrong"


@pytest.mark.parametrize(
    "output, message",
    [
        (answer(GOLD_A) + "<think>again</think>", "<think> appears 2 times"),
        (answer(GOLD_A).replace("</solution>", "</solution></solution>"), "</solution> appears 2 times"),
        (answer(GOLD_A).replace("<solution>", ""), "<solution> appears 0 times"),
        ("no tags at all", "appears 0 times"),
        (answer(GOLD_A, thought="   \n "), "thought"),
        (answer("I would change the sign."), "no SEARCH/REPLACE edit block"),
        (answer(block("a.py", "return a * b", "return a + b")), "not in the file"),
        (answer(block("a.py", "def add(a, b):", "def add(a, b):")), "identical"),
        (answer(block("missing.py", "x = 1", "x = 2")), "not in the file"),
        # a block without its closing fence is no block at all
        (answer(GOLD_A[:-3]), "no SEARCH/REPLACE edit block"),
    ],
)
def test_format_errors_score_minus_one(output, message):
    score = score_answer(CONTEXT, {"a.py": A_NEW}, output)
    assert score.reward == -1.0 and not score.well_formed
    assert message in score.error


def test_one_bad_block_among_good_ones_is_a_format_error():
    output = answer(GOLD_A, block("b.py", "Y = 5", "Y = 3"))
    assert single_turn_reward(CONTEXT, {"a.py": A_NEW}, output) == -1.0


def test_search_must_start_at_a_line_start():
    # "return a - b" is inside a line: SWE-RL anchors a SEARCH at a line start (indentation matters)
    output = answer(block("a.py", "return a - b", "return a + b"))
    assert score_answer(CONTEXT, {"a.py": A_NEW}, output).error.startswith("a SEARCH block for a.py is not")


def test_a_search_replaces_every_match():
    output = answer(block("a.py", "    return a - b", "    return a + b"))
    score = score_answer(CONTEXT, {"a.py": A_NEW}, output)
    assert score.predicted["a.py"].count("return a + b") == 2
    assert 0 < score.reward < 1


def test_a_file_changed_on_one_side_only_scores_zero():
    wrong_file = answer(block("b.py", "Y = 2", "Y = 3"))
    score = score_answer(CONTEXT, {"a.py": A_NEW}, wrong_file)
    assert score.similarities == {"a.py": 0.0, "b.py": 0.0} and score.reward == 0.0
    extra_file = answer(GOLD_A, block("b.py", "Y = 2", "Y = 3"))
    score = score_answer(CONTEXT, {"a.py": A_NEW}, extra_file)
    assert score.similarities == {"a.py": 1.0, "b.py": 0.0} and score.reward == 0.5


def test_multi_file_changes_average_the_per_file_similarity():
    oracle = {"a.py": A_NEW, "b.py": B_NEW}
    near_b = block("b.py", "Y = 2", "Y = 4")
    score = score_answer(CONTEXT, oracle, answer(GOLD_A, near_b))
    expected_b = ratio(file_diff(B_OLD, "X = 1\nY = 4\n"), file_diff(B_OLD, B_NEW))
    assert score.similarities["a.py"] == 1.0 and score.similarities["b.py"] == pytest.approx(expected_b)
    assert score.reward == pytest.approx((1.0 + expected_b) / 2)
    half = score_answer(CONTEXT, oracle, answer(GOLD_A))
    assert half.reward == 0.5  # b.py is changed by the oracle only


def test_similarity_is_the_ratio_of_the_unified_diffs():
    pred_new = A_OLD.replace("return a - b", "return b + a", 1)
    output = answer(block("a.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return b + a"))
    expected = ratio(file_diff(A_OLD, pred_new), file_diff(A_OLD, A_NEW))
    assert single_turn_reward(CONTEXT, {"a.py": A_NEW}, output) == pytest.approx(expected)
    assert file_diff(A_OLD, A_NEW).startswith("@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a - b\n+    return a + b")


def test_edits_that_cancel_out_change_nothing_and_score_zero():
    there_and_back = answer(block("b.py", "Y = 2", "Y = 9"), block("b.py", "Y = 9", "Y = 2"))
    score = score_answer(CONTEXT, {"a.py": A_NEW}, there_and_back)
    assert score.well_formed and score.reward == 0.0 and score.similarities == {"a.py": 0.0}


def test_new_files_need_an_empty_search():
    output = answer(block("new.py", "", "print('hi')"))
    score = score_answer(CONTEXT, {"new.py": "print('hi')\n"}, output)
    assert score.reward == 1.0  # diffs are of lines: the final newline does not count


def test_an_oracle_without_change_is_a_bad_record():
    with pytest.raises(TaskError):
        score_answer(CONTEXT, {"a.py": A_OLD}, answer(GOLD_A))


def test_parse_keeps_order_and_any_fence():
    text = block("a.py", "s1", "r1", fence="```") + "\nprose\n" + block("b.py", "s2", "r2", fence="```py")
    assert parse_edits(text) == [Edit("a.py", "s1", "r1"), Edit("b.py", "s2", "r2")]
    with pytest.raises(AnswerFormatError):
        split_answer("<think></think><solution>x</solution>")


@pytest.mark.parametrize(
    "old, new",
    [
        (A_OLD, A_NEW),
        ("x\n" * 5 + "y\n", "x\n" * 5 + "z\n"),  # repeated lines need context to be unique
        ("a\nb\nc\n", "a\nc\n"),  # a deletion keeps context so no empty line remains
        ("a\nb\nc\n", "b\nc\n"),  # deleting the first line
        ("a\nb\nc\n", "a\nb\nc\nd\n"),  # appending
        ("a\nb\nc", "a\nb\nc\nd"),  # no final newline
        ("a\n", "new\na\n"),  # inserting at the top
        ("", "fresh\nfile\n"),  # a new file
        ("one\ntwo\nthree\nfour\nfive\nsix\nseven\n", "1\ntwo\nthree\nfour\nfive\nsix\n7\n"),  # two blocks
        ("p\nq\np\nq\n", "p\nQ\np\nq\n"),  # the first of two identical pairs
        ("def f():\n    pass\n", "def f():\n    return 1\n"),
    ],
)
def test_written_edits_reproduce_the_new_content(old, new):
    edits = edits_for("m.py", old, new)
    assert edits and all(e.search != e.replace for e in edits)
    assert apply_edits({"m.py": old}, edits)["m.py"] == new
    output = format_answer("fix it", edits)
    assert read_answer(output, {"m.py": old})[2] == {"m.py": new}
    assert single_turn_reward({"m.py": old}, {"m.py": new}, output) == 1.0


def test_answer_patch_applies_and_refuses_paths_outside_the_repository():
    predicted = {"a.py": A_NEW, "pkg/new.py": "x = 1\n"}
    patch = answer_patch(CONTEXT, predicted)
    assert apply_patch(CONTEXT, patch) == {**CONTEXT, **predicted}
    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b.py", "a\\b.py", "", "./a.py", "a//b.py"):
        assert not is_repository_path(bad)
        with pytest.raises(AnswerFormatError):
            answer_patch(CONTEXT, {bad: "x"})
