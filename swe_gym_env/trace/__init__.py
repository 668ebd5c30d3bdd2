"""The ``trace`` tool: run a command with its Python code traced, and show what the repository's code did.

- :mod:`.tracer` - the in-sandbox tracer (a resource copied into the sandbox, run by its own Python);
- :mod:`.bootstrap` - the ``sitecustomize`` that starts it in every Python process of the command;
- :mod:`.options` - the tool's arguments, checked;
- :mod:`.runner` - put the tracer in place for one command, run it, collect the traces, clean up;
- :mod:`.render` - the observation: the traces of the processes, caps, and the command's output;
- :mod:`.examples` - execution-trace training examples (Execution Tuning style) from tasks' test runs.
"""

from .options import TraceOptions
from .runner import TraceOutcome, run_trace

__all__ = ["TraceOptions", "TraceOutcome", "run_trace"]
