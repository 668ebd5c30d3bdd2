"""The in-sandbox tracer: records what a Python process executes in the repository's own code, compactly.

This file is not imported by the package: the ``trace`` tool copies it into a temporary directory
inside the sandbox, next to a ``sitecustomize`` bootstrap that calls :func:`start` when a Python
process starts. It runs under the sandbox's own Python, so it keeps to Python 3.6 syntax and the
standard library; it uses ``sys.monitoring`` where present (3.12+: code it does not trace costs
nothing after its first call) and ``sys.settrace`` elsewhere.

Each process writes one text file, ``trace-<pid>-<n>.txt``: a JSON header line, then records in the
dynamic-scratchpad form of Execution Tuning - every executed line of repository code as
``path:line  source  # the local variables it changed``, calls with their arguments, returns with
their values, the exception where it is raised - indented by call depth. Loops show their first
iterations and fold the rest into one line; the file stops at a line and a byte cap with a marker,
and tracing stops there, so the program runs on at full speed. Every record is flushed as it is
written, so a process that is killed leaves what it had traced.
"""

# Python 3.6 syntax and idioms on purpose; broad catches keep a broken __repr__ from breaking the program.
# ruff: noqa: UP004, UP031, RUF023, BLE001, S110
import ast
import atexit
import fnmatch
import json
import linecache
import os
import sys
import threading
import time

MARKER = "#swe-gym-trace"
CO_OPTIMIZED = 0x1  # code of a function (not a module or class body)
SKIPPED_TYPES = ("module", "function", "builtin_function_or_method", "type", "method")
MAX_RECORD = 400  # characters of one record before it is cut
TEST_DIRS = ("tests", "test", "testing")
EXCLUDED_DIRS = ("site-packages", "dist-packages", ".venv", "venv", ".tox", "build", ".eggs", "node_modules")


def short(value, limit, depth=0):
    """A repr of ``value`` in at most about ``limit`` characters, with bounded work on big containers."""
    try:
        kind = type(value)
        if kind in (int, float, bool, complex) or value is None:
            text = repr(value)
        elif kind in (str, bytes, bytearray):
            text = repr(value[: limit + 1])
            if len(value) > limit:
                text = text[: limit - 3] + "..." + text[-1:]
        elif kind in (list, tuple, set, frozenset, dict) and depth < 3:
            text = _short_container(value, kind, limit, depth)
        else:
            text = repr(value)
    except Exception:  # a broken __repr__ is the program's business, not the trace's
        text = "<%s object>" % type(value).__name__
    text = text.replace("\n", "\\n")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _short_container(value, kind, limit, depth):
    items = []
    size = len(value)
    if kind is dict:
        for n, key in enumerate(value):
            if n >= 6:
                break
            items.append(short(key, 30, depth + 1) + ": " + short(value[key], limit // 2, depth + 1))
    else:
        values = value
        if kind in (set, frozenset) and size <= 50:
            try:
                values = sorted(value)
            except TypeError:
                values = value
        for n, item in enumerate(values):
            if n >= 6:
                break
            items.append(short(item, limit // 2, depth + 1))
    if size > len(items):
        items.append("...%d more" % (size - len(items)))
    body = ", ".join(items)
    if kind is list:
        return "[" + body + "]"
    if kind is tuple:
        return "(" + body + ("," if size == 1 else "") + ")"
    if kind is dict:
        return "{" + body + "}"
    if not size:
        return kind.__name__ + "()"
    return ("{" + body + "}") if kind is set else "frozenset({" + body + "})"


class CodeInfo(object):
    """What the tracer knows about one code object: its path under the root and whether it is traced."""

    __slots__ = ("rel", "traced", "name", "first_line", "indent", "focused", "module", "generator", "skip_line")

    def __init__(self, rel, traced, name, first_line, indent=0, focused=False, module=False, generator=False,
                 skip_line=None):
        self.skip_line = skip_line  # the def line: some Pythons report it when a call starts, some do not
        self.rel = rel
        self.traced = traced
        self.name = name
        self.first_line = first_line
        self.indent = indent
        self.focused = focused
        self.module = module
        self.generator = generator


class Loop(object):
    """A loop a frame is inside: header line, last line, header visits, the last line seen in it."""

    __slots__ = ("head", "end", "visits", "last")

    def __init__(self, head, end):
        self.head = head
        self.end = end
        self.visits = 1
        self.last = head


class FrameState(object):
    """One traced frame: its depth, the locals it last showed, the line it is executing, its loops."""

    __slots__ = ("info", "depth", "in_focus", "shown", "hidden_by_fold", "snapshot", "pending", "pending_shown",
                 "pending_printed", "last_line", "loops", "exception")

    def __init__(self, info):
        self.info = info
        self.depth = 0
        self.in_focus = True
        self.shown = True
        self.hidden_by_fold = False
        self.snapshot = {}
        self.pending = None
        self.pending_shown = False
        self.pending_printed = False
        self.last_line = None
        self.loops = []
        self.exception = None


GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR


class Tracer(object):
    """Turns interpreter events into trace records; see the module docstring."""

    def __init__(self, config, out_dir):
        self.root = os.path.realpath(config.get("root", "/testbed"))
        self.include = list(config.get("include") or [])
        self.include_tests = bool(config.get("include_tests", False))
        self.focus = config.get("focus") or None
        self.focus_file = self.focus_lines = None
        if isinstance(self.focus, dict):
            self.focus_file = self.focus["path"]
            self.focus_lines = (int(self.focus["start"]), int(self.focus["end"]))
            self.focus = None
        self.max_depth = int(config.get("max_depth", 10))
        self.max_lines = int(config.get("max_lines", 200))
        self.max_bytes = int(config.get("max_bytes", 12000))
        self.repr_limit = int(config.get("repr_limit", 60))
        self.loop_iterations = max(1, int(config.get("loop_iterations", 2)))
        self.out_dir = out_dir
        self.codes = {}
        self.loop_maps = {}
        self.states = {}  # running frame -> FrameState
        self.suspended = {}  # generator frame at a yield -> FrameState
        self.stacks = {}  # thread id -> FrameStates of the traced frames on its stack
        self.busy = set()  # thread ids inside a callback: the tracer's own calls are not traced
        self.seen_exceptions = []
        self.lines = self.bytes = self.hidden = self.folded = 0
        self.stopped = self.capped = False
        self.main_thread = threading.get_ident()
        wants_monitoring = config.get("engine", "auto") in ("auto", "sys.monitoring")
        self.engine = "sys.monitoring" if hasattr(sys, "monitoring") and wants_monitoring else "settrace"
        self.tool_id = None
        self.enabled_codes = []
        self.out = None
        self.path = None

    # -- output ----------------------------------------------------------------------------------------
    def open(self):
        for n in range(1000):
            path = os.path.join(self.out_dir, "trace-%d-%d.txt" % (os.getpid(), n))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise OSError("no free trace file name in " + self.out_dir)
        self.path = path
        self.out = os.fdopen(fd, "w", encoding="utf-8", errors="replace")
        header = {"pid": os.getpid(), "argv": _argv(), "start": time.time(),
                  "python": "%d.%d.%d" % tuple(sys.version_info[:3]), "engine": self.engine, "cwd": os.getcwd()}
        self.out.write(MARKER + " " + json.dumps(header) + "\n")
        self.out.flush()

    def write(self, depth, text):
        """One record, flushed at once; past the caps, a marker and the end of tracing."""
        if self.capped or self.out is None:
            return
        if len(text) > MAX_RECORD:
            text = text[: MAX_RECORD - 3] + "..."
        tid = threading.get_ident()
        prefix = "" if tid == self.main_thread else "[thread %s] " % threading.current_thread().name
        line = prefix + "  " * depth + text + "\n"
        size = len(line.encode("utf-8", "replace"))
        if self.lines + 1 > self.max_lines or self.bytes + size > self.max_bytes:
            self.capped = True
            self.out.write("%s cap %d %d\n" % (MARKER, self.lines, self.bytes))
            self.out.flush()
            self.stop()
            return
        self.lines += 1
        self.bytes += size
        self.out.write(line)
        self.out.flush()

    def finish(self):
        """At exit: stop tracing and write the summary line."""
        if self.out is None or self.out.closed:
            return
        self.stop()
        summary = {"lines": self.lines, "bytes": self.bytes, "hidden": self.hidden, "folded": self.folded,
                   "capped": self.capped}
        try:
            self.out.write(MARKER + " end " + json.dumps(summary) + "\n")
            self.out.close()
        except (OSError, ValueError):
            pass

    # -- what to trace ---------------------------------------------------------------------------------
    def code_info(self, code, frame):
        info = self.codes.get(code)
        if info is None:
            info = self.codes[code] = self._classify(code, frame)
        return info

    def _classify(self, code, frame):
        filename, name = code.co_filename, code.co_name
        off = CodeInfo(None, False, name, code.co_firstlineno)
        if not filename or filename.startswith("<"):
            return off
        path = os.path.realpath(filename if os.path.isabs(filename) else os.path.join(os.getcwd(), filename))
        if not path.startswith(self.root + os.sep):
            return off
        rel = path[len(self.root) + 1:]
        module = not (code.co_flags & CO_OPTIMIZED)
        if module and not (name == "<module>" and frame is not None and frame.f_globals.get("__name__") == "__main__"):
            return off  # module and class bodies run at import: definitions, not behaviour
        if name.startswith("<") and name != "<module>":
            return off  # comprehensions, generator expressions, lambdas: their effect shows on their line
        if not self._included(rel):
            return off
        qualname = getattr(code, "co_qualname", name)
        if frame is not None and qualname == name and code.co_argcount and code.co_varnames[0] in ("self", "cls"):
            owner = frame.f_locals.get(code.co_varnames[0])
            if owner is not None:
                qualname = (owner.__name__ if isinstance(owner, type) else type(owner).__name__) + "." + name
        focused = False
        if self.focus:
            focused = self.focus in (name, qualname) or qualname.endswith("." + self.focus)
        elif self.focus_file is not None:
            focused = rel == self.focus_file and self._spans(code)
        source = linecache.getline(path, code.co_firstlineno)
        indent = len(source) - len(source.lstrip())
        skip_line = None
        if not module and any(line is not None and line > code.co_firstlineno for _offset, line in _line_starts(code)):
            skip_line = code.co_firstlineno
        return CodeInfo(rel, True, qualname, code.co_firstlineno, indent, focused, module,
                        bool(code.co_flags & GENERATOR_FLAGS), skip_line)

    def _included(self, rel):
        if self.include:
            return any(fnmatch.fnmatch(rel, pattern) or rel.startswith(pattern.rstrip("/") + "/")
                       for pattern in self.include)
        parts = rel.split("/")
        if any(part in EXCLUDED_DIRS for part in parts[:-1]):
            return False
        if not self.include_tests:
            base = parts[-1]
            if any(part in TEST_DIRS for part in parts[:-1]) or base.startswith("test_") \
                    or base.endswith("_test.py") or base == "conftest.py":
                return False
        return True

    def _spans(self, code):
        start, end = self.focus_lines
        last = max([line for _offset, line in _line_starts(code) if line is not None] or [code.co_firstlineno])
        return code.co_firstlineno <= end and last >= start

    def loop_at(self, rel, line):
        """(header, last line, is the header) of the loop that ``line`` of ``rel`` starts, or None."""
        loops = self.loop_maps.get(rel)
        if loops is None:
            loops = self.loop_maps[rel] = _loops(os.path.join(self.root, rel))
        return loops.get(line)

    # -- events ----------------------------------------------------------------------------------------
    def on_call(self, frame, info):
        tid = threading.get_ident()
        stack = self.stacks.get(tid)
        if stack is None:
            stack = self.stacks[tid] = []
        parent = stack[-1] if stack else None
        if parent is not None and parent.pending is not None and parent.pending_shown and not parent.pending_printed:
            self.flush_pending(parent, None)  # the caller's line comes before what it calls
        state = self.suspended.pop(frame, None)
        resumed = state is not None
        if state is None:
            state = FrameState(info)
        state.hidden_by_fold = parent is not None and (parent.hidden_by_fold or self.folding(parent) is not None)
        if self.focus:  # the focused function and what it calls
            state.in_focus = info.focused or (parent is not None and parent.in_focus)
        elif self.focus_file is not None:  # the functions that hold the focused lines
            state.in_focus = info.focused
        state.depth = parent.depth + 1 if parent is not None and parent.in_focus else 0
        state.shown = state.in_focus and state.depth <= self.max_depth and not state.hidden_by_fold
        stack.append(state)
        self.states[frame] = state
        if not state.shown:
            if state.in_focus and not state.hidden_by_fold:
                self.hidden += 1
            return state
        if resumed:
            if self.folding(state) is None:
                self.write(state.depth, "resume %s  %s:%d" % (info.name, info.rel, frame.f_lineno))
        elif info.module:
            state.snapshot = self.locals_of(frame, info)
            self.write(state.depth, "run %s" % info.rel)
        else:
            state.snapshot = self.locals_of(frame, info)
            self.write(state.depth, "call %s(%s)  %s:%d" % (info.name, self.arguments(frame), info.rel, info.first_line))
        return state

    def on_line(self, frame, state, line):
        info = state.info
        if line == info.skip_line:
            return
        if state.pending is not None:
            self.flush_pending(state, frame)
        state.exception = None
        loops = state.loops
        while loops and not (loops[-1].head <= line <= loops[-1].end):
            self.close_loop(state, loops.pop(), frame)
        loop = self.loop_at(info.rel, line)
        if loop is not None:
            head, end, is_head = loop
            if loops and loops[-1].head == head:
                if state.last_line is not None and state.last_line >= line:
                    loops[-1].visits += 1  # back at the top: the next iteration
            elif is_head or not loops or loops[-1].head != head:
                loops.append(Loop(head, end))
        if loops:
            loops[-1].last = line
        state.last_line = line
        state.pending = line
        state.pending_printed = False
        folding = self.folding(state) is not None
        visible = state.shown and not folding
        if visible and self.focus_lines is not None:
            visible = info.rel == self.focus_file and self.focus_lines[0] <= line <= self.focus_lines[1]
        state.pending_shown = visible
        if state.shown and not visible:
            if folding:
                self.folded += 1
            else:
                self.hidden += 1

    def folding(self, state):
        """The outermost loop of ``state`` past its shown iterations, or None."""
        for loop in state.loops:
            if loop.visits > self.loop_iterations:
                return loop
        return None

    def close_loop(self, state, loop, frame):
        """Leaving ``loop``: the folded iterations as one line, with the locals they changed in all."""
        iterations = loop.visits - (1 if loop.last == loop.head else 0)
        extra = iterations - self.loop_iterations
        if extra > 0 and state.shown and self.folding(state) is None:
            changes = ""
            if frame is not None:
                current = self.locals_of(frame, state.info)
                changes = self.diff(state.snapshot, current)
                state.snapshot = current
            self.write(state.depth + 1, "... %d more iteration%s of lines %d-%d folded%s" % (
                extra, "" if extra == 1 else "s", loop.head, loop.end, "  # " + changes if changes else ""))

    def flush_pending(self, state, frame):
        """Show the line ``state`` was executing, with the locals it changed (``frame`` None: not yet known)."""
        line = state.pending
        if frame is None:
            state.pending_printed = True
            self.write(state.depth + 1, self.line_text(state, line, ""))
            return
        state.pending = None
        if not state.pending_shown:
            return
        current = self.locals_of(frame, state.info)
        changes = self.diff(state.snapshot, current)
        state.snapshot = current
        if not state.pending_printed:
            self.write(state.depth + 1, self.line_text(state, line, changes))
        elif changes:
            self.write(state.depth + 1, "%s:%d  # %s" % (state.info.rel, line, changes))

    def line_text(self, state, line, changes):
        source = linecache.getline(os.path.join(self.root, state.info.rel), line).rstrip()
        indent = len(source) - len(source.lstrip())
        body_indent = state.info.indent + (0 if state.info.module else 4)
        source = " " * max(0, indent - body_indent) + source.lstrip()
        text = "%s:%d  %s" % (state.info.rel, line, source)
        return text + ("  # " + changes if changes else "")

    def leave(self, frame, state):
        if state.pending is not None:
            self.flush_pending(state, frame)
        stack = self.stacks.get(threading.get_ident())
        if stack and stack[-1] is state:
            stack.pop()
        elif stack and state in stack:
            stack.remove(state)
        self.states.pop(frame, None)

    def on_return(self, frame, state, value, unwinding):
        self.leave(frame, state)
        while state.loops:
            self.close_loop(state, state.loops.pop(), None)
        if not state.shown:
            return
        if state.info.module:
            self.write(state.depth, "end %s" % state.info.rel + (" <- raised %s" % type(unwinding).__name__ if unwinding is not None else ""))
        elif unwinding is not None:
            self.write(state.depth, "return %s <- raised %s" % (state.info.name, type(unwinding).__name__))
        else:
            self.write(state.depth, "return %s -> %s" % (state.info.name, short(value, self.repr_limit)))

    def on_yield(self, frame, state, value):
        self.leave(frame, state)
        if len(self.suspended) < 10000:
            self.suspended[frame] = state
        if state.shown and self.folding(state) is None:
            self.write(state.depth, "yield %s -> %s" % (state.info.name, short(value, self.repr_limit)))

    def on_exception(self, frame, state, exception):
        state.exception = exception
        if any(seen is exception for seen in self.seen_exceptions):
            return  # shown where it was raised; the frames it passes through show it on return
        self.seen_exceptions = (self.seen_exceptions + [exception])[-8:]
        if not state.shown:
            return
        if state.pending is not None:
            self.flush_pending(state, frame)
        try:
            message = str(exception).replace("\n", "\\n")
        except Exception:
            message = "?"
        message = message if len(message) <= 160 else message[:157] + "..."
        self.write(state.depth + 1, "%s:%d  raised %s: %s" % (
            state.info.rel, frame.f_lineno, type(exception).__name__, message))

    # -- helpers ---------------------------------------------------------------------------------------
    def locals_of(self, frame, info):
        limit = self.repr_limit
        out = {}
        for name, value in list(frame.f_locals.items()):
            if info.module and (name.startswith("__") or type(value).__name__ in SKIPPED_TYPES):
                continue
            if name[:1] in ("@", ".", "$"):
                continue
            out[name] = short(value, limit)
        return out

    @staticmethod
    def diff(before, after):
        return ", ".join("%s=%s" % (name, text) for name, text in after.items() if before.get(name) != text)

    def arguments(self, frame):
        code = frame.f_code
        count = code.co_argcount + getattr(code, "co_kwonlyargcount", 0)
        count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        values = frame.f_locals
        return ", ".join("%s=%s" % (name, short(values[name], self.repr_limit))
                         for name in code.co_varnames[:count] if name in values)

    # -- engines -----------------------------------------------------------------------------------------
    def install(self):
        if self.engine == "sys.monitoring" and self._install_monitoring():
            return
        self.engine = "settrace"
        threading.settrace(self._settrace_global)
        sys.settrace(self._settrace_global)

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        if self.tool_id is not None:
            monitoring = sys.monitoring
            try:
                monitoring.set_events(self.tool_id, 0)
                for code in self.enabled_codes:
                    monitoring.set_local_events(self.tool_id, code, 0)
                for event in self._events():
                    monitoring.register_callback(self.tool_id, event, None)
                monitoring.free_tool_id(self.tool_id)
            except Exception:
                pass
        else:
            sys.settrace(None)
            threading.settrace(None)

    def _guarded(self, method, *args):
        tid = threading.get_ident()
        if tid in self.busy:
            return None
        self.busy.add(tid)
        try:
            return method(*args)
        finally:
            self.busy.discard(tid)

    # sys.settrace (Python < 3.12)
    def _settrace_global(self, frame, event, arg):
        if self.stopped or event != "call":
            return None
        info = self.code_info(frame.f_code, frame)
        if not info.traced:
            return None
        self._guarded(self.on_call, frame, info)
        return self._settrace_local

    def _settrace_local(self, frame, event, arg):
        if self.stopped:
            return None
        state = self.states.get(frame)
        if state is None:
            return None
        if event == "line":
            self._guarded(self.on_line, frame, state, frame.f_lineno)
        elif event == "return":
            if state.info.generator and state.exception is None and _suspended(frame):
                self._guarded(self.on_yield, frame, state, arg)
            else:
                self._guarded(self.on_return, frame, state, arg, state.exception)
        elif event == "exception":
            self._guarded(self.on_exception, frame, state, arg[1])
        return self._settrace_local

    # sys.monitoring (Python 3.12+)
    def _events(self):
        events = sys.monitoring.events
        return (events.PY_START, events.PY_RESUME, events.PY_THROW, events.LINE, events.PY_RETURN,
                events.PY_YIELD, events.PY_UNWIND, events.RAISE)

    def _install_monitoring(self):
        monitoring = sys.monitoring
        for tool_id in (4, 3, 5, 1):  # 0-2 are taken by convention by debuggers, coverage and profilers
            try:
                monitoring.use_tool_id(tool_id, "swe-gym-trace")
            except ValueError:
                continue
            self.tool_id = tool_id
            break
        else:
            return False
        events = monitoring.events
        callbacks = (self._mon_start, self._mon_start, self._mon_throw, self._mon_line, self._mon_return,
                     self._mon_yield, self._mon_unwind, self._mon_raise)
        for event, callback in zip(self._events(), callbacks):
            monitoring.register_callback(self.tool_id, event, callback)
        monitoring.set_events(self.tool_id, events.PY_START | events.PY_RESUME | events.PY_THROW
                              | events.PY_UNWIND | events.RAISE)
        return True

    def _mon_start(self, code, offset):
        if self.stopped:
            return None
        frame = sys._getframe(1)
        info = self.codes.get(code)
        if info is None:
            info = self.code_info(code, frame)
            if info.traced:
                events = sys.monitoring.events
                sys.monitoring.set_local_events(self.tool_id, code, events.LINE | events.PY_RETURN | events.PY_YIELD)
                self.enabled_codes.append(code)
        if not info.traced:
            return sys.monitoring.DISABLE  # never called again for this code: untraced code runs at full speed
        self._guarded(self.on_call, frame, info)
        return None

    def _mon_throw(self, code, offset, exception):
        info = self.codes.get(code)
        if info is not None and info.traced and not self.stopped:
            self._guarded(self.on_call, sys._getframe(1), info)

    def _mon_event(self, method, code, *args):
        if self.stopped:
            return
        frame = sys._getframe(2)
        state = self.states.get(frame)
        if state is not None:
            self._guarded(method, frame, state, *args)

    def _mon_line(self, code, line):
        self._mon_event(self.on_line, code, line)

    def _mon_return(self, code, offset, value):
        self._mon_event(self.on_return, code, value, None)

    def _mon_yield(self, code, offset, value):
        self._mon_event(self.on_yield, code, value)

    def _mon_unwind(self, code, offset, exception):
        self._mon_event(self.on_return, code, None, exception)

    def _mon_raise(self, code, offset, exception):
        self._mon_event(self.on_exception, code, exception)


def _argv():
    """The process's command line (sys.argv is not set yet when sitecustomize runs on old Pythons)."""
    try:
        with open("/proc/self/cmdline", "rb") as handle:
            parts = handle.read().split(b"\0")
        return [part.decode("utf-8", "replace") for part in parts if part] or [sys.executable]
    except OSError:
        return list(getattr(sys, "argv", None) or [sys.executable])


def _line_starts(code):
    if hasattr(code, "co_lines"):
        return [(start, line) for start, _end, line in code.co_lines()]
    import dis

    return list(dis.findlinestarts(code))


def _loops(path):
    """Line -> (loop header, loop's last line, whether the line is the header), for the loops of a file.

    A ``while`` loop's first body line is mapped too: the compiler may jump back there instead of the header.
    """
    loops = {}
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return loops
    kinds = tuple(kind for kind in (ast.For, ast.While, getattr(ast, "AsyncFor", None)) if kind is not None)
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            end = getattr(node, "end_lineno", None)
            if end is None:
                end = max(getattr(child, "lineno", node.lineno) for child in ast.walk(node))
            loops[node.lineno] = (node.lineno, end, True)
            if isinstance(node, ast.While) and node.body and node.body[0].lineno not in loops:
                loops[node.body[0].lineno] = (node.lineno, end, False)
    return loops


def _suspended(frame):
    """Whether a generator frame that fires a settrace 'return' event is suspended at a yield."""
    import dis

    code = frame.f_code.co_code
    offset = frame.f_lasti
    if not 0 <= offset < len(code):
        return False
    name = dis.opname[code[offset]]
    return name == "YIELD_VALUE" or (sys.version_info >= (3, 12) and name == "RESUME")


_TRACER = None


def start(config_path):
    """Start tracing this process with the JSON config at ``config_path`` (called by the bootstrap)."""
    global _TRACER
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    tracer = Tracer(config, os.path.dirname(config_path))
    tracer.open()
    _TRACER = tracer
    atexit.register(tracer.finish)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)
    tracer.install()
    return tracer


def _after_fork():
    """A forked child traces into a file of its own, from where its parent was."""
    tracer = _TRACER
    if tracer is None or tracer.stopped:
        return
    try:
        tracer.out = None
        tracer.lines = tracer.bytes = 0
        tracer.open()
    except OSError:
        tracer.stopped = True
