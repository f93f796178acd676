"""An ONNX graph's bytes depend on what it computes, not on where it was built."""

from __future__ import annotations

import hashlib

import onnx
from onnx import TensorProto, helper

from desktop_app.core.onnx_hygiene import scrub


def _graph(build_dir: str) -> onnx.ModelProto:
    """A small graph annotated the way torch's exporter annotates one: stack traces with
    absolute paths on nodes, in a subgraph and in a function, doc strings, producer."""
    trace = f'File "{build_dir}/models/export_onnx.py", line 76, in forward'

    def node(*args, **kwargs) -> onnx.NodeProto:
        made = helper.make_node(*args, doc_string=f"built in {build_dir}", **kwargs)
        made.metadata_props.add(key="pkg.torch.onnx.stack_trace", value=trace)
        return made

    then = helper.make_graph([node("Identity", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])])
    other = helper.make_graph([node("Neg", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])])
    graph = helper.make_graph(
        [node("ReduceSum", ["x"], ["s"], keepdims=0),
         node("Greater", ["s", "zero"], ["c"]),
         node("If", ["c"], ["y"], then_branch=then, else_branch=other),
         node("Double", ["y"], ["z"], domain="kura.test")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
        doc_string=f"graph from {build_dir}",
    )
    function = helper.make_function(
        "kura.test", "Double", ["a"], ["b"], [node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 18)])
    model = helper.make_model(
        graph, functions=[function],
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("kura.test", 1)],
        producer_name="pytorch", producer_version="2.13.0", doc_string=build_dir)
    helper.set_model_props(model, {"source": f"{build_dir}/site-packages/transformers"})
    return model


def test_two_build_folders_give_the_same_bytes_after_scrubbing() -> None:
    first = _graph("/home/alice/kura").SerializeToString()
    second = _graph("/tmp/ci/checkout").SerializeToString()
    assert first != second  # what the exporter writes does depend on the folder

    digests = {hashlib.sha256(scrub(onnx.load_from_string(raw)).SerializeToString())
               .hexdigest() for raw in (first, second)}
    assert len(digests) == 1


def test_no_path_survives_anywhere_in_the_proto() -> None:
    model = scrub(_graph("/home/alice/kura"))
    raw = model.SerializeToString()
    assert b"/home/alice" not in raw
    assert b"stack_trace" not in raw and b"site-packages" not in raw
    assert model.producer_name == "kura" and model.producer_version == ""


def test_scrubbing_keeps_what_the_graph_computes() -> None:
    before = _graph("/somewhere")
    after = scrub(_graph("/somewhere"))
    assert [n.op_type for n in after.graph.node] == [n.op_type for n in before.graph.node]
    branches = {a.name: a.g.node[0].op_type for a in after.graph.node[2].attribute}
    assert branches == {"then_branch": "Identity", "else_branch": "Neg"}
    assert after.functions[0].node[0].op_type == "Add"
    onnx.checker.check_model(after)
