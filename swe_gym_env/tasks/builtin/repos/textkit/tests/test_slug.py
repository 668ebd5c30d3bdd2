import pytest

from textkit import slugify


def test_basic_slug():
    assert slugify("Hello World") == "hello-world"


def test_punctuation_runs_collapse():
    assert slugify("Hello,   World!!  Again") == "hello-world-again"


def test_leading_and_trailing_junk_removed():
    assert slugify("  --Hello--  ") == "hello"


def test_accents_are_reduced_to_ascii():
    assert slugify("Crème Brûlée à la carte") == "creme-brulee-a-la-carte"


def test_non_latin_characters_are_dropped():
    assert slugify("日本 tokyo") == "tokyo"


def test_digits_are_kept():
    assert slugify("Python 3.11 released") == "python-3-11-released"


def test_custom_separator():
    assert slugify("Hello World", separator="_") == "hello_world"


def test_keep_case():
    assert slugify("Hello World", lowercase=False) == "Hello-World"


def test_lowercase_drops_nothing_but_case():
    assert slugify("ABC def", lowercase=True) == "abc-def"


def test_empty_text():
    assert slugify("") == ""
    assert slugify("!!!") == ""


def test_max_length_does_not_cut_words():
    assert slugify("the quick brown fox", max_length=12) == "the-quick"


def test_max_length_exact_word_end():
    assert slugify("the quick brown fox", max_length=9) == "the-quick"


def test_max_length_long_first_word_is_cut():
    assert slugify("internationalization rocks", max_length=5) == "inter"


def test_max_length_not_reached():
    assert slugify("short", max_length=10) == "short"
    assert slugify("short", max_length=5) == "short"


def test_max_length_equal_to_slug_length():
    assert slugify("ab cd", max_length=5) == "ab-cd"


def test_max_length_one():
    assert slugify("ab cd", max_length=1) == "a"


def test_max_length_must_be_positive():
    with pytest.raises(ValueError, match="max_length must be at least 1, got 0"):
        slugify("text", max_length=0)


def test_empty_separator_rejected():
    with pytest.raises(ValueError, match="separator must not be empty"):
        slugify("text", separator="")


def test_non_string_rejected():
    with pytest.raises(TypeError, match="expects a str, got int"):
        slugify(42)
