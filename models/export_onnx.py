"""Export EmbeddingGemma (sentence-transformers layout) to one fp32 ONNX graph.

Signature, the same as onnx-community/embeddinggemma-300m-ONNX so either artifact runs
in Kura:
    inputs   input_ids, attention_mask        int64 [batch, seq]
    outputs  last_hidden_state                 float [batch, seq, 768]
             sentence_embedding                float [batch, 768]  (mean pool, Dense,
                                                Dense, L2 normalize — all in the graph)

Why a wrapper module instead of optimum: optimum does not import under transformers 5,
and the wrapper lets us build Gemma 3's *bidirectional* masks ourselves: full-attention
layers see every real token; sliding layers see real tokens with |q - k| < 512. Without
that window a 1,100-token text loses ~3% cosine against the reference.

The Dense layers are written as MatMul (not Linear, which exports as Gemm) because the
4-bit quantizer only handles MatMul.

Needs the ``export`` extra (torch). Run:  python -m models.export_onnx OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import AutoModel

# Opset 23 has RMSNormalization and opset 20 a tanh Gelu: exported as single nodes, they
# run as fused kernels in onnxruntime instead of ~10 elementwise ops each (about a fifth
# of the run time at opset 18).
OPSET = 23


def _fused_rms_norm(self, x: torch.Tensor) -> torch.Tensor:
    """Gemma3RMSNorm.forward, written with F.rms_norm so it exports as one node.

    Same arithmetic: normalize in fp32, scale by (1 + weight), cast back.
    """
    out = nn.functional.rms_norm(
        x.float(), (x.shape[-1],), weight=1.0 + self.weight.float(), eps=self.eps
    )
    return out.type_as(x)


class EmbeddingGemmaForExport(nn.Module):
    def __init__(self, model_dir: Path) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(
            model_dir, torch_dtype=torch.float32, attn_implementation="eager"
        ).eval()
        for module in self.encoder.modules():
            if type(module).__name__ == "Gemma3RMSNorm":
                module.forward = types.MethodType(_fused_rms_norm, module)
        config = self.encoder.config
        self.sliding_window = int(config.sliding_window)
        self.layer_types = list(config.layer_types)
        modules = json.loads((model_dir / "modules.json").read_text())
        dense_dirs = [m["path"] for m in modules if m["type"].endswith("Dense")]
        # Stored as [out, in]; keep the transposed copy so the graph is a plain MatMul.
        self.dense = nn.ParameterList(
            nn.Parameter(load_file(str(model_dir / d / "model.safetensors"))["linear.weight"].T)
            for d in dense_dirs
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        seq = input_ids.shape[1]
        keys = attention_mask.bool()[:, None, None, :]  # [b, 1, 1, s]
        pos = torch.arange(seq, device=input_ids.device)
        window = (pos[:, None] - pos[None, :]).abs() < self.sliding_window  # [s, s]
        neg = torch.finfo(torch.float32).min
        zero = torch.zeros((), dtype=torch.float32)
        full = torch.where(keys, zero, neg)
        sliding = torch.where(keys & window[None, None], zero, neg)
        masks = {"full_attention": full, "sliding_attention": sliding}
        # Positions per row (not one row broadcast): onnxruntime's fused RotaryEmbedding
        # wants cos/sin with the batch dimension of its input.
        positions = pos[None, :].expand(input_ids.shape[0], seq)
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=masks, position_ids=positions
        ).last_hidden_state

        weights = attention_mask.to(hidden.dtype)[..., None]
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        for w in self.dense:
            pooled = torch.matmul(pooled, w)
        embedding = pooled / pooled.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        return hidden, embedding


def _strip_build_environment(target: Path) -> None:
    """Rewrite the graph without the exporter's stack traces, doc strings and producer
    (they hold this checkout's and site-packages' absolute paths): the same weights give
    the same bytes wherever they are exported. The weights file is left as written."""
    import onnx

    from desktop_app.core.onnx_hygiene import scrub

    model = onnx.load(str(target), load_external_data=False)
    onnx.save_model(scrub(model), str(target))


TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "config.json",
)


def export(model_dir: Path, out_dir: Path) -> Path:
    """Write ``model.onnx`` (+ ``model.onnx_data``) and the tokenizer files to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wrapper = EmbeddingGemmaForExport(model_dir).eval()
    example = (
        torch.tensor([[2, 1000, 2000, 1], [2, 3000, 1, 0]], dtype=torch.long),
        torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long),
    )
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    target = out_dir / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            example,
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state", "sentence_embedding"],
            dynamo=True,
            opset_version=OPSET,
            dynamic_shapes={
                "input_ids": {0: batch, 1: seq},
                "attention_mask": {0: batch, 1: seq},
            },
            external_data=True,
        )
    _strip_build_environment(target)
    for name in TOKENIZER_FILES:
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, out_dir / name)
    return target


if __name__ == "__main__":
    from models.reference_weights import ensure_reference_weights

    src = Path(sys.argv[2]) if len(sys.argv) > 2 else ensure_reference_weights()
    print(export(src, Path(sys.argv[1])))
