"""Task synthesis from any Python repository with a test suite, and the shipped synthesized set.

- :mod:`.repo`: a repository as files (built-in library, sdist from the package index, directory,
  git commit) and its repository image;
- :mod:`.mutate`: procedural bugs (AST-located mutations of covered functions);
- :mod:`.pipeline`: mutants screened many per container, kept ones turned into tasks and validated
  the SWE-bench way;
- :mod:`.history`: tasks from a repository's own commits that change source and tests together;
- :mod:`.statements`: bug reports from symptoms, never from the diff;
- :mod:`.builtin`: the hand-written built-in tasks, from their specs, measured and validated.

``load_tasks("synth")`` reads the set synthesized from the project's own libraries
(``tasks/builtin/synth_tasks.jsonl.gz``; rebuild it with ``swe-gym-env tasks synth builtin:all``).
"""
