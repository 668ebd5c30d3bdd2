"""Hand-written bug tasks over the built-in ``textkit`` library."""

from __future__ import annotations

from swe_gym_env.tasks.builtin.spec import Edit, TaskSpec

LIBRARY = "textkit"

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="textkit-1",
        library=LIBRARY,
        problem_statement="""\
`truncate(..., word_boundary=True)` drops a whole word when the limit falls exactly at the end of a word.

```python
>>> from textkit import truncate
>>> truncate("hello world again", 14, word_boundary=True)
'hello...'
```

"hello world..." is exactly 14 characters long and ends on a complete word, so I expected
`'hello world...'`. With a limit of 15 I do get `'hello world...'`, so it only goes wrong when
the text fits exactly.
""",
        bug=(
            Edit(
                path="textkit/wrap.py",
                old='    if word_boundary and " " in cut and text[keep] != " ":\n',
                new='    if word_boundary and " " in cut:\n',
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_wrap.py",
                old="",
                new="""

def test_truncate_word_boundary_sentence():
    assert truncate("hello world again", 14, word_boundary=True) == "hello world..."


def test_truncate_word_boundary_short_words():
    assert truncate("one two three four", 10, word_boundary=True) == "one two..."
    assert truncate("one two three four", 11, word_boundary=True) == "one two..."
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="textkit/wrap.py",
                old='    if word_boundary and " " in cut:\n',
                new='    if word_boundary and " " in cut and text[keep - 1] != " ":\n',
            ),
        ),
    ),
    TaskSpec(
        name="textkit-2",
        library=LIBRARY,
        problem_statement="""\
`ordinal()` returns the wrong suffix for 111, 112, 113 (and 211, 1012, ...).

```python
>>> from textkit import ordinal
>>> ordinal(111), ordinal(112), ordinal(213)
('111st', '112nd', '213rd')
```

Expected `('111th', '112th', '213th')`, the same way `ordinal(11)` correctly gives `'11th'`.
`ordinal(101)` -> `'101st'` and `ordinal(121)` -> `'121st'` are fine.
""",
        bug=(
            Edit(
                path="textkit/inflect.py",
                old="    if 11 <= magnitude % 100 <= 13:\n",
                new="    if magnitude in (11, 12, 13):\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_inflect.py",
                old="",
                new="""

@pytest.mark.parametrize(
    "number,expected",
    [
        (111, "111th"),
        (112, "112th"),
        (113, "113th"),
        (121, "121st"),
        (211, "211th"),
        (1012, "1012th"),
        (-113, "-113th"),
    ],
)
def test_ordinal_larger_numbers(number, expected):
    assert ordinal(number) == expected
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="textkit/inflect.py",
                old="    if magnitude in (11, 12, 13):\n",
                new="    if magnitude in (11, 12, 13) or 111 <= magnitude <= 113:\n",
            ),
        ),
    ),
    TaskSpec(
        name="textkit-3",
        library=LIBRARY,
        problem_statement="""\
Case conversion glues an acronym to the word that follows it.

```python
>>> from textkit import snake_case, kebab_case
>>> snake_case("HTTPServer")
'httpserver'
>>> kebab_case("XMLHttpRequest")
'xmlhttp-request'
```

Expected `'http_server'` and `'xml-http-request'`. The docstring of `split_words` even says
`"HTTPServer"` gives `["HTTP", "Server"]`, but I get `["HTTPServer"]`. Plain acronyms
(`snake_case("getHTTP")` -> `'get_http'`) work.
""",
        bug=(
            Edit(
                path="textkit/case.py",
                old=(
                    "                or (prev.isalpha() != ch.isalpha())\n"
                    "                or (prev.isupper() and ch.isupper() and nxt.islower())\n"
                ),
                new="                or (prev.isalpha() != ch.isalpha())\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_case.py",
                old="",
                new="""

def test_split_words_mixed_caps():
    assert split_words("HTTPServer") == ["HTTP", "Server"]
    assert split_words("XMLHttpRequest") == ["XML", "Http", "Request"]


def test_snake_and_kebab_mixed_caps():
    assert snake_case("parseXMLDocument") == "parse_xml_document"
    assert kebab_case("IOError") == "io-error"
    assert camel_case("HTTPServer") == "httpServer"
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="textkit/case.py",
                old="                or (prev.isalpha() != ch.isalpha())\n",
                new=(
                    "                or (prev.isalpha() != ch.isalpha())\n"
                    "                or (prev.isupper() and ch.isupper())\n"
                ),
            ),
        ),
    ),
    TaskSpec(
        name="textkit-4",
        library=LIBRARY,
        problem_statement="""\
`pluralize()` turns every word ending in "y" into "-ies", even after a vowel.

```python
>>> from textkit import pluralize
>>> pluralize("day"), pluralize("monkey"), pluralize("boy")
('daies', 'monkeies', 'boies')
```

Expected `('days', 'monkeys', 'boys')`. Words like "city" -> "cities" and "fly" -> "flies" are
correct.
""",
        bug=(
            Edit(
                path="textkit/inflect.py",
                old='    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in VOWELS:\n',
                new='    elif lower.endswith("y") and len(lower) > 1:\n',
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_inflect.py",
                old="",
                new="""

@pytest.mark.parametrize(
    "word,plural",
    [("day", "days"), ("key", "keys"), ("boy", "boys"), ("guy", "guys"), ("monkey", "monkeys"), ("spy", "spies")],
)
def test_pluralize_more_words(word, plural):
    assert pluralize(word) == plural


def test_pluralize_capitalised_word_ending_in_y():
    assert pluralize("Valley") == "Valleys"
    assert pluralize("TOY") == "TOYS"
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="textkit/inflect.py",
                old='    elif lower.endswith("y") and len(lower) > 1:\n',
                new='    elif lower.endswith("y") and len(lower) > 1 and lower[-2] != "a":\n',
            ),
        ),
    ),
)
