import pytest

from swe_gym_env.backends.fake import FakeSandbox
from swe_gym_env.tools import TOOL_SCHEMAS, Editor, ToolError

SOURCE = "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x + 1\n"


@pytest.fixture
def editor():
    return Editor(FakeSandbox({"pkg/mod.py": SOURCE, "README.md": "hello\n"}))


def run(editor, **arguments):
    return editor.run(arguments)


def test_schemas_are_openai_tools():
    names = [tool["function"]["name"] for tool in TOOL_SCHEMAS]
    assert names == ["bash", "str_replace_editor", "trace", "submit"]
    for tool in TOOL_SCHEMAS:
        assert tool["type"] == "function" and tool["function"]["parameters"]["type"] == "object"


def test_view_numbers_lines_and_honours_range(editor):
    out = run(editor, command="view", path="/testbed/pkg/mod.py")
    assert "     1\tdef f(x):\n     2\t    return x + 1\n" in out
    out = run(editor, command="view", path="pkg/mod.py", view_range=[5, -1])
    assert "     5\tdef g(x):" in out and "def f" not in out
    assert "lines 5-6 of 6" in out


def test_view_directory_lists_files(editor):
    out = run(editor, command="view", path="/testbed")
    assert "/testbed/pkg/mod.py" in out


def test_view_missing_path_and_bad_range(editor):
    with pytest.raises(ToolError, match="does not exist"):
        run(editor, command="view", path="nope.py")
    with pytest.raises(ToolError, match="outside the file"):
        run(editor, command="view", path="pkg/mod.py", view_range=[9, 12])
    with pytest.raises(ToolError, match="two integers"):
        run(editor, command="view", path="pkg/mod.py", view_range=[1])


def test_str_replace_must_match_exactly_once(editor):
    with pytest.raises(ToolError, match="occurs 2 times .*lines \\[2, 6\\]"):
        run(editor, command="str_replace", path="pkg/mod.py", old_str="return x + 1", new_str="return x")
    with pytest.raises(ToolError, match="not found"):
        run(editor, command="str_replace", path="pkg/mod.py", old_str="return y", new_str="return x")
    out = run(editor, command="str_replace", path="pkg/mod.py", old_str="def g(x):\n    return x + 1",
              new_str="def g(x):\n    return x + 2")
    assert "return x + 2" in out
    assert editor.sandbox.files["pkg/mod.py"].endswith("return x + 2\n")


def test_create_insert_and_undo(editor):
    with pytest.raises(ToolError, match="already exists"):
        run(editor, command="create", path="README.md", file_text="x")
    run(editor, command="create", path="pkg/new.py", file_text="a = 1\n")
    assert editor.sandbox.files["pkg/new.py"] == "a = 1\n"
    run(editor, command="insert", path="pkg/new.py", insert_line=0, new_str="import os")
    assert editor.sandbox.files["pkg/new.py"] == "import os\na = 1\n"
    run(editor, command="insert", path="pkg/new.py", insert_line=2, new_str="b = 2")
    assert editor.sandbox.files["pkg/new.py"] == "import os\na = 1\nb = 2\n"
    with pytest.raises(ToolError, match="outside the file"):
        run(editor, command="insert", path="pkg/new.py", insert_line=9, new_str="c")
    run(editor, command="undo_edit", path="pkg/new.py")
    assert editor.sandbox.files["pkg/new.py"] == "import os\na = 1\n"
    run(editor, command="undo_edit", path="pkg/new.py")
    run(editor, command="undo_edit", path="pkg/new.py")
    assert "pkg/new.py" not in editor.sandbox.files
    with pytest.raises(ToolError, match="no edit"):
        run(editor, command="undo_edit", path="pkg/new.py")


def test_non_utf8_file_is_refused_for_editing():
    sandbox = FakeSandbox()
    sandbox.files["blob.bin"] = "x"
    sandbox.read_file = lambda path: b"\xff\xfe\x00"  # type: ignore[method-assign]
    with pytest.raises(ToolError, match="not a UTF-8 text file"):
        Editor(sandbox).run({"command": "str_replace", "path": "blob.bin", "old_str": "a", "new_str": "b"})
    assert "\ufffd" in Editor(sandbox).run({"command": "view", "path": "blob.bin"})


def test_empty_path_is_explained(editor):
    with pytest.raises(ToolError, match="path is empty"):
        run(editor, command="view", path=" ")
