"""toolkit.training.drift: how far fine-tuning moved the weights and the embeddings.

weight_drift and embedding_drift are tested in test_training.py, next to the training run
they measure.
"""

from __future__ import annotations

import pytest

from toolkit.training.drift import drift_summary


def test_drift_summary_by_hand(tiny):
    import copy

    import torch

    moved = copy.deepcopy(tiny)
    name, param = next(
        (n, p) for n, p in moved.named_parameters() if n.endswith("layer.1.output.dense.weight")
    )
    with torch.no_grad():
        param.mul_(-1.0)  # ||-w - w|| / ||w|| = 2 exactly for this tensor
    texts = ["робот доставки", "датчик влажности", "фильтр воды", "лазерный дальномер"]
    out = drift_summary(tiny, {"same": copy.deepcopy(tiny), "moved": moved}, texts, k=2)
    total = sum(p.numel() for p in tiny.parameters())
    assert out.loc["same", "weight_rel_change"] == 0.0
    assert out.loc["same", "identical_params"] == total
    assert out.loc["same", "mean_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert out.loc["same", "neighbour_overlap"] == 1.0
    assert out.loc["moved", "weight_rel_change"] == pytest.approx(2.0, rel=1e-9)
    assert out.loc["moved", "max_param_rel_change"] == pytest.approx(2.0, rel=1e-9)
    assert out.loc["moved", "changed_share"] == 1.0
    assert out.loc["moved", "identical_params"] == total - param.numel()
    assert out.loc["moved", "mean_cosine"] < 1.0 - 1e-5
    # keeping every tensor dilutes the change over all weights
    full = drift_summary(tiny, {"moved": moved}, texts, k=2, skip_identical=False)
    assert full.loc["moved", "identical_params"] == 0
    assert 0 < full.loc["moved", "weight_rel_change"] < 2.0
