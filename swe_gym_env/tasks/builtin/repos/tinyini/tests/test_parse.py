import pytest

from tinyini import ParseError, parse

BASIC = """
# a comment
; another comment
[server]
host = example.org
port: 8080
Name = Main Server

[client]
timeout = 2.5
"""


def test_sections_in_order():
    config = parse(BASIC)
    assert config.sections() == ["server", "client"]


def test_values_are_strings():
    config = parse(BASIC)
    assert config.get("server", "host") == "example.org"
    assert config.get("server", "port") == "8080"
    assert config.get("client", "timeout") == "2.5"


def test_keys_are_case_insensitive():
    config = parse(BASIC)
    assert config.get("server", "name") == "Main Server"
    assert config.get("server", "NAME") == "Main Server"
    assert config.options("server") == ["host", "port", "name"]


def test_sections_are_case_sensitive():
    config = parse("[Server]\na = 1\n[server]\na = 2\n")
    assert config.sections() == ["Server", "server"]


def test_first_separator_wins():
    config = parse("[s]\nurl = http://example.org\ntime: 12:30\nratio = a=b\n")
    assert config.get("s", "url") == "http://example.org"
    assert config.get("s", "time") == "12:30"
    assert config.get("s", "ratio") == "a=b"


def test_no_whitespace_around_separator():
    config = parse("[s]\na=1\nb:2\n")
    assert config.get("s", "a") == "1"
    assert config.get("s", "b") == "2"


def test_whitespace_around_key_and_value():
    config = parse("[s]\n   spaced key   =    value with spaces   \n")
    assert config.get("s", "spaced key") == "value with spaces"


def test_empty_value():
    config = parse("[s]\nempty =\nalso:\n")
    assert config.get("s", "empty") == ""
    assert config.get("s", "also") == ""


def test_section_header_whitespace():
    config = parse("[  my section  ]\nx = 1\n")
    assert config.sections() == ["my section"]


def test_inline_comments():
    config = parse("[s]\na = 1 # one\nb = two ; second\nc = x\t# tab\n")
    assert config.get("s", "a") == "1"
    assert config.get("s", "b") == "two"
    assert config.get("s", "c") == "x"


def test_inline_comments_disabled():
    config = parse("[s]\na = 1 # one\n", inline_comments=False)
    assert config.get("s", "a") == "1 # one"


def test_indented_comment_line_is_ignored():
    config = parse("[s]\n  # indented comment\na = 1\n")
    assert config.options("s") == ["a"]


def test_double_quoted_value():
    config = parse('[s]\nmsg = "  keep # spaces ; here  "\n')
    assert config.get("s", "msg") == "  keep # spaces ; here  "


def test_double_quoted_escapes():
    config = parse('[s]\nmsg = "tab\\there\\nnew \\"quoted\\" back\\\\slash\\r"\n')
    assert config.get("s", "msg") == 'tab\there\nnew "quoted" back\\slash\r'


def test_single_quoted_value_is_literal():
    config = parse("[s]\npath = 'C:\\new\\table'\n")
    assert config.get("s", "path") == "C:\\new\\table"


def test_quoted_value_with_trailing_comment():
    config = parse('[s]\nmsg = "hi" # greeting\n')
    assert config.get("s", "msg") == "hi"


def test_quoted_empty_value():
    config = parse('[s]\nmsg = ""\n')
    assert config.get("s", "msg") == ""


def test_text_after_closing_quote():
    with pytest.raises(ParseError, match="line 2: unexpected text after closing quote: 'oops'"):
        parse('[s]\nmsg = "hi" oops\n')


def test_text_right_after_closing_quote():
    with pytest.raises(ParseError, match="unexpected text after closing quote: 'x'"):
        parse('[s]\nmsg = "hi"x\n')


def test_text_after_quote_comment_disabled():
    with pytest.raises(ParseError, match="unexpected text after closing quote"):
        parse('[s]\nmsg = "hi" # c\n', inline_comments=False)


def test_unterminated_quote():
    with pytest.raises(ParseError, match="line 3: unterminated quoted value"):
        parse('[s]\na = 1\nmsg = "hi\n')


def test_unknown_escape():
    with pytest.raises(ParseError, match=r"unknown escape sequence '\\q'"):
        parse('[s]\nmsg = "a\\qb"\n')


def test_backslash_at_end():
    with pytest.raises(ParseError, match="backslash at end of quoted value"):
        parse('[s]\nmsg = "abc\\\n')


def test_continuation_lines():
    config = parse("[s]\nhosts = alpha\n  beta\n\tgamma\nnext = 1\n")
    assert config.get("s", "hosts") == "alpha\nbeta\ngamma"
    assert config.get("s", "next") == "1"


def test_continuation_keeps_references_unresolved():
    config = parse("[s]\nbin = /usr/bin\ncmd = ${bin}/tool\n  --verbose\n")
    assert config.get("s", "cmd", raw=True) == "${bin}/tool\n--verbose"
    assert config.get("s", "cmd") == "/usr/bin/tool\n--verbose"


def test_blank_line_ends_continuation():
    with pytest.raises(ParseError, match="line 4: expected 'key = value', got 'orphan'"):
        parse("[s]\na = 1\n\n  orphan\n")


def test_continuation_with_inline_comment():
    config = parse("[s]\nitems = one\n  two # second\n")
    assert config.get("s", "items") == "one\ntwo"


def test_option_before_section():
    with pytest.raises(ParseError, match="line 1: option 'a' before any section header"):
        parse("a = 1\n[s]\n")


def test_missing_separator():
    with pytest.raises(ParseError, match="line 2: expected 'key = value', got 'just words'"):
        parse("[s]\njust words\n")


def test_empty_key():
    with pytest.raises(ParseError, match="line 2: option with an empty name"):
        parse("[s]\n = value\n")


def test_empty_section_name():
    with pytest.raises(ParseError, match="line 1: empty section name"):
        parse("[   ]\n")


def test_malformed_header():
    with pytest.raises(ParseError, match="line 1: malformed section header '\\[broken'"):
        parse("[broken\n")


def test_duplicate_section_strict():
    with pytest.raises(ParseError, match="line 3: duplicate section 's'"):
        parse("[s]\na = 1\n[s]\nb = 2\n")


def test_duplicate_section_lenient_merges():
    config = parse("[s]\na = 1\n[t]\n[s]\nb = 2\n", strict=False)
    assert config.sections() == ["s", "t"]
    assert config.options("s") == ["a", "b"]


def test_duplicate_option_strict():
    with pytest.raises(ParseError, match="line 3: duplicate option 'a' in section 's'"):
        parse("[s]\na = 1\nA = 2\n")


def test_duplicate_option_lenient_last_wins():
    config = parse("[s]\na = 1\na = 2\n", strict=False)
    assert config.get("s", "a") == "2"


def test_same_option_in_two_sections_is_fine():
    config = parse("[s]\na = 1\n[t]\na = 2\n")
    assert config.get("s", "a") == "1"
    assert config.get("t", "a") == "2"


def test_parse_error_attributes():
    with pytest.raises(ParseError) as info:
        parse("[s]\n\n\nbad\n")
    assert info.value.lineno == 4
    assert info.value.message == "expected 'key = value', got 'bad'"
    assert isinstance(info.value, ValueError)


def test_empty_document():
    config = parse("")
    assert config.sections() == []
