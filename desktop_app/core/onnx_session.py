"""How Kura runs onnxruntime on a laptop CPU: one place for the session options that the
embedder and the OCR engine share."""

from __future__ import annotations

from typing import Any


def cpu_session_options(threads: int, *, memory_arena: bool = True) -> Any:
    """``onnxruntime.SessionOptions`` for ``threads`` intra-op threads, run in sequence.

    ``memory_arena=False`` for a model whose input size changes with every call (OCR's
    detector sees each page at its own size): an arena would keep the largest call's
    buffers for the process's life."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = memory_arena
    # Idle pool threads sleep instead of spinning. On a busy machine (Kura's own reading
    # workers, anything else) spinning threads steal the core the straggler of each
    # parallel step needs: measured 1.25x (fp32) to 1.35x (int8) the embedder's tokens/s
    # with one competing process, and no loss on an idle machine
    # (benchmarks/embedder.py --busy 1).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
