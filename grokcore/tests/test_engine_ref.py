"""The CPU engine is bit-identical to main's engine before the GPU-step work (commit c72d971).

grokcore/tests/data/engine_ref.npz holds every history array and final parameter of a few
small batches (Li² with Adam + weight decay and with SGD + momentum on minibatches, a
2-block transformer with AdamW, mu_mlp with MSE and per-run alpha, embed_mlp), trained by
that engine (data/make_engine_ref.py). The fast tier's verdicts were shown not to flip under
float rounding for that engine; any change of CPU rounding would invalidate the table, so
the comparison is np.array_equal (NaN == NaN), not allclose."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grokcore.tests.data.make_engine_ref import OUT, compute

REF = Path(OUT)


@pytest.fixture(scope="module")
def ref():
    with np.load(REF) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def now():
    return compute()


def test_same_arrays(ref, now):
    assert set(now) == set(ref)
    bad = [k for k in ref if now[k].shape != ref[k].shape or not np.array_equal(now[k], ref[k], equal_nan=True)]
    assert not bad, f"{len(bad)} arrays differ from main's engine, e.g. {bad[:5]}"


def test_reference_is_not_trivial(ref):
    # the comparison can fail: curves move, every batch has logged gradient statistics
    loss = ref["li2_adam/0/hist/train/loss"]
    assert loss.shape == (6,) and loss[-1] < loss[0]
    assert np.isfinite(ref["transformer_adamw/1/hist/grad/cos"]).all()
