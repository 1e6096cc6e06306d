#!/usr/bin/python3
"""Generate the ONNX fixtures of format/onnx and scan/checks.

Run from this folder with Debian's python3-onnx (1.12):

    /usr/bin/python3 gen.py

Benign models are made with onnx's own helpers and saved with
onnx.save_model. Hostile models only differ in fields of a tensor or a
node; they are serialised with SerializeToString and written here, never
saved through onnx's external-data code (which would follow the location).
Nothing is ever loaded.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = [helper.make_opsetid("", 13)]


def write(name, model):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def add_matmul():
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "W")
    b = numpy_helper.from_array(np.ones(2, dtype=np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"], name="matmul"),
         helper.make_node("Add", ["XW", "B"], ["Y"], name="add")],
        "add_matmul",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
        [w, b],
    )
    m = helper.make_model(graph, opset_imports=OPSET, producer_name="aigis-gen", producer_version="1")
    onnx.checker.check_model(m)
    return m


def if_model():
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(np.ones(2, np.float32), "tv")),
         helper.make_node("Relu", ["t"], ["Y"], name="then_relu")],
        "then", [], [out])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["e"], value=numpy_helper.from_array(np.zeros(2, np.float32), "ev")),
         helper.make_node("Sigmoid", ["e"], ["Y"], name="else_sigmoid")],
        "else", [], [out])
    graph = helper.make_graph(
        [helper.make_node("If", ["C"], ["Y"], name="cond", then_branch=then_g, else_branch=else_g)],
        "if_model",
        [helper.make_tensor_value_info("C", TensorProto.BOOL, [])],
        [out])
    m = helper.make_model(graph, opset_imports=OPSET, producer_name="aigis-gen")
    onnx.checker.check_model(m)
    return m


def function_model():
    fn = helper.make_function(
        "custom.fn", "AddTwice", ["a", "b"], ["c"],
        [helper.make_node("Add", ["a", "b"], ["ab"]), helper.make_node("Add", ["ab", "b"], ["c"])],
        OPSET)
    graph = helper.make_graph(
        [helper.make_node("AddTwice", ["X", "Y"], ["Z"], domain="custom.fn", name="call")],
        "function_model",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [2])])
    m = helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("custom.fn", 1)],
                          functions=[fn], producer_name="aigis-gen")
    onnx.checker.check_model(m)
    return m


def external_ok():
    # A real save with external data: weights.bin next to model.onnx.
    m = add_matmul()
    folder = os.path.join(HERE, "external_ok")
    os.makedirs(folder, exist_ok=True)
    onnx.save_model(m, os.path.join(folder, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)


def external_to(location):
    """add_matmul with W pointing at location; nothing is written there."""
    m = add_matmul()
    w = m.graph.initializer[0]
    set_external_data(w, location=location, offset=0, length=24)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    return m


def custom_op():
    graph = helper.make_graph(
        [helper.make_node("Backdoor", ["X"], ["Y"], domain="com.evil", name="evil")],
        "custom_op",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("com.evil", 1)],
                             producer_name="aigis-gen")


def main():
    write("benign/add_matmul.onnx", add_matmul())
    write("benign/if_branches.onnx", if_model())
    write("benign/function.onnx", function_model())
    external_ok()
    write("malicious/external_parent.onnx", external_to("../../etc/passwd"))
    write("malicious/external_absolute.onnx", external_to("/etc/passwd"))
    write("malicious/external_nested.onnx", external_to("subdir/../../x"))
    write("malicious/custom_domain.onnx", custom_op())


if __name__ == "__main__":
    main()
