"""Build the embedded default policy: a tiny Llama-style model and a BPE tokenizer trained here, no downloads.

The tokenizer is a byte-level BPE trained with the ``tokenizers`` library on text this project has:
the built-in libraries' sources, the training tasks' prompts, the tool-call format and the training
tasks' demonstrations (never a held-out task's fix). Merges may cross spaces and punctuation, so
recurring phrases - ``<tool_call>{"name": "str_replace_editor", ...`` or a line of library code - become
a few tokens: episodes are about 40% shorter than with word-bounded BPE, which is what makes training
on 2 CPU cores fast. Its chat template is Qwen-style (``<|im_start|>``/``<|im_end|>``, ``<tool_call>`` JSON,
``<tool_response>`` blocks) and renders each tool schema as a one-line signature: a tiny model has a
short context, and the full JSON schemas would be most of it. Everything is seeded, so the same config
and corpus give the same tokenizer and the same initial weights.

The model is a Llama decoder (RMSNorm, rotary, SwiGLU, grouped-query attention - Qwen2's design
without the qkv bias). Not Qwen2 itself: for ``model_type: qwen2`` ``AutoTokenizer`` swaps in Qwen's
own pre-tokenizer, which would silently re-tokenize a saved checkpoint differently from training.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
TOOL_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
DEFAULT_SYSTEM = "You are a software engineer. Fix the issue in the repository with the tools below."

# Qwen-compatible turns; tools as one-line signatures. Prefix-preserving: a conversation renders as a
# prefix of the same conversation with more messages, which multi-turn training relies on.
CHAT_TEMPLATE = (
    "{%- set ns = namespace(system='" + DEFAULT_SYSTEM + "', start=0) %}"
    "{%- if messages and messages[0].role == 'system' %}"
    "{%- set ns.system = messages[0].content %}{%- set ns.start = 1 %}"
    "{%- endif %}"
    "{{- '<|im_start|>system\\n' + ns.system }}"
    "{%- if tools %}"
    "{{- '\\n\\n# Tools\\n' }}"
    "{%- for tool in tools %}"
    "{%- set fn = tool.function if tool.function is defined else tool %}"
    "{%- set params = fn.parameters.properties if (fn.parameters is defined and fn.parameters.properties is defined) else {} %}"
    "{{- '- ' + fn.name + '(' + (params | list | join(', ')) + ')\\n' }}"
    "{%- endfor %}"
    "{{- 'Call one tool per turn: <tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>' }}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- for message in messages[ns.start:] %}"
    "{%- if message.role == 'user' %}"
    "{{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' + (message.content or '') }}"
    "{%- for call in (message.tool_calls or []) %}"
    "{%- set call = call.function if call.function is defined else call %}"
    "{{- '<tool_call>{\"name\": \"' + call.name + '\", \"arguments\": ' + (call.arguments | tojson) + '}</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class TinyConfig:
    """Shape of the tiny model and tokenizer. The defaults train on 2 CPU cores in minutes."""

    vocab_size: int = 4096  # BPE vocabulary cap (the embedding is rounded up to a multiple of 64)
    hidden_size: int = 128  # width; 128 x 4 layers is ~1.3M parameters: learns a few fixes in a minute on CPU
    num_layers: int = 4  # transformer blocks
    num_heads: int = 4  # attention heads
    num_kv_heads: int = 2  # grouped-query attention, as Qwen2 does
    intermediate_size: int = 384  # MLP width
    max_position_embeddings: int = 4096  # longest sequence the model can see
    seed: int = 0  # initial weights are a pure function of this seed and the shape


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 4096):
    """Train a byte-level BPE on ``corpus`` and wrap it as a transformers tokenizer with our chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [PAD, IM_START, IM_END]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=IM_END,
        pad_token=PAD,
        padding_side="left",
    )
    wrapped.add_tokens(list(TOOL_TOKENS))  # single tokens, but not "special": decoding keeps them
    wrapped.chat_template = CHAT_TEMPLATE
    set_response_template(wrapped)
    return wrapped


def set_response_template(tokenizer) -> None:
    """Let ``tokenizer.parse_response`` (and TRL's tool loop) read our Qwen-style tool calls."""
    try:
        from trl.chat_template_utils import qwen3_template
    except ImportError:  # older TRL: parsing is only needed by TRL's own tool loop
        return
    if getattr(tokenizer, "response_template", None) is None:
        tokenizer.response_template = qwen3_template


def build_model(tokenizer, config: TinyConfig):
    """A freshly initialized causal LM sized for ``tokenizer``; deterministic in ``config.seed``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = -(-len(tokenizer) // 64) * 64
    model_config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    devices = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed)
        model = LlamaForCausalLM(model_config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def tokenizer_corpus(tasks, extra: Iterable[str] = ()) -> list[str]:
    """Text to train the tokenizer on: library sources, the tasks' prompts, the tool formats, ``extra``."""
    from swe_gym_env.env import PROMPT_TEMPLATE
    from swe_gym_env.tasks.builtin import libraries, repo_files
    from swe_gym_env.tools import TOOL_SCHEMAS

    texts = []
    for library in libraries():
        for name, data in repo_files(library).items():
            texts += [name, data.decode("utf-8", errors="replace")]
    for task in tasks:
        texts.append(PROMPT_TEMPLATE.format(repo=task.repo, problem_statement=task.problem_statement.strip()))
    texts += [CHAT_TEMPLATE, DEFAULT_SYSTEM, *(json.dumps(schema) for schema in TOOL_SCHEMAS)]
    texts += list(extra)
    return texts


def build_tiny(corpus: Iterable[str], config: TinyConfig, out_dir: str | Path | None = None):
    """Train the tokenizer on ``corpus``, build the model, and save both to ``out_dir`` when given."""
    tokenizer = train_tokenizer(corpus, config.vocab_size)
    model = build_model(tokenizer, config)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        log.info("tiny model (%.1fM parameters) and tokenizer saved to %s", model.num_parameters() / 1e6, out)
    return model, tokenizer
