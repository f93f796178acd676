"""Which weights can afford 4 bits? Per-group sensitivity of EmbeddingGemma.

For each group (a role in a band of layers, or one Dense layer) quantize *only that
group* to 4-bit RTN, keep everything else fp32, and measure the cosine lost against the
fp32 reference on the evaluation set. The losses add up roughly linearly, so a budget of
bytes is best spent giving 8 bits to the groups with the most loss per byte.

    python -m models.sensitivity [--queries N --passages N]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path

import numpy as np
import onnx

from desktop_app.core.embedder import Embedder
from desktop_app.core.quantize import Recipe, apply_plan, classify_weights
from desktop_app.core.settings import EmbedderSettings
from models.build_cache import build_cache_dir
from models.evaluate import compare, load_eval_set, reference_vectors
from models.reference_weights import reference_dir

BANDS = ((0, 5), (6, 11), (12, 17), (18, 23))


def groups(weights) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for w in weights:
        if w.role == "embed":
            continue
        if w.layer < 0:
            key = w.role
        else:
            band = next(b for b in BANDS if b[0] <= w.layer <= b[1])
            key = f"{w.role}@{band[0]}-{band[1]}"
        out.setdefault(key, []).append(w.name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("fp32", type=Path, help="fp32 model.onnx (with tokenizer.json beside)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--passages", type=int, default=120)
    parser.add_argument("--block", type=int, default=32)
    args = parser.parse_args()

    eval_set = load_eval_set().subset(args.queries, args.passages)
    reference = reference_vectors(eval_set, reference_dir())
    base = onnx.load(str(args.fp32))
    weights = classify_weights(base)
    recipe = Recipe(name="probe", block_4bit=args.block, quantize_table=False)
    results = {}
    scratch = build_cache_dir() / "sensitivity-scratch"
    scratch.mkdir(exist_ok=True)
    for key, names in groups(weights).items():
        model = apply_plan(copy.deepcopy(base), dict.fromkeys(names, (4, args.block)), recipe)
        path = scratch / "model.onnx"
        for stale in scratch.glob("model.onnx*"):  # onnx appends to existing data files
            stale.unlink()
        onnx.save_model(model, str(path), save_as_external_data=True,
                        location="model.onnx.data", all_tensors_to_one_file=True)
        (scratch / "tokenizer.json").write_bytes((args.fp32.parent / "tokenizer.json").read_bytes())
        # fp32 compute: the study measures what rounding the weights costs, alone.
        vectors = Embedder(path, EmbedderSettings(compute="fp32")).embed_prompted(
            eval_set.texts)
        q = compare(eval_set, reference, vectors)
        params = sum(int(np.prod(w.shape)) for w in weights if w.name in names)
        results[key] = {"loss_mean": 1 - q.mean_cos_768, "loss_worst": 1 - q.worst_cos_768,
                        "params": params}
        print(f"{key:<16} params {params:>9,}  loss mean {1 - q.mean_cos_768:.5f}  "
              f"worst {1 - q.worst_cos_768:.5f}", flush=True)
    out = build_cache_dir() / f"sensitivity-{eval_set.digest}-b{args.block}.json"
    out.write_text(json.dumps(results, indent=1))
    shutil.rmtree(scratch, ignore_errors=True)
    print(out)


if __name__ == "__main__":
    main()


BITS_4 = 4 + 32 / 32 + 4 / 32  # 4-bit, block 32: fp32 scale and 4-bit zero point per block
BITS_8 = 8 + 32 / 128 + 8 / 128  # 8-bit, block 128


def greedy_selectors(results: dict[str, dict], headroom_bytes: float) -> list[str]:
    """Give 8 bits to the groups with the most loss per extra byte, within the headroom
    left by the all-4-bit artifact. Returns recipe selectors like ``"v@18-23"``."""
    def extra_bytes(r: dict) -> float:
        return r["params"] * (BITS_8 - BITS_4) / 8

    chosen, spent = [], 0.0
    ranked = sorted(results, key=lambda k: -(results[k]["loss_mean"] / extra_bytes(results[k])))
    for key in ranked:
        cost = extra_bytes(results[key])
        if spent + cost <= headroom_bytes:
            chosen.append(key)
            spent += cost
    return chosen
