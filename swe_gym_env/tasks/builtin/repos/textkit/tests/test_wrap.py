import pytest

from textkit import truncate, wrap


def test_wrap_simple():
    assert wrap("the quick brown fox jumps", width=10) == ["the quick", "brown fox", "jumps"]


def test_wrap_line_exactly_full():
    assert wrap("abcd efgh ij", width=9) == ["abcd efgh", "ij"]


def test_wrap_one_over():
    assert wrap("abcd efghi", width=9) == ["abcd", "efghi"]


def test_wrap_collapses_whitespace():
    assert wrap("  a   b \n c  ", width=20) == ["a b c"]


def test_wrap_empty():
    assert wrap("", width=10) == []
    assert wrap("   ", width=10) == []


def test_wrap_default_width():
    text = " ".join(["word"] * 30)
    lines = wrap(text)
    assert lines[0] == " ".join(["word"] * 14)
    assert all(len(line) <= 70 for line in lines)
    assert len(lines) == 3


def test_wrap_with_indent():
    assert wrap("aa bb cc dd", width=7, indent="> ") == ["> aa bb", "> cc dd"]


def test_wrap_breaks_long_words():
    assert wrap("abcdefghij", width=4) == ["abcd", "efgh", "ij"]


def test_wrap_breaks_long_word_after_text():
    assert wrap("xy abcdefgh z", width=4) == ["xy", "abcd", "efgh", "z"]


def test_wrap_long_word_exact_multiple():
    assert wrap("abcdefgh", width=4) == ["abcd", "efgh"]


def test_wrap_keeps_long_words_when_asked():
    assert wrap("xy abcdefgh z", width=4, break_long_words=False) == ["xy", "abcdefgh", "z"]


def test_wrap_width_one():
    assert wrap("ab c", width=1) == ["a", "b", "c"]


def test_wrap_invalid_width():
    with pytest.raises(ValueError, match="width must be at least 1, got 0"):
        wrap("text", width=0)


def test_wrap_indent_too_long():
    with pytest.raises(ValueError, match="indent must be shorter than width"):
        wrap("text", width=4, indent="    ")


def test_truncate_short_text_untouched():
    assert truncate("hello", 10) == "hello"
    assert truncate("hello", 5) == "hello"


def test_truncate_adds_ellipsis():
    assert truncate("hello world", 8) == "hello..."


def test_truncate_result_length():
    assert len(truncate("abcdefghijklmnop", 10)) == 10
    assert truncate("abcdefghijklmnop", 10) == "abcdefg..."


def test_truncate_strips_trailing_space_before_ellipsis():
    assert truncate("hello world", 9) == "hello..."


def test_truncate_custom_ellipsis():
    assert truncate("hello world", 6, ellipsis="~") == "hello~"


def test_truncate_empty_ellipsis():
    assert truncate("hello world", 4, ellipsis="") == "hell"


def test_truncate_cuts_mid_word_by_default():
    assert truncate("the quick brown fox", 15) == "the quick br..."


def test_truncate_word_boundary():
    assert truncate("the quick brown fox", 15, word_boundary=True) == "the quick..."


def test_truncate_word_boundary_single_word():
    assert truncate("internationalization", 10, word_boundary=True) == "interna..."


def test_truncate_length_equal_to_ellipsis():
    assert truncate("hello", 3) == "..."


def test_truncate_ellipsis_too_long():
    with pytest.raises(ValueError, match="ellipsis is longer"):
        truncate("hello", 2)


def test_truncate_negative_length():
    with pytest.raises(ValueError, match="length must not be negative, got -1"):
        truncate("hello", -1)


def test_truncate_zero_length_with_empty_text():
    assert truncate("", 0) == ""
