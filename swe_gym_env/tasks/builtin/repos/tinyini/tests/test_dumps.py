from tinyini import Config, dumps, parse


def test_dumps_simple():
    config = parse("[a]\nx = 1\ny = two words\n[b]\nz = 3\n")
    assert dumps(config) == "[a]\nx = 1\ny = two words\n\n[b]\nz = 3\n"


def test_dumps_default_first():
    config = Config()
    config.add_section("app")
    config.set("app", "a", "1")
    config.add_section("DEFAULT")
    config.set("DEFAULT", "d", "0")
    assert dumps(config) == "[DEFAULT]\nd = 0\n\n[app]\na = 1\n"


def test_dumps_empty_config():
    assert dumps(Config()) == ""


def test_dumps_empty_section():
    config = Config()
    config.add_section("empty")
    assert dumps(config) == "[empty]\n"


def test_dumps_quotes_when_needed():
    config = Config()
    config.add_section("s")
    config.set("s", "empty", "")
    config.set("s", "hash", "a # b")
    config.set("s", "semi", "a;b")
    config.set("s", "multi", "one\ntwo")
    config.set("s", "tab", "a\tb")
    config.set("s", "quote", '"x"')
    config.set("s", "single", "'x'")
    config.set("s", "bracket", "[x]")
    config.set("s", "plain", 'say "hi" \\o/')
    assert dumps(config).splitlines()[1:] == [
        'empty = ""',
        'hash = "a # b"',
        'semi = "a;b"',
        'multi = "one\\ntwo"',
        'tab = "a\\tb"',
        'quote = "\\"x\\""',
        "single = \"'x'\"",
        'bracket = "[x]"',
        'plain = say "hi" \\o/',
    ]


def test_round_trip():
    config = Config()
    config.add_section("s")
    for key, value in {
        "empty": "",
        "hash": "a # b",
        "multi": "one\ntwo",
        "cr": "a\rb",
        "backslash": "C:\\temp\\x",
        "quoted": '"x"',
        "tab": "a\tb",
        "interp": "${other}",
    }.items():
        config.set("s", key, value)
    assert parse(dumps(config)) == config


def test_round_trip_of_parsed_file():
    text = '[DEFAULT]\nx = 1\n[app]\nname = "demo # 1"\nlist = a, b\n  c\n'
    config = parse(text)
    assert parse(dumps(config)) == config
