"""SWE-v0 inside other agents and trainers: one adapter module per framework, each importing it lazily.

- :mod:`.trl` - TRL's ``GRPOTrainer(environment_factory=...)``: :class:`~.trl.TRLSWEEnvironment` and
  :class:`~.trl.TRLEnvironmentFactory` (no import of ``trl`` at all: the interface is duck-typed);
- :mod:`.mini_swe_agent` - a mini-swe-agent ``Environment`` (:class:`~.mini_swe_agent.SWEMiniEnvironment`);
- :mod:`.skyrl` - a SkyRL-gym ``BaseTextEnv`` (:class:`~.skyrl.SWESkyRLEnv`, ``register()``);
- an OpenAI-style chat-completions tool loop needs no adapter: ``info["tools"]`` are the ``tools`` of
  the request and a tool call goes to ``env.step`` as it is (see the README).

Importing this package imports no framework; importing an adapter module imports only its own.
Infrastructure faults (``info["failure"]``) never reach a framework as a zero reward: each adapter
turns them into what its framework treats as a masked or errored episode (see :mod:`.common`).
"""
