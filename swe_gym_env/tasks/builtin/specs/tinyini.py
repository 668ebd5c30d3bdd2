"""Hand-written bug tasks over the built-in ``tinyini`` library."""

from __future__ import annotations

from swe_gym_env.tasks.builtin.spec import Edit, TaskSpec

LIBRARY = "tinyini"

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="tinyini-1",
        library=LIBRARY,
        problem_statement="""\
Values containing `#` or `;` are cut off even when there is no whitespace before it.

```ini
[links]
docs = https://example.org/guide#install
accent = #ff8800
```

```python
>>> config = tinyini.parse(text)
>>> config.get("links", "docs"), config.get("links", "accent")
('https://example.org/guide', '')
```

The README says inline comments need whitespace before them, so I expected the full URL and
`'#ff8800'`. `note = done  # later` correctly gives `'done'`. Quoting the values works around it.
""",
        bug=(
            Edit(
                path="tinyini/parser.py",
                old='        if ch in COMMENT_PREFIXES and i > 0 and value[i - 1] in " \\t":\n',
                new="        if ch in COMMENT_PREFIXES:\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_parse.py",
                old="",
                new=r"""

def test_bare_values_with_comment_characters():
    config = parse("[s]\nurl = https://example.org/docs#install\nsql = a;b\n")
    assert config.get("s", "url") == "https://example.org/docs#install"
    assert config.get("s", "sql") == "a;b"


def test_bare_value_starting_with_hash():
    config = parse("[s]\ncolor = #ff8800 # brand colour\n")
    assert config.get("s", "color") == "#ff8800"
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="tinyini/parser.py",
                old="        if ch in COMMENT_PREFIXES:\n",
                new='        if ch in COMMENT_PREFIXES and (i == 0 or value[i - 1] in " \\t"):\n',
            ),
        ),
    ),
    TaskSpec(
        name="tinyini-2",
        library=LIBRARY,
        problem_statement="""\
A `${section:option}` reference fails when the referenced option itself uses `${...}`.

```ini
[paths]
root = /srv
logs = ${root}/logs

[app]
logfile = ${paths:logs}/app.log
```

```python
>>> config.get("paths", "logs")
'/srv/logs'
>>> config.get("app", "logfile")
tinyini.errors.InterpolationError: bad reference '${root}' in section 'app'
```

Expected `'/srv/logs/app.log'`. And if `[app]` happens to define its own `root`, that value ends
up in the result instead of the one from `[paths]`.
""",
        bug=(
            Edit(
                path="tinyini/config.py",
                old="            return self._interpolate(target_section.strip(), target, depth + 1)\n",
                new="            return self._interpolate(section, target, depth + 1)\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_config.py",
                old="",
                new=r"""

def test_interpolation_reference_to_interpolated_option():
    config = parse("[paths]\nroot = /srv\nlogs = ${root}/logs\n[app]\nlogfile = ${paths:logs}/app.log\n")
    assert config.get("app", "logfile") == "/srv/logs/app.log"


def test_interpolation_sections_with_same_option_names():
    config = parse(
        "[paths]\nroot = /srv\nlogs = ${root}/logs\n"
        "[app]\nroot = /opt/app\nlogfile = ${paths:logs}/app.log\nbin = ${root}/bin\n"
    )
    assert config.get("app", "logfile") == "/srv/logs/app.log"
    assert config.get("app", "bin") == "/opt/app/bin"
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="tinyini/config.py",
                old="            return self._interpolate(section, target, depth + 1)\n",
                new=(
                    "            try:\n"
                    "                return self._interpolate(section, target, depth + 1)\n"
                    "            except InterpolationError:\n"
                    "                return self._interpolate(target_section.strip(), target, depth + 1)\n"
                ),
            ),
        ),
    ),
    TaskSpec(
        name="tinyini-3",
        library=LIBRARY,
        problem_statement="""\
`dumps()` loses leading and trailing spaces of values, so a dumps/parse round trip changes the config.

```python
>>> from tinyini import Config, dumps, parse
>>> config = Config()
>>> config.add_section("ui")
>>> config.set("ui", "prompt", "> ")
>>> dumps(config)
'[ui]\\nprompt = > \\n'
>>> parse(dumps(config)).get("ui", "prompt")
'>'
```

The docstring of `dumps` promises that `parse()` reads the text back to an equal Config. I expected
`'> '` back.
""",
        bug=(
            Edit(
                path="tinyini/parser.py",
                old='    if value == "" or value != value.strip():\n',
                new='    if value == "":\n',
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_dumps.py",
                old="",
                new=r"""

def test_round_trip_padded_values():
    config = Config()
    config.add_section("s")
    config.set("s", "lead", "  indented")
    config.set("s", "trail", "prompt> ")
    config.set("s", "both", " x ")
    assert parse(dumps(config)) == config


def test_dumps_separator_value():
    config = Config()
    config.add_section("s")
    config.set("s", "sep", " | ")
    assert dumps(config) == '[s]\nsep = " | "\n'
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="tinyini/parser.py",
                old='    if value == "":\n',
                new='    if value == "" or value.startswith(" "):\n',
            ),
        ),
    ),
    TaskSpec(
        name="tinyini-4",
        library=LIBRARY,
        problem_statement="""\
`getlist()` does not split multi-line values.

```ini
[cluster]
hosts =
    node1.example
    node2.example
```

```python
>>> config.getlist("cluster", "hosts")
['node1.example\\nnode2.example']
```

The docstring says items may be separated by line breaks, so I expected
`['node1.example', 'node2.example']`. A comma-separated list continued over several lines
(`hosts = a, b` followed by an indented `c, d`) should give all four items.
""",
        bug=(
            Edit(
                path="tinyini/config.py",
                old=(
                    "            items = []\n"
                    "            for line in value.splitlines():\n"
                    "                items += [item.strip() for item in line.split(sep)]\n"
                ),
                new="            items = [item.strip() for item in value.split(sep)]\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_config.py",
                old="",
                new=r"""

def test_getlist_one_item_per_line():
    config = parse("[s]\nhosts =\n  alpha\n  beta\n")
    assert config.getlist("s", "hosts") == ["alpha", "beta"]


def test_getlist_lines_and_separators():
    config = parse("[s]\nhosts = a, b\n  c, d\n  e\n")
    assert config.getlist("s", "hosts") == ["a", "b", "c", "d", "e"]
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="tinyini/config.py",
                old="            items = [item.strip() for item in value.split(sep)]\n",
                new=(
                    '            parts = value.splitlines() if "\\n" in value else value.split(sep)\n'
                    "            items = [item.strip() for item in parts]\n"
                ),
            ),
        ),
    ),
)
