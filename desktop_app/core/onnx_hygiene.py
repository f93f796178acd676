"""Make an ONNX graph's bytes depend only on what it computes.

Exporters write where and how a graph was built into the graph itself: torch's dynamo
exporter puts a Python stack trace on every node (``pkg.torch.onnx.stack_trace``, with the
absolute path of the export script and of ``site-packages/transformers/...``), plus
``doc_string``s and the producer's name and version. None of it changes what the graph
computes, but all of it changes its sha256, and Kura identifies an embedder by the sha256
of its graph (``Embedder.model_id``): a build from another folder would look like another
model and re-embed every library. ``scrub`` removes every such field, everywhere in the
proto (nodes, subgraphs, functions, value infos, initializers), so two builds of the same
recipe from the same weights with the same toolchain are byte-identical wherever they run.
The toolchain's versions are recorded in the artifact's manifest instead.
"""

from __future__ import annotations

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# Fields that describe the build, never the computation. ``metadata_props`` is ONNX's
# free-form key/value list (torch's stack traces and source locations live there).
_BUILD_FIELDS = frozenset({"doc_string", "metadata_props"})
PRODUCER = "kura"


def scrub(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove every build-environment field from ``model`` (in place) and return it."""
    _scrub_message(model)
    model.producer_name = PRODUCER
    model.producer_version = ""
    return model


def _scrub_message(message: Message) -> None:
    for field, value in message.ListFields():
        if field.name in _BUILD_FIELDS:
            message.ClearField(field.name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if _is_repeated(field) else (value,)
            for item in items:
                _scrub_message(item)


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf >= 5.28 has is_repeated; older ones only the (now deprecated) label.
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)
