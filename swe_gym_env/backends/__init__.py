"""Where sandboxes live, behind two protocols (:mod:`.base`): ``Sandbox`` and ``Backend``.

- :mod:`.base`: the protocols, :class:`Limits` and :class:`ExecResult`;
- :mod:`.wrapper`: how a command runs inside a sandbox (real timeout, capped output, process limits);
- :mod:`.workspace`: a task's starting state at ``/testbed`` and the agent's diff, over any sandbox;
- :mod:`.fake`: sandboxes in memory (unit tests, ``check_env``);
- :mod:`.docker`: containers on the local Docker daemon (client at the bottom, then images, shell
  sessions, warm pool, cleanup, the sandbox, the backend);
- :mod:`.ray`: containers on the nodes of a Ray cluster, each node's driven by a node-local actor
  that owns that node's Docker backend;
- :mod:`.factory`: a backend from its name and options (what ``gym.make("SWE-v0", backend=...)`` uses).
"""

from __future__ import annotations

from .base import WORKDIR, Backend, ExecResult, Limits, Sandbox

__all__ = ["Backend", "Sandbox", "Limits", "ExecResult", "WORKDIR"]
