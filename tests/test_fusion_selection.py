"""toolkit.fusion: fusion settings chosen on dev (select_fusion, Fusion) and compared on test.

The selection case is small enough to rank by hand: one dev query «сталь» whose only relevant
title is d1. Dense scores are given (d1 0.0, d2 1.0, d3 0.5: the dense model gets it wrong);
BM25 scores d1 only (the one title with the query's word). With one relevant title at rank r,
nDCG@10 = 1 / log2(r + 1).

* min-max: dense -> (0, 1, 0.5), BM25 -> (1, 0, 0); fused d1 = 1 - w, d2 = w, d3 = w / 2. So d1
  is first for w < 0.5; at w = 0.5 d1 and d2 tie and the tie rule (doc id descending) puts d2
  first, d1 second; d1 stays second while 1 - w > w / 2 (w < 2/3), then third.
* z-score: dense -> (-1.225, 1.225, 0), BM25 -> (1.414, -0.707, -0.707); d1 beats d2 iff
  w < 2.121 / 4.571 = 0.464 and d3 iff w < 0.634, so d1 is first for w <= 0.4 as well.
* RRF: dense ranks d2, d3, d1; BM25 ranks d1, then d3, d2 (tied zeros, id descending). d1 and
  d2 both get 1/(k+1) + 1/(k+3) (the same two terms), more than d3's 2/(k+2) (1/x is convex);
  the tie puts d2 first, so d1 is second for every k.

Best nDCG@10 = 1 for w in 0.0..0.4 under both norms: the tie goes to min-max and the w closest to
0.5, i.e. fusion(w=0.4); every k ties at 1/log2(3), so k = 60 (the default).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.data import RetrievalSet
from toolkit.evaluation import compare_systems
from toolkit.fusion import Fusion, normalized_fuse, rrf_fuse, select_fusion

RANK2 = 1 / math.log2(3)
RANK3 = 1 / math.log2(4)


@pytest.fixture()
def rs():
    return RetrievalSet(
        queries={"q1": "сталь", "q2": "бетон"},
        corpus={"d1": "СТАЛЬНОЙ ПРОКАТ СТАЛЬ", "d2": "БЕТОН", "d3": "ДЕРЕВО"},
        qrels={"q1": {"d1": 2}, "q2": {"d2": 1}},
        splits={"dev": ["q1"], "test": ["q2"]},
    )


DENSE = np.array([[0.0, 1.0, 0.5]])


def test_selection_by_hand(rs):
    sel = select_fusion(rs, DENSE, split="dev")
    assert sel.weighted == Fusion("weighted", w=0.4, norm="minmax", chosen_on="dev")
    assert sel.rrf == Fusion("rrf", k=60, chosen_on="dev")
    assert [f.name for f in sel.fusions] == ["fusion(w=0.4)", "rrf(k=60)"]
    grid = sel.grid("weighted")
    expected_minmax = [1.0] * 5 + [RANK2, RANK2] + [RANK3] * 4  # w = 0.0 .. 1.0
    np.testing.assert_allclose(grid["minmax"].to_numpy(), expected_minmax)
    np.testing.assert_allclose(grid["zscore"].to_numpy()[:5], 1.0)
    np.testing.assert_allclose(sel.grid("rrf")["ndcg@10"].to_numpy(), RANK2)
    assert list(sel.grid("rrf").index) == [10, 30, 60, 100]
    assert sel.table["chosen"].sum() == 2 and (sel.table["n"] == 1).all()
    assert sel.dense == pytest.approx(RANK3) and sel.bm25 == 1.0  # w = 1 and w = 0
    assert sel.n == 1 and sel.split == "dev"


def test_a_strict_winner_beats_the_tie_rule(rs):
    # only one weight in the grid reaches the best: it wins even far from 0.5
    sel = select_fusion(rs, DENSE, weights=[0.0, 0.9, 1.0], norms=["minmax"])
    assert sel.weighted.w == 0.0 and sel.weighted.name == "fusion(w=0)"


def test_selection_never_looks_at_another_split(rs):
    # test's query q2 is answered perfectly by d2; dev alone decides (a 1-row score matrix)
    with pytest.raises(ValueError, match=r"shape \(1, 3\)"):
        select_fusion(rs, np.zeros((2, 3)), split="dev")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [({"weights": []}, "weights: expected a non-empty list"),
     ({"rrf_ks": [-1]}, "k must be a number >= 0"),
     ({"weights": [1.5]}, "w must be a number in [0, 1]"),
     ({"norms": ["l2"]}, "norm must be one of"),
     ({"metric": "ndcg@x"}, "metric: 'ndcg@x' is not"), ({"metric": "ndgc@10"}, "metric")],
)  # fmt: skip
def test_bad_grids(rs, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        select_fusion(rs, DENSE, **kwargs)


def test_fusion_names_round_trip_and_bad_specs():
    for name in ("rrf(k=60)", "rrf(k=10)", "fusion(w=0.9)", "fusion(w=0.9, norm=zscore)"):
        assert Fusion.parse(name).name == name
    assert Fusion.parse("fusion(w=1)").w == 1 and Fusion.parse("rrf(k=2.5)").k == 2.5
    assert Fusion.parse("rrf(k=60)").chosen_on == "fixed"
    for bad in ("rrf(60)", "fusion(w=0.9, norm=l2)", "hybrid", 3):
        with pytest.raises(ValueError):
            Fusion.parse(bad)
    with pytest.raises(ValueError, match="kind must be"):
        Fusion("mean")


class FakeModel:
    """Fixed vectors per text (no torch)."""

    VECTORS = {"сталь": [1.0, 0.0], "бетон": [0.0, 1.0], "СТАЛЬНОЙ ПРОКАТ СТАЛЬ": [0.6, 0.8],
               "БЕТОН": [0.8, 0.6], "ДЕРЕВО": [0.7, 0.7]}  # fmt: skip

    def encode(self, texts, **kw):
        return np.array([self.VECTORS[t] for t in texts], dtype=np.float32)

    def get_embedding_dimension(self):
        return 2

    def __len__(self):
        return 0


@pytest.fixture()
def no_cache(monkeypatch):
    import toolkit.encoding as enc

    real = enc.encode
    monkeypatch.setattr(enc, "encode", lambda m, t, **kw: real(m, t, **{**kw, "cache": False}))


def test_compare_systems_takes_fusions_and_marks_where_they_were_chosen(rs, no_cache):
    chosen = Fusion("weighted", w=0.4, chosen_on="dev")
    cmp = compare_systems(rs, {"dense": FakeModel()}, split=None, baselines=("bm25",),
                          fusions=["rrf(k=60)", chosen], n_resamples=50)  # fmt: skip
    assert cmp.systems == ["dense", "bm25", "rrf(k=60)", "fusion(w=0.4)"]
    dense, bm25 = cmp.scores["dense"], cmp.scores["bm25"]
    np.testing.assert_allclose(cmp.scores["rrf(k=60)"], rrf_fuse([dense, bm25], k=60,
                                                                  doc_ids=cmp.doc_ids))  # fmt: skip
    np.testing.assert_allclose(cmp.scores["fusion(w=0.4)"],
                               normalized_fuse([dense, bm25], weights=[0.4, 0.6]))  # fmt: skip
    s = cmp.summary(["ndcg@10"])
    assert s["chosen_on"].to_dict() == {
        "dense": "fixed", "bm25": "fixed", "rrf(k=60)": "fixed", "fusion(w=0.4)": "dev"
    }  # fmt: skip
    assert cmp.to_json()["chosen_on"]["fusion(w=0.4)"] == "dev"
    t = cmp.against("dense", ["ndcg@10", "mrr@10"])
    assert list(t.columns[:2]) == ["system", "chosen_on"] and "p_holm" in t.columns
    assert t.loc[t["system"] == "dense", "p_holm"].isna().all()
    with pytest.raises(KeyError, match="no system 'x'"):
        cmp.against("x")


def test_compare_systems_rejects_a_fusion_twice(rs, no_cache):
    with pytest.raises(ValueError, match=r"\['rrf\(k=60\)'\] given twice"):
        compare_systems(rs, FakeModel(), split=None, baselines=(),
                        fusions=["rrf(k=60)", Fusion("rrf", k=60, chosen_on="dev")])  # fmt: skip
    with pytest.raises(ValueError, match="need at least one dense model"):
        compare_systems(rs, {}, split=None, baselines=(), fusions=["rrf(k=60)"])


def test_p_holm_is_holm_over_the_systems_of_each_metric(rs, no_cache):
    cmp = compare_systems(rs, {"dense": FakeModel()}, split=None, baselines=("bm25", "hybrid"),
                          fusions=["fusion(w=0.5)"], n_resamples=200)  # fmt: skip
    t = cmp.against("dense", ["ndcg@10", "hit@1"])
    for _, g in t[t["system"] != "dense"].groupby("metric"):
        # Holm by its definition: the i-th smallest of m p-values times (m - i), running max
        p = sorted(g["p_value"])
        m = len(p)
        adjusted = {}
        running = 0.0
        for i, pv in enumerate(p):
            running = max(running, min(1.0, (m - i) * pv))
            adjusted.setdefault(pv, running)
        for pv, ph in zip(g["p_value"], g["p_holm"], strict=True):
            assert ph == pytest.approx(adjusted[pv])
            assert ph >= pv


def test_before_after_gets_p_holm():
    from toolkit.evaluation import before_after

    qids = ["a", "b", "c", "d", "e", "f"]
    base = pd.DataFrame({"query_id": qids, "ndcg@10": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    up = pd.DataFrame({"query_id": qids, "ndcg@10": [0.9, 0.8, 0.9, 0.8, 0.9, 0.8]})
    same = base.copy()
    t = before_after(base, {"up": up, "same": same}, metrics=("ndcg@10",), n_resamples=500)
    r = t.set_index("system")
    # two tests: the smaller p doubles, the larger (1.0 for identical systems) stays
    assert r.loc["same", "p_value"] == 1.0 and r.loc["same", "p_holm"] == 1.0
    assert r.loc["up", "p_holm"] == pytest.approx(min(1.0, 2 * r.loc["up", "p_value"]))
