"""The encoder's index overflow policy: pad long zero runs (ESE, the default) or refuse the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.engine.encoder import EngineConfig, IndexOverflow, csc_for_pe, encode
from codesign.engine.synthetic import random_model
from codesign.errors import CodesignError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("index_width", [1, 2, 4])
def test_refusing_padding_raises_exactly_where_padding_would_be_stored(index_width):
    max_rel = 2**index_width - 1
    for gap in range(0, 3 * (max_rel + 1)):
        w = np.zeros((gap + 1, 1), np.int64)
        w[gap, 0] = 5
        padded = csc_for_pe(w, 0, 1, max_rel)
        if gap <= max_rel:  # no padding word: both policies give the same column
            assert csc_for_pe(w, 0, 1, max_rel, pad=False) == padded
        else:
            with pytest.raises(IndexOverflow) as e:
                csc_for_pe(w, 0, 1, max_rel, pad=False)
            assert (e.value.column, e.value.row, e.value.gap) == (0, gap, gap)


def _words(image) -> list[list[int]]:
    return [w.tolist() for w in image.pe_weight]


def test_encode_refuses_a_model_that_needs_padding_and_names_where():
    model = random_model(3, 5, (6,), 3, density=0.2)
    padded = encode(model, EngineConfig(num_pe=2, index_width=1))
    assert any(int((m.words_per_pe - m.nnz_per_pe).sum()) > 0 for m in padded.matrices)  # padding needed
    with pytest.raises(CodesignError, match=r"--index-overflow error: layer0, PE \d, column \d+") as e:
        encode(model, EngineConfig(num_pe=2, index_width=1, index_overflow="error"))
    assert "\n" not in str(e.value) and "--index-width 1" in str(e.value)
    # wide enough an index: no padding, so both policies encode the same image
    wide = encode(model, EngineConfig(num_pe=2, index_width=6))
    strict = encode(model, EngineConfig(num_pe=2, index_width=6, index_overflow="error"))
    assert _words(wide) == _words(strict)


def test_unknown_policy_is_one_clear_error():
    with pytest.raises(CodesignError, match="--index-overflow 'skip' is not one of pad, error"):
        EngineConfig(num_pe=2, index_overflow="skip").validate()


def test_rtl_command_refuses_without_writing(tmp_path, capsys):
    """`codesign rtl --index-overflow error` on a 90%-sparse model with a 1-bit index: exit 2, one line,
    no output folder."""
    from codesign.cli import main

    spec = ROOT / "models" / "jvowels_lstm-balanced90" / "spec.yml"
    argv = ["rtl", str(spec), "--pes", "8", "--index-width", "1", "--index-overflow", "error"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--index-overflow error" in err
    assert list(tmp_path.iterdir()) == []
