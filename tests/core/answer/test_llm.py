"""The llama.cpp engine on the real 270M GGUF: streaming, cancel, one user at a time,
the tokenizer, and reuse of the KV cache for the fixed prefix."""

from __future__ import annotations

import threading
import time

import llama_cpp
import pytest

from desktop_app.core.answer import GEMMA, LlamaEngine, fixed_prefix
from desktop_app.core.errors import KuraError


def prompt_for(passage: str, question: str) -> str:
    return (f"{fixed_prefix(GEMMA)}[1] notes.md\n{passage}\n\nQuestion: {question}"
            f"{GEMMA.end_turn}{GEMMA.model_turn}")


PROMPT = prompt_for("The reset portal is https://reset.example.", "How do I reset it?")


def test_context_threads_and_offload_are_explicit(engine: LlamaEngine) -> None:
    assert engine.n_ctx == engine.llama.n_ctx() == 4096  # not the model's 32k
    assert engine.llama.context_params.n_threads == engine.settings.threads >= 1
    expected = -1 if llama_cpp.llama_supports_gpu_offload() else 0
    assert engine.gpu_layers == expected


def test_the_prompt_format_is_chosen_from_the_model_file(engine: LlamaEngine) -> None:
    assert engine.info.architecture == "gemma3" and not engine.info.has_chat_template
    assert engine.prompt_format is GEMMA


def test_tokenizer_is_the_models_and_parses_turn_markers(engine: LlamaEngine) -> None:
    ids = engine.tokenize("<start_of_turn>user\n你好<end_of_turn>\n", bos=True)
    assert ids[0] == engine.llama.token_bos()
    assert ids[1] == engine.llama.tokenize(b"<start_of_turn>", add_bos=False, special=True)[0]
    assert len(ids) == engine.count_tokens("<start_of_turn>user\n你好<end_of_turn>\n", bos=True)
    assert engine.detokenize(engine.tokenize("密码 reset")) == "密码 reset"


def test_streaming_yields_pieces_as_they_are_written(engine: LlamaEngine) -> None:
    generation = engine.generate(PROMPT, max_tokens=16, temperature=0.0)
    pieces = iter(generation)
    first = next(pieces)
    assert first and generation.stats.first_token_s is not None
    assert generation.stats.total_s is None  # still running: nothing was buffered
    rest = list(pieces)
    stats = generation.stats
    assert len(rest) >= 8  # one piece per token, give or take multi-byte characters
    assert stats.finish_reason in {"length", "stop"} and stats.completion_tokens <= 16
    assert stats.total_s is not None and stats.total_s > stats.first_token_s
    assert stats.tokens_per_s and stats.tokens_per_s > 0


def test_cancel_stops_at_the_next_token_and_the_model_stays_usable(engine: LlamaEngine) -> None:
    llama_before = engine.llama
    generation = engine.generate(PROMPT, max_tokens=200, temperature=0.0)
    received = []
    for piece in generation:
        received.append(piece)
        if len(received) == 3:
            canceller = threading.Thread(target=generation.cancel)  # as a GUI would
            canceller.start()
            canceller.join()
    assert len(received) == 3
    assert generation.cancelled and generation.stats.completion_tokens == 3
    # The next question works, on the same loaded model.
    again = engine.generate(prompt_for("Rooms are booked in the calendar.", "How?"), 8)
    assert again.text() and again.stats.finish_reason in {"length", "stop"}
    assert engine.llama is llama_before


def test_should_stop_is_checked_before_the_first_token(engine: LlamaEngine) -> None:
    generation = engine.generate(PROMPT, max_tokens=50, should_stop=lambda: True)
    assert generation.text() == ""
    assert generation.cancelled and generation.stats.completion_tokens <= 1


def test_one_caller_at_a_time(engine: LlamaEngine) -> None:
    generation = engine.generate(PROMPT, max_tokens=12, temperature=0.0)
    pieces = iter(generation)
    next(pieces)  # this thread now holds the model
    with pytest.raises(KuraError, match="still answering"):
        engine.tokenize("same thread, second use")
    done = threading.Event()
    other = threading.Thread(target=lambda: (engine.count_tokens("other thread"), done.set()))
    other.start()
    time.sleep(0.3)
    assert not done.is_set()  # waiting for the model, not using it concurrently
    list(pieces)
    other.join(timeout=10)
    assert done.is_set()


def test_the_fixed_prefix_is_reused_from_the_kv_cache(engine: LlamaEngine) -> None:
    ctx = engine.llama._ctx.ctx  # llama.cpp's own counters, to check Kura's figure
    engine.generate(prompt_for("Travel is booked through the portal.", "Where?"), 2).text()
    before = llama_cpp.llama_perf_context(ctx).n_p_eval
    generation = engine.generate(prompt_for("Expenses are filed monthly.", "When?"), 2)
    generation.text()
    evaluated = llama_cpp.llama_perf_context(ctx).n_p_eval - before
    prefix_tokens = engine.count_tokens(fixed_prefix(GEMMA), bos=True)
    assert generation.stats.reused_tokens >= prefix_tokens
    assert generation.stats.evaluated_tokens == evaluated
    assert evaluated < generation.stats.prompt_tokens - prefix_tokens + 1


def _logits_after_prefix_reuse(llama, long_ids: list[int], short_ids: list[int]):
    """Last-token logits of ``short_ids`` read fresh, and read after ``long_ids`` with
    their common prefix kept in the KV cache (what ``Llama.generate`` does on a match)."""
    import numpy as np

    common = next(i for i, (a, b) in enumerate(zip(long_ids, short_ids, strict=False))
                  if a != b)

    def last_logits() -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()

    llama.reset()
    llama.eval(short_ids)
    fresh = last_logits()
    llama.reset()
    llama.eval(long_ids)
    llama.n_tokens = common
    llama.eval(short_ids[common:])
    return fresh, last_logits(), common


def test_reusing_the_prefix_after_a_long_prompt_is_exact(engine: LlamaEngine,
                                                         gguf_270m) -> None:
    """Gemma 3's sliding-window layers lose positions that slid out of the window unless
    the full-size SWA cache is on, and llama-cpp-python reuses the prefix regardless. The
    same reuse on a context without it is shown to go wrong, so this test can tell."""
    import numpy as np

    rules = " ".join(f"Rule {i}: receipts are kept for audit in folder {i}." for i in range(80))
    long_ids = engine.tokenize(prompt_for(rules, "What is rule 3?"), bos=True)
    assert len(long_ids) > 1024 + 100  # past the window (512) plus a batch: cells reused
    short_ids = engine.tokenize(prompt_for("Rooms are booked in the calendar.", "How?"),
                                bos=True)
    fresh, reused, common = _logits_after_prefix_reuse(engine.llama, long_ids, short_ids)
    assert common >= engine.count_tokens(fixed_prefix(GEMMA), bos=True)
    # Only rounding differs (the prefix was computed in a batch of another size).
    assert float(np.abs(fresh - reused).max()) < 1.0
    assert fresh.argmax() == reused.argmax()

    small_cache = llama_cpp.Llama(str(gguf_270m), n_ctx=engine.n_ctx, swa_full=False,
                                  n_threads=engine.settings.threads, verbose=False)
    try:
        fresh, reused, _ = _logits_after_prefix_reuse(small_cache, long_ids, short_ids)
    finally:
        small_cache.close()
    assert float(np.abs(fresh - reused).max()) > 3.0  # measured: about 15
