# swe-gym-env: `make train` runs the embedded default end to end; `make test` runs the test suite.
# Both set up everything they need on a fresh machine: a virtual environment, a Docker engine
# (installed and started when absent, as root), the base image (pulled, or bootstrapped offline)
# and the built-in task images.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch is enough for the embedded default; an unpinned torch pulls CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

# The embedded default (configs/tiny.yaml) on CPU; a real run is one flag away, e.g.
#   make train TRAIN_ARGS="--config configs/qwen2.5-coder-7b.yaml"
TRAIN_ARGS ?=

.PHONY: install engine images train test test-unit eval tasks gc clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[train,trl,mini-swe-agent,skyrl,openai,ray,dev]"
	touch $@

engine: install
	$(BIN)/swe-gym-env engine

images: engine
	$(BIN)/swe-gym-env -v setup

train: images
	$(BIN)/python -m trainer $(TRAIN_ARGS)

test: images
	SWE_GYM_REQUIRE_DOCKER=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# SWE-bench Verified by default (needs the Hugging Face Hub and the official images); for example
#   make eval EVAL_ARGS="--policy openai --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-Coder-32B-Instruct"
#   make eval EVAL_ARGS="--dataset builtin --policy oracle"
EVAL_ARGS ?= --policy hf --model $(MODEL)
MODEL ?= runs/latest/final
eval: engine
	$(BIN)/python -m trainer.eval $(EVAL_ARGS)

tasks: images
	$(BIN)/python -m swe_gym_env.synth.builtin

gc: install
	$(BIN)/swe-gym-env gc

clean: gc
	rm -rf runs .pytest_cache
