"""toolkit.training.experiments: selection over seeds; folds that keep title-sharing queries
together."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from toolkit import training as T
from toolkit.data import RetrievalSet
from toolkit.training import experiments as E


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    from toolkit.models import load_model

    return load_model(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="module")
def shared_set() -> RetrievalSet:
    """12 queries; q00-q02 share titles in a chain, q03/q04 share one, the rest stand alone."""
    queries = {f"q{i:02d}": f"запрос номер {i}" for i in range(12)}
    corpus = {f"d{i:02d}": f"ЗАГОЛОВОК ПАТЕНТА {i}" for i in range(14)}
    qrels = {f"q{i:02d}": {f"d{i:02d}": 2} for i in range(12)}
    qrels["q00"]["d01"] = 1  # q00 - q01 through d01
    qrels["q01"]["d02"] = 1  # q01 - q02 through d02: q00..q02 one component
    qrels["q04"]["d03"] = 1  # q03 - q04
    qrels["q05"]["d12"] = 0  # grade 0 links nothing
    qrels["q06"]["d12"] = 0
    ids = list(queries)
    splits = {"train": ids[:4], "dev": ids[4:8], "test": ids[8:]}
    return RetrievalSet(queries=queries, corpus=corpus, qrels=qrels, splits=splits)


def test_title_groups_are_connected_components(shared_set):
    ids = list(shared_set.queries)
    groups = E.title_groups(shared_set, ids)
    # by hand: {q00, q01, q02}, {q03, q04}, then one group per remaining query
    assert groups == [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]
    # links only through the queries given: without q01, q00 and q02 are not connected
    assert E.title_groups(shared_set, ["q00", "q02"]) == [0, 1]
    assert E.title_groups(shared_set, ["q05", "q06"], min_grade=0) == [0, 0]


def test_grouped_folds_never_split_a_group(shared_set):
    ids = list(shared_set.queries)
    groups = E.title_groups(shared_set, ids)
    for seed in range(10):
        folds = E.kfold_by_query(ids, 3, seed=seed, groups=groups)
        held_out = [q for _, ev in folds for q in ev]
        assert sorted(held_out) == sorted(ids)
        for train_q, eval_q in folds:
            assert sorted(train_q + eval_q) == sorted(ids)
            g_train = {groups[ids.index(q)] for q in train_q}
            g_eval = {groups[ids.index(q)] for q in eval_q}
            assert not g_train & g_eval
    a = E.kfold_by_query(ids, 3, seed=1, groups=groups)
    assert a == E.kfold_by_query(ids, 3, seed=1, groups=groups)
    assert any(a != E.kfold_by_query(ids, 3, seed=s, groups=groups) for s in range(2, 6))
    # the ungrouped folds (old behaviour) do split the chain for some seed: the option matters
    plain = [E.kfold_by_query(ids, 3, seed=s) for s in range(10)]
    assert any(
        len({i for i, (_, ev) in enumerate(f) for q in ev if q in ("q00", "q01", "q02")}) > 1
        for f in plain
    )


def test_cross_validate_groups_by_title_by_default(tiny, shared_set):
    recipe = T.tuned_recipe().replace(
        epochs=1, batch_size=2, freeze_embeddings=False, hard_negatives=0
    )
    cv = E.cross_validate(
        tiny, shared_set, recipe, splits=("train", "dev"), folds=2, seeds=(1,),
        max_pairs=4, metrics=("ndcg@10",), fold_seed=3,
    )  # fmt: skip
    for _, eval_q in cv.folds:
        for group in (("q00", "q01", "q02"), ("q03", "q04")):
            assert set(group) <= set(eval_q) or not set(group) & set(eval_q)


def test_select_recipe_means_over_seeds_and_picks_the_best(tiny, shared_set):
    pairs = shared_set.pairs("train")
    recipe = T.tuned_recipe().replace(
        epochs=2, batch_size=2, warmup_steps=0, scheduler="constant", freeze_embeddings=False,
        hard_negatives=0,
    )  # fmt: skip
    grid = {"learning_rate": (1e-9, 1e-3), "batch_sampler": ("batch_sampler", "no_duplicates")}
    sel = E.select_recipe(tiny, pairs, shared_set, recipe=recipe, grid=grid, seeds=(1, 2, 3))
    t, s = sel.table, sel.summary
    assert len(t) == 4 * 3 and len(s) == 4
    combos = list(itertools.product(*grid.values()))
    assert [tuple(r) for r in s[["learning_rate", "batch_sampler"]].to_numpy()] == combos
    ref = t.groupby("candidate", sort=False)["score"].agg(["mean", "std", "count"])
    np.testing.assert_allclose(s["mean"], ref.loc[s.index, "mean"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s["sd"], ref.loc[s.index, "std"], rtol=0, atol=1e-12)
    assert (s["n_seeds"] == 3).all()
    np.testing.assert_allclose(s["gain"], s["mean"] - sel.base_score, atol=1e-12)
    assert sel.candidate == s["mean"].idxmax() and s.loc[sel.candidate, "chosen"]
    assert s["chosen"].sum() == 1
    assert sel.recipe.learning_rate == s.loc[sel.candidate, "learning_rate"]
    assert sel.recipe.batch_sampler == s.loc[sel.candidate, "batch_sampler"]
    # lr 1e-9 barely moves the model: its dev score equals the base score to 4 decimals
    tiny_lr = s[s["learning_rate"] == 1e-9]
    np.testing.assert_allclose(tiny_lr["mean"], sel.base_score, atol=1e-4)
    assert sel.n_queries == len(shared_set.splits["dev"]) and sel.split == "dev"
    # the kept model is the chosen candidate trained with the first seed
    first = t[(t["candidate"] == sel.candidate) & (t["seed"] == 1)]["score"].iloc[0]
    from toolkit.evaluation import evaluate_system

    kept = evaluate_system(sel.model, shared_set, "dev", cache=False)["ndcg@10"].mean()
    assert kept == pytest.approx(first, abs=1e-12)


def test_select_recipe_exact_tie_keeps_the_simpler_candidate(tiny, shared_set):
    pairs = shared_set.pairs("train")
    recipe = T.tuned_recipe().replace(
        epochs=1, batch_size=2, freeze_embeddings=False, hard_negatives=0
    )
    # two candidates that differ only in a free-text note train identically: an exact tie
    sel = E.select_recipe(
        tiny, pairs, shared_set, recipe=recipe, grid={"note": ("simpler", "later")},
        seeds=(1, 2, 3),
    )  # fmt: skip
    assert sel.summary["mean"].nunique() == 1
    assert sel.candidate == "note simpler" and sel.recipe.note == "simpler"


def test_select_recipe_refuses_test_and_bad_grids(tiny, shared_set):
    pairs = shared_set.pairs("train")
    with pytest.raises(ValueError, match="never on the test split"):
        E.select_recipe(tiny, pairs, shared_set, split="test")
    with pytest.raises(ValueError, match="at least 3 distinct seeds"):
        E.select_recipe(tiny, pairs, shared_set, seeds=(1, 1, 2))
    with pytest.raises(ValueError, match=r"grid\['lr'\]: not a Recipe field"):
        E.select_recipe(tiny, pairs, shared_set, grid={"lr": (1e-4,)})
    with pytest.raises(ValueError, match=r"grid\['epochs'\]: expected at least one value"):
        E.select_recipe(tiny, pairs, shared_set, grid={"epochs": ()})


def test_candidate_names():
    assert (
        E._candidate_name(
            {"learning_rate": 3e-4, "hard_negatives": 1, "batch_sampler": "no_duplicates"}
        )
        == "lr 0.0003, +1 mined negative, no_duplicates"
    )
    assert E._candidate_name({"hard_negatives": 0, "batch_sampler": "batch_sampler"}) == (
        "in-batch negatives, default sampler"
    )
