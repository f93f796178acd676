"""Kura's quantization recipe for EmbeddingGemma: fp32 ONNX in, < 200 MB ONNX out.

Needs only ``onnx`` and ``onnxruntime`` (no torch), because the app runs it on a user's
machine on first launch, on whichever fp32 graph it has: Kura's own export or
onnx-community's ``onnx/model.onnx``. Nodes are therefore selected by *layer and role*
found from the graph's structure, never by an exporter's node names.

Why mixed precision: all-4-bit MatMuls lose ~3% cosine (mean 0.972, worst 0.907) on
this model; the loss comes mostly from v_proj, o_proj, down_proj, the two Dense layers
and the last layers, while q/k/gate/up lose almost nothing. 8-bit everywhere does not fit
in 200 MB beside the 4-bit token table, so the sensitive weights get 8 bits and the rest
4. The measured table that chose the default lives in the README.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from desktop_app.core.onnx_hygiene import scrub

ROLES = ("q", "k", "v", "o", "gate", "up", "down", "dense1", "dense2")


@dataclass(frozen=True)
class WeightNode:
    """A MatMul (or the token-table Gather) whose weight is a constant."""

    name: str
    role: str  # one of ROLES, or "embed" for the token table
    layer: int  # transformer layer index; -1 for the table and the Dense head
    shape: tuple[int, ...]

    @property
    def params(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Recipe:
    """Which weights get 8 bits; the rest get 4.

    ``eight_bit`` holds selectors: ``"v"`` (that role in every layer), ``"v@18-23"`` (that
    role in layers 18..23), ``"@20-23"`` (every role in those layers), ``"dense1"``. The
    token table is always 4-bit (the only width GatherBlockQuantized supports).
    """

    name: str
    eight_bit: frozenset[str] = frozenset()
    fine_4bit: frozenset[str] = frozenset()  # selectors for 4-bit with small blocks
    block_4bit: int = 32
    block_4bit_fine: int = 16
    block_8bit: int = 128
    block_table: int = 32
    table_scales_fp16: bool = True
    table_symmetric: bool = False
    clip_search: bool = True  # 4-bit MatMuls: per-block clipping with the least error
    algorithm_4bit: str = "rtn"  # "rtn" or "hqq"
    symmetric: bool = False
    accuracy_level: int | None = None  # MatMulNBits compute type; 4 = int8 compute
    quantize_table: bool = True
    notes: str = field(default="", compare=False)

    def bits_for(self, w: WeightNode) -> int:
        return 8 if any(_selects(s, w) for s in self.eight_bit) else 4

    def fingerprint(self) -> str:
        """Stable across processes (a frozenset's repr is not: string hashes are
        randomized), so build caches keyed on it are found again."""
        fields = {k: sorted(v) if isinstance(v, frozenset) else v
                  for k, v in sorted(vars(self).items()) if k != "notes"}
        return json.dumps(fields, sort_keys=True)

    def block_for(self, w: WeightNode) -> int:
        if self.bits_for(w) == 8:
            return self.block_8bit
        fine = any(_selects(s, w) for s in self.fine_4bit)
        return self.block_4bit_fine if fine else self.block_4bit


def _selects(selector: str, w: WeightNode) -> bool:
    role, _, band = selector.partition("@")
    if role and role != w.role:
        return False
    if not band:
        return bool(role)
    first, _, last = band.partition("-")
    return int(first) <= w.layer <= int(last or first)


ALL_ROLES = frozenset(ROLES)

# Every variant measured in benchmarks/quantization.py; the table is in the README.
# Selectors of the shipped default come from models/sensitivity.py: the groups with the
# most cosine lost per extra byte (on passages and on short queries) get 8 bits, within
# the bytes left under 200 MB by the all-4-bit artifact.
KURA_EIGHT_BIT = frozenset({
    "v", "k@0-5", "o@12-23", "down@12-23", "gate@18-23", "up@18-23", "dense1", "dense2",
})
RECIPES = {
    r.name: r
    for r in (
        Recipe("all-4bit", notes="every MatMul 4-bit"),
        Recipe("all-8bit", eight_bit=ALL_ROLES, notes="over budget: the ceiling of 8 bits"),
        # The table's zero points (3 MB) buy 8 bits for down@12-17 and k@0-5 instead.
        Recipe("kura-mixed", eight_bit=KURA_EIGHT_BIT, table_symmetric=True,
               notes="the default: 8 bits where the sensitivity study says, clip search"),
        Recipe("kura-mixed-rtn", eight_bit=KURA_EIGHT_BIT, table_symmetric=True,
               clip_search=False,
               notes="the default without the clip search (plain round-to-nearest)"),
        Recipe("kura-mixed-table128", eight_bit=KURA_EIGHT_BIT, block_table=128,
               table_scales_fp16=False,
               notes="the default with the usual token table (block 128, fp32 scales)"),
        Recipe("kura-mixed-int8", eight_bit=KURA_EIGHT_BIT, table_symmetric=True,
               accuracy_level=4,
               notes="the default's weights with int8 compute (accuracy_level 4)"),
    )
}

# The shipped default; chosen from the table in the README (benchmarks/quantization.py).
DEFAULT_RECIPE = RECIPES["kura-mixed"]


def _weight_inputs(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
    for node in model.graph.node:  # some exporters store weights as Constant nodes
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    shapes[node.output[0]] = tuple(attr.t.dims)
    return shapes


def classify_weights(model: onnx.ModelProto) -> list[WeightNode]:
    """Find every weight MatMul and the token table, with its layer and role.

    Structure used (true of any faithful export of Gemma 3 + the ST head):
    * q, k, v read the same tensor; k and q reach a Softmax before any other weight
      MatMul, v does not; q is the wide one (heads x 256), k the narrow one.
    * gate and up read the same tensor; gate passes through the GELU's Tanh/Erf/Gelu,
      up does not. down is the MatMul that follows them.
    * o is the first weight MatMul after a layer's v.
    * after the last layer come the two Dense MatMuls.
    """
    graph = model.graph
    weights = _weight_inputs(model)
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    def weight_of(node: onnx.NodeProto) -> str | None:
        is_weight = node.op_type == "MatMul" and len(node.input) == 2
        if is_weight and len(weights.get(node.input[1], ())) == 2:
            return node.input[1]
        return None

    def reaches(node: onnx.NodeProto, ops: set[str], limit: int = 60) -> bool:
        """Does node's output reach one of ``ops`` before another weight MatMul?"""
        seen: set[str] = set()
        queue = deque(node.output)
        steps = 0
        while queue and steps < limit:
            tensor = queue.popleft()
            for nxt in consumers.get(tensor, []):
                if nxt.name in seen or weight_of(nxt):
                    continue
                seen.add(nxt.name)
                steps += 1
                if nxt.op_type in ops:
                    return True
                queue.extend(nxt.output)
        return False

    table: list[WeightNode] = []
    for node in graph.node:  # graph.node is topologically sorted (ONNX requires it)
        if node.op_type == "Gather" and node.input[0] in weights:
            shape = weights[node.input[0]]
            if len(shape) == 2 and shape[0] > 10_000:
                table.append(WeightNode(node.name, "embed", -1, shape))

    matmuls = [n for n in graph.node if weight_of(n)]
    by_input: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for n in matmuls:
        by_input[n.input[0]].append(n)

    found: list[WeightNode] = []
    layer = -1
    pending: deque[str] = deque()  # roles expected next within the current layer
    for n in matmuls:
        shape = weights[weight_of(n) or ""]
        siblings = by_input[n.input[0]]
        if len(siblings) == 3:  # q, k, v
            if n is siblings[0]:
                layer += 1
            attends = reaches(n, {"Softmax"})
            if not attends:
                role = "v"
            else:
                widths = sorted(weights[weight_of(s) or ""][1] for s in siblings)
                role = "q" if shape[1] == widths[-1] else "k"
            if role == "v":
                pending = deque(["o"])
        elif len(siblings) == 2:  # gate, up
            role = "gate" if reaches(n, {"Tanh", "Erf", "Gelu", "FastGelu"}, 8) else "up"
            pending = deque(["down"])
        elif pending:
            role = pending.popleft()
        else:  # after the last layer: the Dense head
            role = "dense1" if not any(w.role == "dense1" for w in found) else "dense2"
        found.append(WeightNode(n.name, role, layer if not role.startswith("dense") else -1,
                                shape))
    _check_structure(found)
    return table + found


def gemm_to_matmul(model: onnx.ModelProto) -> int:
    """Rewrite Gemm nodes with a constant 2-D weight as MatMul (+ Add for a bias).

    Exporters write nn.Linear as Gemm when the input is 2-D (EmbeddingGemma's Dense head
    after pooling); onnxruntime's 4-bit quantizer only handles MatMul. Returns how many
    nodes were rewritten.
    """
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    rewritten = 0
    for position in range(len(graph.node) - 1, -1, -1):
        node = graph.node[position]
        if node.op_type != "Gemm" or node.input[1] not in inits:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 \
                or attrs.get("beta", 1.0) != 1.0:
            continue
        weight = numpy_helper.to_array(inits[node.input[1]])
        if attrs.get("transB", 0):
            weight = np.ascontiguousarray(weight.T)
        weight_name = node.input[1] + "_as_matmul"
        graph.initializer.append(numpy_helper.from_array(weight, weight_name))
        has_bias = len(node.input) > 2 and node.input[2]
        out = node.output[0] + "_matmul" if has_bias else node.output[0]
        replacement = [onnx.helper.make_node("MatMul", [node.input[0], weight_name], [out],
                                             name=node.name + "_matmul")]
        if has_bias:
            replacement.append(onnx.helper.make_node("Add", [out, node.input[2]],
                                                     [node.output[0]], name=node.name + "_bias"))
        del graph.node[position]
        for offset, new in enumerate(replacement):
            graph.node.insert(position + offset, new)
        rewritten += 1
    used = {name for n in graph.node for name in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
    return rewritten


def _check_structure(found: list[WeightNode]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for w in found:
        counts[w.role] += 1
    layers = max((w.layer for w in found), default=-1) + 1
    expected = {r: layers for r in ROLES[:7]} | {"dense1": 1, "dense2": 1}
    if layers == 0 or dict(counts) != expected:
        raise ValueError(
            "this graph does not look like EmbeddingGemma "
            f"(found roles {dict(counts)}, expected {expected})"
        )


def quantize(
    src: Path,
    dst: Path,
    recipe: Recipe = DEFAULT_RECIPE,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Quantize ``src`` (fp32 ONNX with external data) into ``dst`` (a .onnx path).

    Writes ``dst`` and ``dst.data`` next to each other; the caller moves the folder into
    place, so a half-written model is never where Kura loads from.
    """

    say = progress or (lambda _msg: None)
    say(f"loading {src.name}")
    model = onnx.load(str(src))
    gemm_to_matmul(model)
    plan = {
        w.name: (recipe.bits_for(w), recipe.block_for(w))
        for w in classify_weights(model)
        if w.role != "embed"
    }
    model = apply_plan(model, plan, recipe, say)
    # The graph's bytes are the embedder's identity (Embedder.model_id): nothing of the
    # machine or folder it was built in may stay in it.
    scrub(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    say(f"saving {dst.name}")
    data = dst.with_name(dst.name + ".data")
    # onnx appends to an existing external-data file: start from nothing.
    for stale in (dst, data):
        stale.unlink(missing_ok=True)
    onnx.save_model(
        model,
        str(dst),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=dst.name + ".data",
        size_threshold=1024,
    )
    return dst


def apply_plan(
    model: onnx.ModelProto,
    plan: dict[str, tuple[int, int]],
    recipe: Recipe,
    say: Callable[[str], None] = lambda _msg: None,
) -> onnx.ModelProto:
    """Quantize each MatMul named in ``plan`` to its (bits, block size), then the token
    table if the recipe says so. MatMuls not in the plan stay fp32.

    One quantizer pass per (bits, block), each excluding every other node: the
    quantizer's ``nodes_to_include`` is OR-ed with the op types, so exclusion is the
    only filter.
    """
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        HQQWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    for bits, block in sorted(set(plan.values()), reverse=True):
        chosen = {name for name, spec in plan.items() if spec == (bits, block)}
        say(f"{bits}-bit, block {block}: {len(chosen)} MatMuls")
        originals = _weights_of(model, chosen) if bits == 4 and recipe.clip_search else {}
        every_node = {n.name for n in model.graph.node}
        config: DefaultWeightOnlyQuantConfig | HQQWeightOnlyQuantConfig
        if bits == 4 and recipe.algorithm_4bit == "hqq":
            config = HQQWeightOnlyQuantConfig(block_size=block, bits=4)
        else:
            config = DefaultWeightOnlyQuantConfig(
                block_size=block,
                is_symmetric=recipe.symmetric,
                accuracy_level=recipe.accuracy_level,
                bits=bits,
            )
        quantizer = MatMulNBitsQuantizer(
            model,
            nodes_to_exclude=sorted(every_node - chosen),
            algo_config=config,
            accuracy_level=recipe.accuracy_level,
        )
        quantizer.process()
        model = quantizer.model.model
        if originals:
            _refine_4bit(model, originals, block)
    _set_accuracy_level(model, recipe.accuracy_level)

    if recipe.quantize_table:
        say("4-bit token table")
        table_config = DefaultWeightOnlyQuantConfig(
            block_size=recipe.block_table,
            is_symmetric=recipe.table_symmetric,
            bits=4,
            op_types_to_quantize=("Gather",),
            quant_axes=(("Gather", 1),),
        )
        # Plain round-to-nearest: the clip search lowered the table's error but not the
        # cosine of the queries that depend on it (measured), so it is not worth its time.
        quantizer = MatMulNBitsQuantizer(model, algo_config=table_config)
        quantizer.process()
        model = quantizer.model.model
        if recipe.table_scales_fp16:
            _table_scales_to_fp16(model)
    return model


CLIP_RATIOS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75)


def _weights_of(model: onnx.ModelProto, names: set[str]) -> dict[str, np.ndarray]:
    inits = {i.name: i for i in model.graph.initializer}
    return {
        node.name: numpy_helper.to_array(inits[node.input[1]])
        for node in model.graph.node
        if node.name in names and node.input[1] in inits
    }


def clip_searched_4bit(weight: np.ndarray, block: int) -> tuple[np.ndarray, ...]:
    """Asymmetric 4-bit block quantization of ``weight`` [K, N] along K, choosing per
    block the clipping of its range (from CLIP_RATIOS) with the least squared error.

    Plain round-to-nearest spends levels on a block's one or two extreme values; a
    slightly narrower range quantizes the other 30 more finely. Returns MatMulNBits'
    levels [N, K/block, block] uint8, scales [N, K/block] float32 and zero points
    [N, K/block] uint8, to be packed for the consuming op.
    """
    k, n = weight.shape
    blocks = k // block
    w = weight.T.reshape(n, blocks, block).astype(np.float32)
    lo_raw, hi_raw = w.min(-1, keepdims=True), w.max(-1, keepdims=True)
    best_err = np.full(lo_raw.shape, np.inf, dtype=np.float32)
    best_q = np.zeros(w.shape, dtype=np.uint8)
    best_scale = np.zeros(lo_raw.shape, dtype=np.float32)
    best_zp = np.zeros(lo_raw.shape, dtype=np.uint8)
    for ratio in CLIP_RATIOS:
        lo = np.minimum(lo_raw * ratio, 0.0)
        hi = np.maximum(hi_raw * ratio, 0.0)
        scale = np.where(hi > lo, (hi - lo) / 15.0, 1.0).astype(np.float32)
        zp = np.clip(np.round(-lo / scale), 0, 15)
        q = np.clip(np.round(w / scale) + zp, 0, 15)
        err = np.sum(((q - zp) * scale - w) ** 2, axis=-1, keepdims=True)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_q = np.where(better, q, best_q).astype(np.uint8)
        best_scale = np.where(better, scale, best_scale)
        best_zp = np.where(better, zp, best_zp).astype(np.uint8)
    return best_q, best_scale[..., 0], best_zp[..., 0]


def pack_nibbles(values: np.ndarray) -> np.ndarray:
    """Two 4-bit values per byte along the last axis, low nibble first (odd: 0-padded)."""
    if values.shape[-1] % 2:
        pad = np.zeros((*values.shape[:-1], 1), dtype=values.dtype)
        values = np.concatenate([values, pad], axis=-1)
    return (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)


def _refine_4bit(model: onnx.ModelProto, originals: dict[str, np.ndarray], block: int) -> None:
    """Replace round-to-nearest 4-bit weights by clip-searched ones (same layout)."""
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "MatMulNBits" or not node.name.endswith("_Q4"):
            continue
        weight = originals.get(node.name[: -len("_Q4")])
        if weight is None or weight.shape[0] % block:
            continue
        levels, scales, zps = clip_searched_4bit(weight, block)
        # MatMulNBits: data [N, blocks, block/2]; zero points packed per row of blocks.
        values = (pack_nibbles(levels), scales, pack_nibbles(zps))
        for name, value in zip(node.input[1:4], values, strict=True):
            old = inits[name]
            replacement = numpy_helper.from_array(value.reshape(tuple(old.dims)), name)
            old.CopyFrom(replacement)


def _table_scales_to_fp16(model: onnx.ModelProto) -> None:
    """Store the token table's block scales in fp16 and cast its output back to fp32.

    Why: short queries in rare scripts lean on a few token rows, so the table needs
    small blocks (32: mean/worst cosine on such queries 0.945 -> 0.993 vs block 128),
    and fp32 scales for 262,144 x 24 blocks cost 25 MB. fp16 scales cost half, lose
    nothing measurable (a 4-bit step is far coarser than fp16's precision), and the
    embedding values are small, well inside fp16's range. The model itself still runs
    in fp32 (it overflows in fp16).
    """
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    for position, node in enumerate(list(graph.node)):
        if node.op_type != "GatherBlockQuantized":
            continue
        scales = inits[node.input[2]]
        if scales.data_type != onnx.TensorProto.FLOAT:
            continue
        half = numpy_helper.to_array(scales).astype(np.float16)
        scales.CopyFrom(numpy_helper.from_array(half, scales.name))
        fp16_out = node.output[0] + "_fp16"
        cast = onnx.helper.make_node("Cast", [fp16_out], [node.output[0]],
                                     name=node.name + "_to_fp32", to=onnx.TensorProto.FLOAT)
        node.output[0] = fp16_out
        graph.node.insert(position + 1, cast)


def _set_accuracy_level(model: onnx.ModelProto, level: int | None) -> None:
    if level is None:
        return
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            for attr in node.attribute:
                if attr.name == "accuracy_level":
                    attr.i = level
                    break
            else:
                node.attribute.append(onnx.helper.make_attribute("accuracy_level", level))


def artifact_size(onnx_path: Path) -> int:
    """Graph plus external data, in bytes: the figure the 200 MB budget is about."""
    total = onnx_path.stat().st_size
    for extra in onnx_path.parent.glob(onnx_path.name + "*data*"):
        total += extra.stat().st_size
    return total


def describe(weights: Iterable[WeightNode]) -> str:
    return "\n".join(f"{w.layer:>3} {w.role:<6} {w.name} {w.shape}" for w in weights)
