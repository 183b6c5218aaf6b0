"""Hard-negative mining in toolkit.training: judged-relevant titles are never negatives.

The reference negatives are computed by hand here (cosine similarities from ``model.encode``,
the relevant titles removed, the relative-margin rule of ``mine_hard_negatives`` written out,
the top ``n`` kept), not by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import training as T
from toolkit.data import RetrievalSet


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    from toolkit.models import load_model

    return load_model(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="module")
def mining_set() -> RetrievalSet:
    """4 queries; each has one training title and one more judged-relevant look-alike."""
    words = [
        ("робот", "РОБОТ ДЛЯ ДОСТАВКИ"),
        ("датчик", "ДАТЧИК ВЛАЖНОСТИ"),
        ("фильтр", "ФИЛЬТР ДЛЯ ВОДЫ"),
        ("лазер", "ЛАЗЕРНЫЙ ДАЛЬНОМЕР"),
    ]
    queries, corpus, qrels = {}, {}, {}
    for i, (word, title) in enumerate(words):
        queries[f"q{i}"] = f"{word} новый"
        corpus[f"d{i}a"] = f"{title} ВАРИАНТ 1"
        corpus[f"d{i}b"] = f"{title} ВАРИАНТ 2"  # relevant, but not a training pair
        qrels[f"q{i}"] = {f"d{i}a": 2, f"d{i}b": 1}
    for j in range(8):
        corpus[f"x{j}"] = f"ПОСТОРОННИЙ ДОКУМЕНТ НОМЕР {j}"
    return RetrievalSet(
        queries=queries, corpus=corpus, qrels=qrels, splits={"train": list(queries)}
    )


def _train_pairs(rs: RetrievalSet) -> list[tuple[str, str]]:
    return [(rs.queries[q], rs.corpus[f"d{q[1:]}a"]) for q in rs.queries]


def _reference_negatives(model, rs, pairs, n, margin, exclude):
    """Top-n titles by cosine below (weakest positive - |weakest| * margin), ``exclude`` out."""
    titles = list(dict.fromkeys(rs.corpus.values()))
    t_emb = model.encode(titles, normalize_embeddings=True, convert_to_numpy=True)
    out = {}
    for q, _ in pairs:
        q_emb = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]
        sims = t_emb @ q_emb
        positives = exclude[q]
        weakest = min(sims[titles.index(t)] for t in positives)
        threshold = weakest - abs(weakest) * margin
        ranked = sorted(
            (i for i, t in enumerate(titles) if t not in positives and sims[i] <= threshold),
            key=lambda i: -sims[i],
        )
        out[q] = [titles[i] for i in ranked[:n]]
    return out


def test_relevant_titles_by_query_text(mining_set):
    rel = T.relevant_titles(mining_set)
    assert rel["робот новый"] == ["РОБОТ ДЛЯ ДОСТАВКИ ВАРИАНТ 1", "РОБОТ ДЛЯ ДОСТАВКИ ВАРИАНТ 2"]
    extra = {"q0": {"x3": 1, "x4": 0}, "nope": {"x5": 2}}
    rel = T.relevant_titles(mining_set, extra)
    assert rel["робот новый"][-1] == "ПОСТОРОННИЙ ДОКУМЕНТ НОМЕР 3"  # grade 0 and unknown ids out
    assert len(rel["робот новый"]) == 3


def test_mining_never_uses_a_judged_relevant_title(tiny, mining_set):
    pairs = _train_pairs(mining_set)
    recipe = T.tuned_recipe().replace(hard_negatives=2, hard_negative_margin=0.0)
    kept, negatives, info = T.mine_negatives(tiny, pairs, recipe, mining_set, None)
    assert kept == pairs and info["pairs_without_enough_negatives"] == 0
    rel = T.relevant_titles(mining_set)
    expected = _reference_negatives(tiny, mining_set, pairs, 2, 0.0, rel)
    assert negatives == [expected[q] for q, _ in pairs]
    for (q, _), negs in zip(kept, negatives, strict=True):
        assert not set(negs) & set(rel[q])
    # The exclusion matters: with only the training title excluded, mining the same way picks
    # the judged-relevant look-alike for at least one query (so the check above can fail).
    own = {q: [t] for q, t in pairs}
    naive = _reference_negatives(tiny, mining_set, pairs, 2, 0.0, own)
    assert any(set(naive[q]) & set(rel[q]) for q, _ in pairs)


def test_mining_extra_qrels_are_excluded_too(tiny, mining_set):
    pairs = _train_pairs(mining_set)
    recipe = T.tuned_recipe().replace(hard_negatives=1, hard_negative_margin=0.0)
    _, plain, _ = T.mine_negatives(tiny, pairs, recipe, mining_set, None)
    # declare every query's first mined negative relevant: it must no longer be mined
    ids = {t: d for d, t in mining_set.corpus.items()}
    extra = {q: {ids[negs[0]]: 1} for q, negs in zip(mining_set.queries, plain, strict=True)}
    _, again, info = T.mine_negatives(tiny, pairs, recipe, mining_set, extra)
    for before, after in zip(plain, again, strict=True):
        assert before[0] != after[0]
    assert info["excluded_relevant"] == 3 * len(pairs)


def test_finetune_with_hard_negatives_records_the_mining(tiny, mining_set):
    pairs = _train_pairs(mining_set)
    recipe = T.tuned_recipe().replace(
        hard_negatives=1, hard_negative_margin=0.0, batch_size=2, epochs=1,
        batch_sampler="no_duplicates",
    )  # fmt: skip
    run = T.finetune(tiny, pairs, recipe, negatives_from=mining_set)
    m = run.manifest
    assert m["hard_negatives"]["num_negatives"] == 1
    assert m["hard_negatives"]["candidates"] == "negatives_from corpus"
    assert m["hard_negatives"]["n_candidates"] == len(mining_set.corpus)
    assert m["recipe"]["hard_negatives"] == 1 and m["recipe"]["hard_negative_margin"] == 0.0
    assert m["batch_sampler"] == "no_duplicates"
    assert run.steps == 2 and len(run.lr_schedule) == 2
    np.testing.assert_allclose(
        run.lr_schedule, T.expected_lr_schedule(recipe, len(pairs)), rtol=1e-9, atol=0
    )


def test_finetune_without_a_corpus_mines_the_training_titles(tiny, mining_set):
    pairs = _train_pairs(mining_set)
    recipe = T.tuned_recipe().replace(hard_negatives=1, hard_negative_margin=0.0, epochs=1)
    run = T.finetune(tiny, pairs, recipe)
    info = run.manifest["hard_negatives"]
    assert info["candidates"] == "training titles" and info["n_candidates"] == len(pairs)
    # no hard negatives: nothing mined, nothing recorded, the old call still works
    plain = T.finetune(tiny, pairs, recipe.replace(hard_negatives=0))
    assert plain.manifest["hard_negatives"] is None


def test_finetune_refuses_when_no_pair_keeps_its_negatives(tiny, mining_set):
    pairs = _train_pairs(mining_set)
    recipe = T.tuned_recipe().replace(hard_negatives=len(mining_set.corpus), epochs=1)
    with pytest.raises(ValueError, match="mined negatives past the margin"):
        T.finetune(tiny, pairs, recipe, negatives_from=mining_set)
