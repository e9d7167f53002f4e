"""Sequence-classification data sets bundled inside the installed `aeon` package (no network).

Policy, applied the same way by training, the HLS C-simulation and the RTL engine:
- Normalisation: per channel, mean and standard deviation over every real time step of the training
  split (the validation and test splits never inform it).
- Unequal lengths: each sequence is pre-padded with zeros (after normalisation, so zero is the
  training mean) to the data set's fixed `length`; longer sequences keep their last `length` steps.
  No mask: hls4ml and the engine run a fixed number of steps, so the model is trained on exactly the
  frames the hardware will see. Pre-padding keeps the informative frames next to the final state.
- Validation: a stratified fraction of the training split, drawn with the spec's seed.

Adding a data set is one entry in DATASETS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError


@dataclass(frozen=True)
class DatasetInfo:
    aeon_name: str  # the folder under aeon/datasets/data
    length: int  # fixed number of time steps after padding
    domain: str


DATASETS: dict[str, DatasetInfo] = {
    # 9 speakers saying /ae/, 12 LPC cepstral coefficients per frame, 7 to 29 frames.
    "japanese_vowels": DatasetInfo("JapaneseVowels", length=29, domain="speech"),
    # 4 activities from a smartwatch: 3-axis accelerometer + 3-axis gyroscope, 100 steps at 10 Hz.
    "basic_motions": DatasetInfo("BasicMotions", length=100, domain="human activity"),
}


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: tuple[str, ...]
    x_train: np.ndarray  # (N, length, channels) float32, normalised and padded
    y_train: np.ndarray  # (N,) int class indices
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray  # (channels,) fitted on the training split
    std: np.ndarray

    @property
    def length(self) -> int:
        return self.x_train.shape[1]

    @property
    def channels(self) -> int:
        return self.x_train.shape[2]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _aeon_file(info: DatasetInfo, split: str) -> Path:
    import aeon.datasets

    path = Path(aeon.datasets.__file__).parent / "data" / info.aeon_name / f"{info.aeon_name}_{split}.ts"
    if not path.is_file():
        raise CodesignError(f"dataset {info.aeon_name}: bundled file {path} is missing from the aeon install")
    return path


def _read_split(info: DatasetInfo, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences as a list of (time, channels) arrays, and their string labels."""
    from aeon.datasets import load_from_ts_file

    x, y = load_from_ts_file(str(_aeon_file(info, split)))
    # aeon gives (channels, time) per case, as a list when lengths differ
    return [np.asarray(case, dtype=np.float64).T for case in x], np.asarray(y)


def pad_sequences(sequences: list[np.ndarray], length: int) -> np.ndarray:
    """Pre-pad with zeros to `length` steps; longer sequences keep their last `length` steps."""
    channels = sequences[0].shape[1]
    out = np.zeros((len(sequences), length, channels), dtype=np.float32)
    for i, seq in enumerate(sequences):
        seq = seq[-length:]
        out[i, length - len(seq) :] = seq
    return out


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): `fraction` of each class held out, at least one per class."""
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        held.extend(idx[: max(1, round(fraction * len(idx)))])
    held = np.sort(np.asarray(held))
    keep = np.setdiff1d(np.arange(len(y)), held)
    return keep, held


def load_dataset(name: str, validation_fraction: float = 0.15, seed: int = 1) -> Dataset:
    if name not in DATASETS:
        raise CodesignError(f"dataset {name!r} is unknown (known: {', '.join(DATASETS)})")
    info = DATASETS[name]
    train_seqs, train_labels = _read_split(info, "TRAIN")
    test_seqs, test_labels = _read_split(info, "TEST")

    classes = tuple(sorted(np.unique(train_labels).tolist(), key=_label_order))
    index = {c: i for i, c in enumerate(classes)}
    unknown = set(test_labels.tolist()) - set(classes)
    if unknown:
        raise CodesignError(
            f"dataset {name}: test labels {sorted(unknown)} never occur in the training split"
        )
    y_all = np.array([index[c] for c in train_labels], dtype=np.int64)
    y_test = np.array([index[c] for c in test_labels], dtype=np.int64)

    keep, held = stratified_split(y_all, validation_fraction, seed)
    frames = np.concatenate([train_seqs[i] for i in keep], axis=0)
    mean = frames.mean(axis=0)
    std = frames.std(axis=0)
    std[std == 0] = 1.0  # a constant channel carries no information; leave it at zero

    def prepare(seqs: list[np.ndarray]) -> np.ndarray:
        return pad_sequences([(s - mean) / std for s in seqs], info.length)

    x_all = prepare(train_seqs)
    return Dataset(
        name=name,
        classes=classes,
        x_train=x_all[keep],
        y_train=y_all[keep],
        x_val=x_all[held],
        y_val=y_all[held],
        x_test=prepare(test_seqs),
        y_test=y_test,
        mean=mean.astype(np.float32),
        std=std.astype(np.float32),
    )


def _label_order(label: str) -> tuple:
    """Numeric labels in numeric order ('2' before '10'), others alphabetically."""
    return (0, int(label), "") if label.isdigit() else (1, 0, label)
