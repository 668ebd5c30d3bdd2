import pytest

from textkit import camel_case, kebab_case, pascal_case, snake_case, split_words, title_case


@pytest.mark.parametrize(
    "text,expected",
    [
        ("hello world", ["hello", "world"]),
        ("helloWorld", ["hello", "World"]),
        ("HelloWorld", ["Hello", "World"]),
        ("hello_world-again", ["hello", "world", "again"]),
        ("version2update", ["version", "2", "update"]),
        ("getHTTP", ["get", "HTTP"]),
        ("HTTP", ["HTTP"]),
        ("a", ["a"]),
        ("", []),
        ("__", []),
        ("x1", ["x", "1"]),
    ],
    ids=["spaces", "camel", "pascal", "separators", "digits", "trailing_acronym", "acronym", "single", "empty", "only_separators", "letter_digit"],
)
def test_split_words(text, expected):
    assert split_words(text) == expected


def test_snake_case():
    assert snake_case("Hello World") == "hello_world"
    assert snake_case("helloWorld") == "hello_world"
    assert snake_case("already_snake") == "already_snake"


def test_snake_case_digits():
    assert snake_case("area51Report") == "area_51_report"


def test_kebab_case():
    assert kebab_case("Hello World") == "hello-world"
    assert kebab_case("someValue_here") == "some-value-here"


def test_camel_case():
    assert camel_case("hello world") == "helloWorld"
    assert camel_case("Hello_big_World") == "helloBigWorld"
    assert camel_case("HTTP") == "http"


def test_camel_case_empty():
    assert camel_case("") == ""
    assert camel_case("--") == ""


def test_pascal_case():
    assert pascal_case("hello world") == "HelloWorld"
    assert pascal_case("user_id") == "UserId"
    assert pascal_case("") == ""


def test_round_trip_snake_to_camel():
    assert snake_case(camel_case("make_it_work")) == "make_it_work"


def test_title_case():
    assert title_case("the lord of the rings") == "The Lord of the Rings"


def test_title_case_small_word_last_is_capitalised():
    assert title_case("what are you looking at") == "What Are You Looking At"


def test_title_case_lowercases_rest_of_word():
    assert title_case("hELLO wORLD") == "Hello World"


def test_title_case_single_small_word():
    assert title_case("of") == "Of"


def test_title_case_small_word_second():
    assert title_case("war and peace") == "War and Peace"


def test_title_case_custom_small_words():
    assert title_case("war and peace", small_words=frozenset()) == "War And Peace"


def test_title_case_empty():
    assert title_case("") == ""
