import pytest

from textkit import join_words, ordinal, pluralize


@pytest.mark.parametrize(
    "word,plural",
    [
        ("cat", "cats"),
        ("box", "boxes"),
        ("bus", "buses"),
        ("buzz", "buzzes"),
        ("church", "churches"),
        ("dish", "dishes"),
        ("city", "cities"),
        ("fly", "flies"),
        ("y", "ys"),
        ("child", "children"),
        ("person", "people"),
        ("mouse", "mice"),
        ("sheep", "sheep"),
        ("series", "series"),
        ("knife", "knives"),
        ("leaf", "leaves"),
        ("roof", "roofs"),
        ("hero", "heroes"),
        ("photo", "photos"),
    ],
)
def test_pluralize(word, plural):
    assert pluralize(word) == plural


def test_pluralize_count_one_is_singular():
    assert pluralize("box", count=1) == "box"
    assert pluralize("box", count=-1) == "box"


def test_pluralize_count_zero_and_many():
    assert pluralize("box", count=0) == "boxes"
    assert pluralize("box", count=5) == "boxes"


def test_pluralize_keeps_capitalisation():
    assert pluralize("Child") == "Children"
    assert pluralize("City") == "Cities"
    assert pluralize("Wolf") == "Wolves"


def test_pluralize_upper_case_word():
    assert pluralize("BOX") == "BOXES"
    assert pluralize("CAT") == "CATS"
    assert pluralize("MOUSE") == "MICE"


def test_pluralize_single_capital_letter():
    assert pluralize("A") == "As"


def test_pluralize_empty():
    assert pluralize("") == ""


@pytest.mark.parametrize(
    "number,expected",
    [
        (0, "0th"),
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (10, "10th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (14, "14th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (101, "101st"),
        (102, "102nd"),
        (-1, "-1st"),
        (-12, "-12th"),
    ],
)
def test_ordinal(number, expected):
    assert ordinal(number) == expected


def test_ordinal_rejects_non_int():
    with pytest.raises(TypeError, match="expects an int, got str"):
        ordinal("1")
    with pytest.raises(TypeError, match="expects an int, got bool"):
        ordinal(False)


def test_join_words_empty_and_single():
    assert join_words([]) == ""
    assert join_words(["tea"]) == "tea"


def test_join_words_two():
    assert join_words(["tea", "coffee"]) == "tea and coffee"


def test_join_words_three_with_oxford_comma():
    assert join_words(["tea", "coffee", "milk"]) == "tea, coffee, and milk"


def test_join_words_without_oxford_comma():
    assert join_words(["tea", "coffee", "milk"], oxford_comma=False) == "tea, coffee and milk"


def test_join_words_conjunction():
    assert join_words(["tea", "coffee"], conjunction="or") == "tea or coffee"
    assert join_words(["a", "b", "c", "d"], conjunction="or") == "a, b, c, or d"


def test_join_words_converts_items():
    assert join_words([1, 2, 3]) == "1, 2, and 3"
