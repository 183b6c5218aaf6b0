"""toolkit.training.experiments: lr selection on a dev split, cross-validation by query folds.

The tests of select_lr and kfold_by_query are in test_training.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.evaluation import evaluate_system
from toolkit.training import finetune, get_recipe
from toolkit.training.experiments import _fold_pairs, cross_validate, select_lr_on_split


def _tiny_recipe(**changes):
    # hard_negatives=0: the tiny random model scores every title alike, so no candidate
    # passes the recommended recipe's mining margin
    return get_recipe("tuned", epochs=1, batch_size=4, hard_negatives=0, **changes)


def test_select_lr_on_split_keeps_the_model_it_would_retrain(tiny, small_set):
    import torch

    pairs = small_set.pairs("train")
    recipe = _tiny_recipe()
    sel, model = select_lr_on_split(
        tiny, pairs, small_set, split="dev", candidates=[1e-4, 1e-2], recipe=recipe
    )
    assert list(sel.table["learning_rate"]) == [1e-4, 1e-2]
    assert sel.best_lr in (1e-4, 1e-2)
    again = finetune(tiny, pairs, sel.recipe).model
    for (n, a), (_, b) in zip(model.named_parameters(), again.named_parameters(), strict=True):
        assert torch.equal(a, b), n
    best_score = sel.table.loc[sel.table["learning_rate"] == sel.best_lr, "score"].iloc[0]
    dev = evaluate_system(model, small_set, "dev", cache=False)["ndcg@10"].mean()
    assert dev == pytest.approx(best_score, abs=1e-12)
    with pytest.raises(ValueError, match="test"):
        select_lr_on_split(tiny, pairs, small_set, split="test", candidates=[1e-4])


def test_cross_validate_folds_and_gains(tiny, small_set):
    cv = cross_validate(
        tiny, small_set, _tiny_recipe(), splits=("dev", "test"), folds=2, seeds=(1, 2),
        max_pairs=8, metrics=("ndcg@10",),
    )  # fmt: skip
    t = cv.table
    assert len(t) == 4 and list(t["fold"]) == [1, 1, 2, 2] and list(t["seed"]) == [1, 2, 1, 2]
    assert (t["n_train_pairs"] == 8).all()
    held_out = [q for _, ev in cv.folds for q in ev]
    assert sorted(held_out) == sorted(small_set.splits["dev"] + small_set.splits["test"])
    for train_q, eval_q in cv.folds:
        assert not set(train_q) & set(eval_q)
    assert list(t["n_eval_queries"]) == [len(cv.folds[0][1])] * 2 + [len(cv.folds[1][1])] * 2
    np.testing.assert_allclose(t["gain_ndcg@10"], t["tuned_ndcg@10"] - t["base_ndcg@10"])
    s = cv.summary.loc["ndcg@10"]
    assert s["runs"] == 4 and s["gain"] == pytest.approx(t["gain_ndcg@10"].mean())
    assert s["gain_sd"] == pytest.approx(t["gain_ndcg@10"].std(ddof=1))
    assert s["improved"] == int((t["gain_ndcg@10"] > 0).sum())


def test_cross_validate_reports_how_much_of_the_tuned_top_k_is_judged(tiny, small_set):
    """The fold models were never pooled: tuned_judged@10 says how much of their top 10 has a
    grade. Each query judges 3 of the 42 titles (at most 0.3 of a top 10); judging every
    title (grade 0 for the rest) must give exactly 1."""
    from toolkit.data import RetrievalSet

    args = dict(splits=("dev", "test"), folds=2, seeds=(1,), max_pairs=8, metrics=("ndcg@10",))
    part = cross_validate(tiny, small_set, _tiny_recipe(), **args).table["tuned_judged@10"]
    assert ((part >= 0) & (part <= 0.3 + 1e-12)).all()
    zeros = dict.fromkeys(small_set.corpus, 0)
    every = {q: zeros | judged for q, judged in small_set.qrels.items()}
    full = RetrievalSet(queries=small_set.queries, corpus=small_set.corpus, qrels=every,
                        splits=small_set.splits)  # fmt: skip
    assert (cross_validate(tiny, full, _tiny_recipe(), **args).table["tuned_judged@10"] == 1).all()


def test_fold_pairs_only_from_training_queries(small_set):
    pairs = _fold_pairs(small_set, ["q00", "q01"], max_pairs=None, seed=0)
    assert len(pairs) == 6 and {q for q, _ in pairs} == {"робот новый", "датчик новый"}
    sample = _fold_pairs(small_set, ["q00", "q01"], max_pairs=4, seed=0)
    assert len(sample) == 4 and set(sample) <= set(pairs)
    assert sample == _fold_pairs(small_set, ["q00", "q01"], max_pairs=4, seed=0)


def test_cross_validate_rejects_bad_input(tiny, small_set):
    with pytest.raises(ValueError, match="seeds"):
        cross_validate(tiny, small_set, _tiny_recipe(), seeds=())
    with pytest.raises(ValueError, match="n_folds"):
        cross_validate(tiny, small_set, _tiny_recipe(), splits=("dev",), folds=4, seeds=(1,))
