import numpy as np
import pytest

from codesign.data import DATASETS, load_dataset, pad_sequences, stratified_split
from codesign.errors import CodesignError


@pytest.fixture(scope="module")
def jv():
    return load_dataset("japanese_vowels", validation_fraction=0.15, seed=1)


def test_japanese_vowels_shape_and_splits(jv):
    assert len(jv.y_train) + len(jv.y_val) == 270
    assert len(jv.y_test) == 370
    assert jv.x_test.shape == (370, 29, 12)
    assert jv.num_classes == 9
    assert jv.classes == tuple(str(i) for i in range(1, 10))
    assert jv.x_train.dtype == np.float32


def test_basic_motions():
    bm = load_dataset("basic_motions", seed=1)
    assert bm.x_test.shape == (40, 100, 6)
    assert len(bm.y_train) + len(bm.y_val) == 40
    assert bm.classes == ("badminton", "running", "standing", "walking")


def test_validation_is_stratified_and_disjoint(jv):
    # every speaker is in both parts; 15% of 30 utterances each, rounded
    assert set(np.bincount(jv.y_val)) == {round(0.15 * 30)}
    assert set(np.bincount(jv.y_train)) == {30 - round(0.15 * 30)}


def test_split_depends_only_on_seed():
    a = load_dataset("japanese_vowels", seed=3)
    b = load_dataset("japanese_vowels", seed=3)
    c = load_dataset("japanese_vowels", seed=4)
    assert np.array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)


def test_normalisation_fitted_on_training_frames_only(jv):
    # Real (non-padding) training frames have zero mean and unit variance per channel; a frame is
    # padding when all its channels are exactly zero.
    frames = jv.x_train.reshape(-1, jv.channels)
    real = frames[np.any(frames != 0, axis=1)]
    assert np.allclose(real.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(real.std(axis=0), 1, atol=1e-4)
    # the validation frames did not inform the fit, so they are not exactly standardised
    val = jv.x_val.reshape(-1, jv.channels)
    val = val[np.any(val != 0, axis=1)]
    assert not np.allclose(val.mean(axis=0), 0, atol=1e-5)


def test_pre_padding_keeps_the_end():
    a = np.arange(6, dtype=float).reshape(3, 2)
    out = pad_sequences([a, np.ones((5, 2))], length=4)
    assert np.array_equal(out[0], [[0, 0], [0, 1], [2, 3], [4, 5]])
    assert np.array_equal(out[1], np.ones((4, 2)))  # too long: the last 4 steps


def test_stratified_split_at_least_one_per_class():
    y = np.array([0, 0, 0, 1, 1, 2])
    keep, held = stratified_split(y, 0.1, seed=0)
    assert sorted(y[held]) == [0, 1, 2]
    assert sorted(np.concatenate([keep, held])) == list(range(6))


def test_unknown_dataset():
    with pytest.raises(CodesignError, match="dataset 'mnist' is unknown"):
        load_dataset("mnist")


def test_every_registered_dataset_is_bundled():
    for name, info in DATASETS.items():
        ds = load_dataset(name)
        assert ds.length == info.length
