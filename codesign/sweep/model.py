"""The sweep's base model: the trained QKeras model's latent weights, the test split and the baselines,
read once in the main process and shipped to every worker (a few hundred KB).

The weights are read from `weights.h5` with h5py (Keras 2 HDF5 layout: layer `rnn<i>` holds kernel,
recurrent kernel, bias; `head` holds kernel, bias), so an analytic sweep never imports TensorFlow.
The float baseline accuracy is the one training measured with Keras (metrics.json `accuracy.float`, or
`base.accuracy.float` for a compressed model): the survey judges every point against the float model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError
from codesign.reference import LayerWeights, ReferenceModel, activation_fn, precision_fn, quantize
from codesign.spec import Precision, Spec

Layer = tuple[np.ndarray, np.ndarray, np.ndarray]  # kernel (X, G*H), recurrent kernel (H, G*H), bias


@dataclass(frozen=True)
class BaseModel:
    spec: Spec
    layers: tuple[Layer, ...]  # latent (float32) weights of the QKeras model, Keras layout
    dense: tuple[np.ndarray, np.ndarray]  # head kernel (H, classes), bias (classes,)
    x_test: np.ndarray
    y_test: np.ndarray
    x_train: np.ndarray  # what codesign.hls.config sizes the hls4ml types on
    baseline_accuracy: float  # the float model's (survey baseline)
    quantized_accuracy: float  # the committed QKeras model's, as training measured it
    weights_hash: str  # sha256 of the weights, the spec and the test split: part of every cache key

    @property
    def timesteps(self) -> int:
        return int(self.x_test.shape[1])

    @property
    def params(self) -> int:
        return int(sum(w.size for layer in self.layers for w in layer) + sum(w.size for w in self.dense))

    def gate_shapes(self) -> list[tuple[int, int]]:
        """Each recurrent layer's W = [W_x W_h] shape: (G*H, X + H)."""
        return [(k.shape[1], k.shape[0] + r.shape[0]) for k, r, _ in self.layers]


def _read_h5_weights(path, layer_names: list[str]) -> dict[str, list[np.ndarray]] | None:
    """{layer: [tensors in Keras' order]} from a Keras 2 HDF5 weights file, None if not that layout."""
    import h5py

    with h5py.File(path, "r") as f:
        if "layer_names" not in f.attrs:
            return None
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["layer_names"]]
        out = {}
        for name in layer_names:
            if name not in names:
                return None
            group = f[name]
            weight_names = [
                n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
            ]
            out[name] = [np.asarray(group[w], np.float32) for w in weight_names]
        return out


def _hash(arrays: list[np.ndarray], text: str) -> str:
    h = hashlib.sha256(text.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode() + str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _expanded_circulant(layers: tuple, channels: int) -> tuple[Layer, ...]:
    """A QCirculantLSTM model stores defining vectors (R, C, b) per layer: expand them into the Keras
    (X, 4H) / (H, 4H) kernels the reference model and the storage counts read (expansion only copies
    values, so quantizing afterwards equals the layer's quantize-then-expand)."""
    from codesign.circulant import keras_kernel

    out = []
    for vk, vr, bias in layers:
        if vk.ndim != 3:  # already a plain kernel
            out.append((vk, vr, bias))
            continue
        units = vr.shape[1] * vr.shape[2]
        inputs = out[-1][1].shape[0] if out else channels  # the previous layer's units, or the data's
        kernel, recurrent = keras_kernel(vk, inputs), keras_kernel(vr, units)
        out.append((kernel.astype(np.float32), recurrent.astype(np.float32), bias))
    return tuple(out)


def load_base(spec: Spec) -> BaseModel:
    """The committed model `spec` describes, without TensorFlow when its weights file allows."""
    from codesign.data import load_dataset
    from codesign.outputs import read_json

    folder = spec.folder
    for f in ("weights.h5", "metrics.json"):
        if not (folder / f).is_file():
            raise CodesignError(f"{folder}: no trained model ({f} missing); run codesign train")
    names = [f"rnn{i + 1}" for i in range(len(spec.model.units))] + ["head"]
    weights = _read_h5_weights(folder / "weights.h5", names)
    if weights is None:  # another Keras layout: let Keras read it
        from codesign.models.train import load_trained

        model = load_trained(spec).model
        weights = {n: [np.asarray(w, np.float32) for w in model.get_layer(n).get_weights()] for n in names}
    layers = tuple(tuple(weights[n]) for n in names[:-1])
    dense = tuple(weights["head"])
    metrics = read_json(folder / "metrics.json")
    accuracy = metrics.get("base", metrics).get("accuracy", {})
    if "float" not in accuracy:
        raise CodesignError(f"{folder / 'metrics.json'}: no accuracy.float (the float baseline); retrain")
    t = spec.training
    ds = load_dataset(spec.dataset, t.validation_fraction, t.seed)
    if spec.compression is not None and spec.compression.method == "circulant":
        layers = _expanded_circulant(layers, ds.channels)
    arrays = [w for layer in layers for w in layer] + list(dense) + [ds.x_test, ds.y_test]
    return BaseModel(
        spec=spec,
        layers=layers,
        dense=dense,
        x_test=ds.x_test,
        y_test=ds.y_test,
        x_train=ds.x_train,
        baseline_accuracy=float(accuracy["float"]),
        quantized_accuracy=float(metrics["accuracy"]["quantized"]),
        weights_hash=_hash(arrays, spec.path.read_text() if spec.path else repr(spec)),
    )


def at_bits(p: Precision, bits: int) -> Precision:
    """The same quantizer with `bits` in total, keeping the integer bits (capped to what fits)."""
    return Precision(bits, min(p.integer, bits - 1))


def reference_model(
    spec: Spec,
    layers: list[Layer],
    dense: tuple[np.ndarray, np.ndarray],
    kernel: Precision,
    recurrent_kernel: Precision,
    dense_kernel: Precision,
    delta: tuple[float, float] | None = None,
) -> ReferenceModel:
    """The quantized classifier (as `ReferenceModel.from_keras(quantized=True)` builds it) with the given
    weight precisions; biases, activations and the state quantizer as the spec says; a delta network
    with `delta` = (x, h) thresholds in real units (codesign.delta)."""
    p, m = spec.precision, spec.model

    def q(w: np.ndarray, precision: Precision) -> np.ndarray:
        # QKeras quantizes float32 latent weights; grid values are exact in float64.
        return quantize(np.asarray(w, np.float32), precision).astype(np.float64)

    return ReferenceModel(
        cell=m.cell,
        layers=tuple(LayerWeights(q(k, kernel), q(r, recurrent_kernel), q(b, p.bias)) for k, r, b in layers),
        dense_kernel=q(dense[0], dense_kernel),
        dense_bias=q(dense[1], p.dense_bias),
        activation=activation_fn(m.activation, "state", quantized=True),
        recurrent_activation=(
            None if m.cell == "simple_rnn" else activation_fn(m.recurrent_activation, "gate", quantized=True)
        ),
        reset_after=m.reset_after,
        state_quantizer=precision_fn(p.state),
        input_quantizer=precision_fn(p.input),
        delta=delta,
    )


def accuracy(model: ReferenceModel, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.logits(x), axis=1) == y))
