"""Tiny ONNX graphs built in the tests to exercise the runtime (no model files needed)."""

from __future__ import annotations

import numpy as np


def constant_output_model(path, output: np.ndarray, *, input_shape=(1, 3, 64, 64), metadata=None):
    """Save a model whose output is ``output`` (plus 0 x the input's mean, so the input is used)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["const", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[
            numpy_helper.from_array(output.astype(np.float32), "const"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def scoring_refiner_model(path, unit_box=(0.25, 1 / 3, 0.75, 2 / 3)):
    """Save a refiner-shaped model (windows (N, 3, 48, 96) -> ``boxes`` (N, 4), ``plate``
    (N,)) that gives every window the box ``unit_box`` (in window units: by default the box
    the window was cut around) and, as its plate probability, the window's mean brightness."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceMean", ["windows"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "column"], ["mean_column"]),
        helper.make_node("Mul", ["mean_column", "zero"], ["nothing"]),
        helper.make_node("Add", ["unit_box", "nothing"], ["boxes"]),
        helper.make_node("Reshape", ["mean", "flat"], ["plate"]),
    ]
    graph = helper.make_graph(
        nodes,
        "scoring_refiner",
        [helper.make_tensor_value_info("windows", TensorProto.FLOAT, ["n", 3, 48, 96])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["n", 4]),
            helper.make_tensor_value_info("plate", TensorProto.FLOAT, ["n"]),
        ],
        initializer=[
            numpy_helper.from_array(np.float32([unit_box]), "unit_box"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
            numpy_helper.from_array(np.int64([-1, 1]), "column"),
            numpy_helper.from_array(np.int64([-1]), "flat"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
