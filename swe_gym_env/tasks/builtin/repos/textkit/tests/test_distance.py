import pytest

from textkit import closest, hamming, levenshtein, similarity


@pytest.mark.parametrize(
    "a,b,distance",
    [
        ("", "", 0),
        ("abc", "abc", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
        ("sitting", "kitten", 3),
        ("flaw", "lawn", 2),
        ("gumbo", "gambol", 2),
        ("a", "b", 1),
        ("ab", "ba", 2),
        ("book", "back", 2),
        ("intention", "execution", 5),
    ],
)
def test_levenshtein(a, b, distance):
    assert levenshtein(a, b) == distance


def test_hamming():
    assert hamming("karolin", "kathrin") == 3
    assert hamming("", "") == 0
    assert hamming("abc", "abc") == 0


def test_hamming_unequal_lengths():
    with pytest.raises(ValueError, match="equal length, got 3 and 2"):
        hamming("abc", "ab")


def test_similarity():
    assert similarity("abcd", "abcf") == 0.75
    assert similarity("abc", "abc") == 1.0
    assert similarity("abc", "xyz") == 0.0
    assert similarity("", "") == 1.0
    assert similarity("", "ab") == 0.0


def test_similarity_uses_longer_length():
    assert similarity("ab", "abcd") == 0.5


def test_closest_picks_best():
    assert closest("appple", ["apply", "apple", "ample"]) == "apple"


def test_closest_none_below_cutoff():
    assert closest("xyz", ["apple", "banana"]) is None


def test_closest_empty_candidates():
    assert closest("apple", []) is None


def test_closest_tie_goes_to_first():
    assert closest("abcd", ["abcx", "abcy"]) == "abcx"


def test_closest_exact_match():
    assert closest("pear", ["peach", "pear"]) == "pear"


def test_closest_cutoff_at_score():
    assert closest("abcd", ["abxy"], cutoff=0.5) == "abxy"
    assert closest("abcd", ["abxy"], cutoff=0.51) is None


def test_closest_cutoff_zero_accepts_anything():
    assert closest("abc", ["xyz"], cutoff=0.0) == "xyz"


def test_closest_cutoff_one_needs_exact_match():
    assert closest("abc", ["abd", "abc"], cutoff=1.0) == "abc"
    assert closest("abc", ["abd"], cutoff=1.0) is None


def test_closest_invalid_cutoff():
    with pytest.raises(ValueError, match="cutoff must be between 0 and 1, got 1.5"):
        closest("a", ["a"], cutoff=1.5)
    with pytest.raises(ValueError, match="cutoff must be between 0 and 1"):
        closest("a", ["a"], cutoff=-0.1)
