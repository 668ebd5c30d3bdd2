import pytest

from tinyini import Config, InterpolationError, MissingOptionError, MissingSectionError, TinyIniError, parse

TYPED = """
[DEFAULT]
retries = 3
debug = off

[app]
port = 8080
hex = 0x1F
octal = 0o17
binary = 0b101
negative = -42
signed_hex = -0x10
ratio = 0.25
enabled = Yes
name = demo
hosts = a.example, b.example , ,c.example
retries = 5

[worker]
threads = 4
"""


@pytest.fixture
def config():
    return parse(TYPED)


def test_default_section_not_listed(config):
    assert config.sections() == ["app", "worker"]
    assert config.has_section("DEFAULT")


def test_defaults_are_inherited(config):
    assert config.get("worker", "retries") == "3"
    assert config.get("app", "retries") == "5"
    assert config.get("worker", "debug") == "off"


def test_options_include_defaults(config):
    assert config.options("worker") == ["threads", "retries", "debug"]
    assert config.options("DEFAULT") == ["retries", "debug"]


def test_has_option(config):
    assert config.has_option("worker", "threads")
    assert config.has_option("worker", "DEBUG")
    assert config.has_option("worker", "port") is False
    assert config.has_option("nope", "port") is False


def test_missing_section(config):
    with pytest.raises(MissingSectionError, match="no section 'nope'"):
        config.get("nope", "x")


def test_missing_option(config):
    with pytest.raises(MissingOptionError, match="no option 'x' in section 'app'") as info:
        config.get("app", "X")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, TinyIniError)


def test_get_default(config):
    assert config.get("app", "missing", "fallback") == "fallback"
    assert config.get("nope", "missing", None) is None


def test_getint(config):
    assert config.getint("app", "port") == 8080
    assert config.getint("app", "negative") == -42
    assert config.getint("worker", "threads") == 4


def test_getint_prefixes(config):
    assert config.getint("app", "hex") == 31
    assert config.getint("app", "octal") == 15
    assert config.getint("app", "binary") == 5
    assert config.getint("app", "signed_hex") == -16


def test_getint_leading_zero_is_decimal():
    assert parse("[s]\nmode = 0755\n").getint("s", "mode") == 755


def test_getint_invalid(config):
    with pytest.raises(ValueError, match="option 'name' in section 'app' is not an integer: 'demo'"):
        config.getint("app", "name")
    with pytest.raises(ValueError, match="is not an integer: '0.25'"):
        config.getint("app", "ratio")


def test_getint_default(config):
    assert config.getint("app", "missing", 7) == 7
    with pytest.raises(MissingOptionError):
        config.getint("app", "missing")


def test_getfloat(config):
    assert config.getfloat("app", "ratio") == 0.25
    assert config.getfloat("app", "port") == 8080.0
    assert config.getfloat("app", "missing", 1.5) == 1.5
    with pytest.raises(ValueError, match="is not a number: 'demo'"):
        config.getfloat("app", "name")


@pytest.mark.parametrize("word", ["1", "yes", "true", "on", "TRUE", "On"])
def test_getboolean_true(word):
    assert parse(f"[s]\nflag = {word}\n").getboolean("s", "flag") is True


@pytest.mark.parametrize("word", ["0", "no", "false", "off", "FALSE", "No"])
def test_getboolean_false(word):
    assert parse(f"[s]\nflag = {word}\n").getboolean("s", "flag") is False


def test_getboolean_invalid_and_default(config):
    assert config.getboolean("app", "enabled") is True
    assert config.getboolean("app", "debug") is False
    assert config.getboolean("app", "missing", False) is False
    with pytest.raises(ValueError, match="option 'name' in section 'app' is not a boolean: 'demo'"):
        config.getboolean("app", "name")


def test_getlist(config):
    assert config.getlist("app", "hosts") == ["a.example", "b.example", "c.example"]


def test_getlist_custom_separator():
    config = parse("[s]\npath = /usr/bin:/bin : /sbin\n")
    assert config.getlist("s", "path", sep=":") == ["/usr/bin", "/bin", "/sbin"]


def test_getlist_empty_value_and_default():
    config = parse("[s]\nempty =\n")
    assert config.getlist("s", "empty") == []
    assert config.getlist("s", "missing", ["x"]) == ["x"]


def test_getlist_empty_separator():
    with pytest.raises(ValueError, match="sep must not be empty"):
        parse("[s]\na = 1\n").getlist("s", "a", sep="")


def test_interpolation_same_section():
    config = parse("[paths]\nroot = /srv\ndata = ${root}/data\n")
    assert config.get("paths", "data") == "/srv/data"


def test_interpolation_raw():
    config = parse("[paths]\nroot = /srv\ndata = ${root}/data\n")
    assert config.get("paths", "data", raw=True) == "${root}/data"


def test_interpolation_other_section():
    config = parse("[paths]\nroot = /srv\n[app]\nlogs = ${paths:root}/logs\n")
    assert config.get("app", "logs") == "/srv/logs"


def test_interpolation_from_defaults():
    config = parse("[DEFAULT]\nhome = /home/me\n[app]\ncache = ${home}/.cache\n")
    assert config.get("app", "cache") == "/home/me/.cache"


def test_interpolation_chain():
    config = parse("[s]\na = x\nb = ${a}y\nc = ${b}z\n")
    assert config.get("s", "c") == "xyz"


def test_interpolation_dollar_escape():
    config = parse("[s]\nprice = $$5 and ${ cur }\ncur = EUR\n")
    assert config.get("s", "price") == "$5 and EUR"


def test_lone_dollar_is_kept():
    config = parse("[s]\ncost = 5$ or $x\n")
    assert config.get("s", "cost") == "5$ or $x"


def test_interpolation_in_typed_getters():
    config = parse("[s]\nbase = 8000\nport = ${base}\n")
    assert config.getint("s", "port") == 8000


def test_interpolation_missing_reference():
    config = parse("[s]\na = ${nope}\n")
    with pytest.raises(InterpolationError, match=r"bad reference '\$\{nope\}' in section 's'"):
        config.get("s", "a")


def test_interpolation_missing_section():
    config = parse("[s]\na = ${other:x}\n")
    with pytest.raises(InterpolationError, match=r"bad reference '\$\{other:x\}'"):
        config.get("s", "a")


def test_interpolation_empty_reference():
    config = parse("[s]\na = ${ }\n")
    with pytest.raises(InterpolationError, match="empty reference"):
        config.get("s", "a")


def test_interpolation_cycle():
    config = parse("[s]\na = ${b}\nb = ${a}\n")
    with pytest.raises(InterpolationError, match="deeper than 10 levels in section 's'"):
        config.get("s", "a")


def test_interpolation_depth_limit_allows_ten_levels():
    lines = ["[s]", "v0 = end"] + [f"v{i} = ${{v{i - 1}}}" for i in range(1, 12)]
    config = parse("\n".join(lines))
    assert config.get("s", "v10") == "end"
    with pytest.raises(InterpolationError):
        config.get("s", "v11")


def test_set_and_remove():
    config = Config()
    config.add_section("s")
    config.set("s", " Key ", "value")
    assert config.get("s", "key") == "value"
    assert config.remove_option("s", "KEY") is True
    assert config.remove_option("s", "key") is False
    assert config.remove_section("s") is True
    assert config.remove_section("s") is False
    assert "s" not in config


def test_set_validation():
    config = Config()
    config.add_section("s")
    with pytest.raises(TypeError, match="option values must be strings, got int"):
        config.set("s", "a", 1)
    with pytest.raises(ValueError, match="option name must not be empty"):
        config.set("s", "  ", "x")
    with pytest.raises(MissingSectionError):
        config.set("nope", "a", "x")


def test_add_section_validation():
    config = Config()
    config.add_section("s")
    with pytest.raises(ValueError, match="section 's' already exists"):
        config.add_section("s")
    with pytest.raises(ValueError, match="non-empty string"):
        config.add_section(" ")
    with pytest.raises(ValueError, match="invalid section name 'a]b'"):
        config.add_section("a]b")


def test_to_dict_is_a_copy(config):
    data = config.to_dict()
    data["app"]["port"] = "1"
    assert config.get("app", "port") == "8080"
    assert list(data) == ["DEFAULT", "app", "worker"]


def test_equality_and_repr():
    a = parse("[s]\nx = 1\n")
    b = Config()
    b.add_section("s")
    b.set("s", "x", "1")
    assert a == b
    assert a != parse("[s]\nx = 2\n")
    assert a != {"s": {"x": "1"}}
    assert repr(a) == "Config(sections=['s'])"
