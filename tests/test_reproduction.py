"""Tests of toolkit.reproduction (the logic behind notebook 02)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit import reproduction as rp
from toolkit.data import RetrievalSet
from toolkit.training import CARD_AS_DOCUMENTED, CARD_AS_RUN, ScheduleWarning, finetune

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def tiny(tiny_bert_dir):
    from toolkit.models import load_model

    return load_model(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="session")
def small_set() -> RetrievalSet:
    """12 queries, 3 relevant titles each (+ 6 distractors); train/dev/test by query."""
    topics = [
        ("робот", "РОБОТ ДЛЯ ДОСТАВКИ ТОВАРОВ"),
        ("датчик", "ДАТЧИК ВЛАЖНОСТИ ПОЧВЫ"),
        ("упаковка", "БИОРАЗЛАГАЕМАЯ ПЛЕНКА ДЛЯ УПАКОВКИ"),
        ("шифрование", "СПОСОБ ШИФРОВАНИЯ ДАННЫХ"),
        ("теплоизоляция", "ТЕПЛОИЗОЛЯЦИОННАЯ ПАНЕЛЬ"),
        ("обучение", "ПЛАТФОРМА ДИСТАНЦИОННОГО ОБУЧЕНИЯ"),
        ("батарея", "ЛИТИЕВАЯ БАТАРЕЯ"),
        ("дрон", "БЕСПИЛОТНЫЙ ЛЕТАТЕЛЬНЫЙ АППАРАТ"),
        ("вода", "ФИЛЬТР ДЛЯ ОЧИСТКИ ВОДЫ"),
        ("бетон", "СОСТАВ БЕТОННОЙ СМЕСИ"),
        ("зерно", "СУШИЛКА ДЛЯ ЗЕРНА"),
        ("лазер", "ЛАЗЕРНЫЙ ДАЛЬНОМЕР"),
    ]
    queries, corpus, qrels = {}, {}, {}
    for i, (word, title) in enumerate(topics):
        qid = f"q{i:02d}"
        queries[qid] = f"{word} новый"
        qrels[qid] = {}
        for j in range(3):
            did = f"d{i:02d}{j}"
            corpus[did] = f"{title} ВАРИАНТ {j + 1}"
            qrels[qid][did] = 2 if j == 0 else 1
    for j in range(6):
        corpus[f"x{j}"] = f"ПОСТОРОННИЙ ДОКУМЕНТ {j}"
    ids = list(queries)
    splits = {"train": ids[:4], "dev": ids[4:7], "test": ids[7:]}
    return RetrievalSet(queries=queries, corpus=corpus, qrels=qrels, splits=splits)


def _tiny_recipe(**changes):
    # hard_negatives=0: the tiny random model scores every title alike, so no candidate
    # passes the recommended recipe's mining margin
    return rp.get_recipe("tuned", epochs=1, batch_size=4, hard_negatives=0, **changes)


# --------------------------------------------------------------------------- recipes


def test_get_recipe_names_and_changes():
    assert rp.get_recipe("card_as_run") is CARD_AS_RUN
    assert rp.get_recipe("card_as_documented") is CARD_AS_DOCUMENTED
    frozen = rp.get_recipe("card_as_run", freeze_embeddings=True)
    assert frozen.freeze_embeddings and frozen.learning_rate == 2e-5
    tuned = rp.get_recipe("tuned", learning_rate=3e-4)
    assert tuned.learning_rate == 3e-4 and tuned.optimizer_mode == "trainer"
    assert rp.get_recipe("tuned", model_kind="static").learning_rate == 1e-3


def test_get_recipe_rejects_unknown_name_and_card_lr():
    with pytest.raises(ValueError, match="card_as_documented.*card_as_run.*tuned"):
        rp.get_recipe("card")
    with pytest.raises(ValueError, match="learning_rate"):
        rp.get_recipe("card_as_run", learning_rate=1e-4)


def test_recipe_table_only_differences():
    table = rp.recipe_table({"doc": CARD_AS_DOCUMENTED, "run": CARD_AS_RUN}, only_differences=True)
    # the two readings of the card differ in exactly these fields among the shown ones
    assert list(table.index) == [
        "optimizer_mode",
        "learning_rate",
        "weight_decay",
        "warmup_steps",
        "scheduler",
    ]
    assert table.loc["learning_rate"].tolist() == ["5e-05", "2e-05"]
    full = rp.recipe_table({"doc": CARD_AS_DOCUMENTED})
    assert full.loc["batch_size", "doc"] == "8" and full.loc["epochs", "doc"] == "10"
    with pytest.raises(ValueError, match=r"fields\[0\]='lr'"):
        rp.recipe_table({"doc": CARD_AS_DOCUMENTED}, fields=["lr"])


# --------------------------------------------------------------------------- lr schedules


def test_expected_lr_schedule_by_hand():
    # trainer mode: 8 pairs / batch 2 = 4 steps; warm-up 2 then linear decay to 0 at step 4
    r = CARD_AS_DOCUMENTED.replace(learning_rate=1.0, warmup_steps=2, batch_size=2, epochs=1)
    assert rp.expected_lr_schedule(r, 8).tolist() == [0.0, 0.5, 1.0, 0.5]
    # fit mode: 9 pairs / batch 2 -> the trainer runs 5 steps, fit() sizes the schedule by 4
    f = CARD_AS_RUN.replace(learning_rate=1.0, warmup_steps=0, batch_size=2, epochs=1)
    assert rp.expected_lr_schedule(f, 9).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    # the card as run: 50 pairs, batch 8, 10 epochs -> 70 steps, peak 2e-5 * 69 / 10000
    card = rp.expected_lr_schedule(CARD_AS_RUN, 50)
    assert len(card) == 70 and card[0] == 0.0
    assert math.isclose(card.max(), 2e-5 * 69 / 10_000, rel_tol=1e-12)
    with pytest.raises(ValueError, match="n_pairs"):
        rp.expected_lr_schedule(CARD_AS_RUN, 0)


@pytest.mark.parametrize("scheduler", ["warmuplinear", "warmupcosine", "warmupconstant"])
def test_expected_lr_schedule_matches_fit_scheduler(scheduler):
    """fit()'s own scheduler factory, stepped on a dummy optimizer, gives the same rates."""
    import torch
    from sentence_transformers.sentence_transformer.fit_mixin import FitMixin

    recipe = CARD_AS_RUN.replace(
        scheduler=scheduler, warmup_steps=5, batch_size=4, epochs=3, learning_rate=1e-3
    )
    n_pairs = 18  # trainer: 5 steps/epoch; fit(): 4 steps/epoch for the schedule
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=recipe.learning_rate)
    sched = FitMixin._get_scheduler(opt, scheduler, warmup_steps=5, t_total=(18 // 4) * 3)
    lrs = []
    for _ in range(15):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(rp.expected_lr_schedule(recipe, n_pairs), lrs, rtol=1e-12)


@pytest.mark.parametrize("name", ["card_as_documented", "card_as_run", "tuned"])
def test_expected_lr_schedule_matches_a_real_run(tiny, small_set, name):
    # no mined negatives: the tiny random model scores every title alike (none passes the
    # tuned recipe's mining margin), and the schedule does not depend on them
    recipe = rp.get_recipe(name, epochs=2, hard_negatives=0)
    pairs = small_set.pairs()[:20]  # 20 pairs, batch 8 -> 3 steps per epoch (last one partial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScheduleWarning)
        run = finetune(tiny, pairs, recipe)
    expected = rp.expected_lr_schedule(recipe, len(pairs))
    assert run.steps == len(expected) == 6
    np.testing.assert_allclose(run.lr_schedule, expected, rtol=1e-9, atol=0)


def test_loss_by_epoch():
    curve = [(1, 3.0), (2, 1.0), (3, 2.0), (4, 0.0), (5, 1.0), (6, 0.5)]
    assert rp.loss_by_epoch(curve, 2).tolist() == [2.0, 0.5]
    assert rp.loss_by_epoch([1.0, 3.0], 1).tolist() == [2.0]
    with pytest.raises(ValueError, match="5 steps"):
        rp.loss_by_epoch(curve[:5], 2)


# --------------------------------------------------------------------------- drift


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
    out = rp.drift_summary(tiny, {"same": copy.deepcopy(tiny), "moved": moved}, texts, k=2)
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
    full = rp.drift_summary(tiny, {"moved": moved}, texts, k=2, skip_identical=False)
    assert full.loc["moved", "identical_params"] == 0
    assert 0 < full.loc["moved", "weight_rel_change"] < 2.0


# --------------------------------------------------------------------------- evaluation


def test_evaluate_model_matches_sentence_transformers_evaluator(tiny, small_set):
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    table = rp.evaluate_model(tiny, small_set, "test", ks=(10,), cache=False)
    test = small_set.split("test")
    assert sorted(table["query_id"]) == sorted(test.query_ids)
    evaluator = InformationRetrievalEvaluator(
        queries=dict(test.queries),
        corpus=dict(small_set.corpus),
        relevant_docs={q: set(d) for q, d in test.qrels.items()},
        mrr_at_k=[10],
        accuracy_at_k=[10],
        precision_recall_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[10],
        show_progress_bar=False,
        name="t",
    )
    st = evaluator(tiny)
    assert table["mrr@10"].mean() == pytest.approx(st["t_cosine_mrr@10"], abs=1e-6)
    assert table["recall@10"].mean() == pytest.approx(st["t_cosine_recall@10"], abs=1e-6)
    with pytest.raises(ValueError, match="'nope'"):
        rp.evaluate_model(tiny, small_set, query_ids=["q00", "nope"])


def test_before_after_by_hand():
    qids = ["a", "b", "c", "d"]
    base = pd.DataFrame({"query_id": qids, "ndcg@10": [0.5, 0.2, 0.4, 0.1]})
    better = pd.DataFrame({"query_id": qids[::-1], "ndcg@10": [0.6, 0.9, 0.7, 1.0]})  # +0.5 each
    out = rp.before_after(base, {"better": better}, metrics=("ndcg@10",), n_resamples=20000)
    b = out[out["system"] == "base"].iloc[0]
    t = out[out["system"] == "better"].iloc[0]
    assert b["mean"] == pytest.approx(0.3) and math.isnan(b["p_value"])
    assert t["mean"] == pytest.approx(0.8) and t["n"] == 4
    assert t["diff"] == pytest.approx(0.5)
    assert t["diff_low"] == pytest.approx(0.5) and t["diff_high"] == pytest.approx(0.5)
    # all 4 differences positive: |mean| is reached only by all-same signs, 2 of 16 flips
    assert t["p_value"] == pytest.approx(2 / 16, abs=0.01)
    assert b["low"] <= b["mean"] <= b["high"]


def test_before_after_rejects_mismatched_queries_and_names():
    base = pd.DataFrame({"query_id": ["a", "b"], "ndcg@10": [0.5, 0.2]})
    other = pd.DataFrame({"query_id": ["a", "c"], "ndcg@10": [0.5, 0.2]})
    with pytest.raises(ValueError, match="other queries"):
        rp.before_after(base, {"x": other}, metrics=("ndcg@10",))
    with pytest.raises(ValueError, match="'base'"):
        rp.before_after(base, {"base": base}, metrics=("ndcg@10",))
    with pytest.raises(ValueError, match="'mrr@10'"):
        rp.before_after(base, {"x": base}, metrics=("mrr@10",))


# --------------------------------------------------------------------------- lr selection / CV


def test_select_lr_on_split_keeps_the_model_it_would_retrain(tiny, small_set):
    import torch

    pairs = small_set.pairs("train")
    recipe = _tiny_recipe()
    sel, model = rp.select_lr_on_split(
        tiny, pairs, small_set, split="dev", candidates=[1e-4, 1e-2], recipe=recipe
    )
    assert list(sel.table["learning_rate"]) == [1e-4, 1e-2]
    assert sel.best_lr in (1e-4, 1e-2)
    again = finetune(tiny, pairs, sel.recipe).model
    for (n, a), (_, b) in zip(model.named_parameters(), again.named_parameters(), strict=True):
        assert torch.equal(a, b), n
    best_score = sel.table.loc[sel.table["learning_rate"] == sel.best_lr, "score"].iloc[0]
    dev = rp.evaluate_model(model, small_set, "dev", cache=False)["ndcg@10"].mean()
    assert dev == pytest.approx(best_score, abs=1e-12)
    with pytest.raises(ValueError, match="test"):
        rp.select_lr_on_split(tiny, pairs, small_set, split="test", candidates=[1e-4])


def test_cross_validate_folds_and_gains(tiny, small_set):
    cv = rp.cross_validate(
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


def test_fold_pairs_only_from_training_queries(small_set):
    pairs = rp._fold_pairs(small_set, ["q00", "q01"], max_pairs=None, seed=0)
    assert len(pairs) == 6 and {q for q, _ in pairs} == {"робот новый", "датчик новый"}
    sample = rp._fold_pairs(small_set, ["q00", "q01"], max_pairs=4, seed=0)
    assert len(sample) == 4 and set(sample) <= set(pairs)
    assert sample == rp._fold_pairs(small_set, ["q00", "q01"], max_pairs=4, seed=0)


def test_cross_validate_rejects_bad_input(tiny, small_set):
    with pytest.raises(ValueError, match="seeds"):
        rp.cross_validate(tiny, small_set, _tiny_recipe(), seeds=())
    with pytest.raises(ValueError, match="n_folds"):
        rp.cross_validate(tiny, small_set, _tiny_recipe(), splits=("dev",), folds=4, seeds=(1,))


# --------------------------------------------------------------------------- what we found


def test_what_we_found_uses_the_numbers():
    drift = pd.DataFrame(
        {"weight_rel_change": [2e-3, 1e-5], "mean_cosine": [0.98, 1.0],
         "neighbour_overlap": [0.9, 1.0]},
        index=pd.Index(["card_as_documented", "card_as_run"], name="recipe"),
    )  # fmt: skip
    comparison = pd.DataFrame(
        [
            {"system": "base", "metric": "ndcg@10", "mean": 0.7, "low": 0.6, "high": 0.8,
             "diff": np.nan, "diff_low": np.nan, "diff_high": np.nan, "p_value": np.nan, "n": 83},
            {"system": "tuned", "metric": "ndcg@10", "mean": 0.73, "low": 0.66, "high": 0.79,
             "diff": 0.03, "diff_low": 0.01, "diff_high": 0.06, "p_value": 0.01, "n": 83},
        ]
    )  # fmt: skip
    cv = pd.DataFrame(
        {"gain": [0.02], "gain_sd": [0.04], "improved": [3], "runs": [6]},
        index=pd.Index(["ndcg@10"], name="metric"),
    )
    found = rp.what_we_found(
        peaks={"card_as_documented": 5e-5, "card_as_run": 1.38e-7},
        epoch_loss={"card_as_documented": [1.146, 0.5], "card_as_run": [1.156, 1.5674]},
        drift=drift,
        comparison=comparison,
        cv=cv,
        best_lr=1e-4,
    )
    text = "\n".join(found)
    assert "card_as_documented 1.146 -> 0.500; card_as_run 1.156 -> 1.567" in text
    assert "362 times lower" in text  # 5e-5 / 1.38e-7 = 362.3
    assert "moved the weights 200 times less than the other recipe." in text  # 2e-3 / 1e-5
    assert "83 held-out test queries" in text and "0.700 [0.600, 0.800]" in text
    assert "+0.030" in text and "p = 0.010: a significant gain" in text
    assert "+0.020 ± 0.040" in text and "smaller than its run-to-run spread" in text
    assert "3 of 6 runs" in text and "0.0001" in text
