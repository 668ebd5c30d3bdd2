# The trace tool's bootstrap, installed as ``sitecustomize`` in a temporary directory put first on
# PYTHONPATH for one traced command. It starts the tracer next to it, takes that directory off
# sys.path again (the program sees the sys.path it would have had), then runs the sitecustomize it
# shadowed, if there is one. Kept to syntax every Python can parse, so an old interpreter that meets
# it only says it cannot trace.
# ruff: noqa: UP031, UP036, BLE001
import os
import sys


def _swe_gym_trace_start():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        if sys.version_info >= (3, 6):
            sys.path.insert(0, here)
            import swe_gym_tracer

            swe_gym_tracer.start(os.path.join(here, "config.json"))
        else:
            sys.stderr.write("[trace] Python %d.%d is too old to trace (3.6+ needed)\n" % sys.version_info[:2])
    except Exception as error:
        sys.stderr.write("[trace] the tracer could not start: %r\n" % (error,))
    finally:
        sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the one this file shadows, if any)
    except Exception as error:
        if not isinstance(error, ImportError) or "sitecustomize" not in str(error):
            sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n"
                             % (type(error).__name__, error))
        if this is not None:
            sys.modules["sitecustomize"] = this


_swe_gym_trace_start()
