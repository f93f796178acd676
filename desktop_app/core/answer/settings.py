"""Settings of the answering side: which model file, how big a context, how long an answer.

The model is the catalog's ``llm`` bundle (``model_files/catalog.json``: its file, its
name and size as the window shows them), installed in Kura's models folder, unless
``KURA_LLM_PATH`` points at another GGUF (any llama.cpp model works; its prompt format
is chosen from the file, ``prompt_formats.py``).

Or a server on the user's network writes them (``remote.py``): ``remote_url``, off (None)
unless the window's Settings turn it on or, for the command line, ``KURA_REMOTE_LLM``
names one. Kura still retrieves, builds the prompt and checks the answer itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.core.answer.evidence import MAX_PASSAGES, PROMPT_TOKENS
from desktop_app.core.model_files.catalog import Bundle, load_catalog
from desktop_app.core.model_files.locations import role_target
from desktop_app.core.paths import default_threads, remote_llm_override
from desktop_app.core.relevance import DECLINE_BELOW


def llm_bundle() -> Bundle:
    """The answer model the catalog downloads: its file, name and size."""
    return load_catalog().choose("llm")


def llm_path() -> Path:
    """The GGUF file answers are written with (``KURA_LLM_PATH`` overrides)."""
    return role_target(llm_bundle())


@dataclass(frozen=True)
class LLMSettings:
    """How the language model is loaded."""

    model_path: Path | None = None  # None: llm_path(), read when the model is loaded
    # Set explicitly: llama.cpp would otherwise allocate the model's training context
    # (128k tokens for Gemma 3 4B), gigabytes of KV cache a RAG answer never uses.
    n_ctx: int = 8192
    n_batch: int = 512  # prompt tokens per decode call
    # Generating a token is bound by memory bandwidth: half the CPUs (the physical cores
    # on a hyper-threaded machine) is as fast as all of them, and it degrades gracefully
    # when the CPU is shared (background embedding, the GUI). llama.cpp's threads wait
    # for each other at every step, so one preempted thread stalls them all: measured on
    # a busy 2-CPU machine, 2 threads made 1-24 tokens/s where 1 thread made 50-75.
    threads: int = field(default_factory=lambda: default_threads(0.5))
    # Reading the prompt is compute-bound: every CPU helps.
    batch_threads: int = field(default_factory=default_threads)
    gpu: bool = True  # offload every layer when llama.cpp was built with GPU support
    seed: int = 0  # sampling is reproducible for a given prompt and temperature
    # An OpenAI-compatible server on the user's network writes the answers instead
    # (``remote.py``); None: this computer does (the default). Unless given, it is what
    # ``KURA_REMOTE_LLM`` says (the command line's switch; the window passes its own).
    # ``n_ctx`` above is its context when the server does not tell.
    remote_url: str | None = field(default_factory=remote_llm_override)

    def resolved_path(self) -> Path:
        return Path(self.model_path) if self.model_path else llm_path()


@dataclass(frozen=True)
class AnswerSettings:
    """How a question is answered."""

    passages_k: int = 8  # passages retrieved; as many as fit the budget go to the model
    max_answer_tokens: int = 512  # reserved in the context for the answer
    temperature: float = 0.2  # low: the answer should restate the passages, not invent
    history_questions: int = 2  # earlier questions shown to the model in a conversation
    # Confidence that the passages answer the question (``decline.decide``) under
    # which Kura declines.
    decline_below: float = DECLINE_BELOW
    # Passages less likely than this to be relevant are not given to the model: search
    # always returns k results, and on a small library most are unrelated (relevance
    # 0.00-0.02 on corp_kb). They would cost prompt reading time (the first token waits
    # for it) and distract a small model. Keyword-only hits (not embedded yet, no
    # relevance) are kept. 0 gives the model every retrieved passage that fits.
    min_relevance: float = 0.1
    # The passages go to the model as excerpts: reranked by their best sentence,
    # near-duplicates dropped, trimmed to the sentences that answer, within
    # ``prompt_tokens`` (``evidence``: the first word waits for the model to read them).
    # False gives them whole, in search order, as many as fit the context.
    trim_passages: bool = True
    prompt_tokens: int = PROMPT_TOKENS
    max_passages: int = MAX_PASSAGES
