"""The model card's widget entries (data.card_widget) and ranking them (ranking.rank_candidates).

card_widget.csv is checked against the card itself (its YAML ``widget``, read with yaml), so a
wrong id, order or entry fails here; rank_candidates is checked against a plain sort with the
tie rule written out, on hand-made scores with ties.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from tests.conftest import MODEL_CARD
from toolkit import data
from toolkit.ranking import rank_candidates


@pytest.mark.skipif(not MODEL_CARD.is_file(), reason="../shared/seed/model_card.md not present")
def test_widget_entries_are_the_cards_own_strings_in_its_order():
    front = yaml.safe_load(MODEL_CARD.read_text(encoding="utf-8").split("---")[1])
    widget = data.card_widget()
    assert len(front["widget"]) == widget["entry"].nunique() == 5
    for entry, w in enumerate(front["widget"], start=1):
        rows = widget[widget["entry"] == entry].sort_values("position")
        assert set(rows["query"]) == {w["source_sentence"]}
        assert list(rows["title"]) == w["sentences"]  # exact strings, trailing spaces included


def test_each_entry_has_exactly_one_relevant_candidate_its_training_positive():
    widget = data.card_widget()
    relevant = widget[widget["grade"] >= 1]
    assert list(relevant["entry"]) == [1, 2, 3, 4, 5]
    train = set(data.demo().pairs("train"))
    assert all((r.query, r.title) in train for r in relevant.itertuples())
    assert list(widget["position"]) == [1, 2, 3] * 5


def _by_sort(row, docs):
    """The tie rule written out: score descending, then doc id (as text) descending."""
    by_id = sorted(docs, key=str, reverse=True)
    return sorted(by_id, key=lambda d: -row[d])  # stable: equal scores keep the id order


def test_rank_candidates_ranks_only_the_candidates_with_the_tie_rule():
    rng = np.random.default_rng(0)
    doc_ids = [f"d{i}" for i in range(12)]
    scores = {"a": rng.integers(0, 3, size=(3, 12)).astype(float), "b": rng.random((3, 12))}
    candidates = {"q0": ["d1", "d5", "d9", "d10"], "q2": ["d3", "d4"]}
    out = rank_candidates(scores, ["q0", "q1", "q2"], doc_ids, candidates)
    assert list(out.columns) == ["system", "query_id", "doc_id", "rank", "score", "tied"]
    for (system, qid), block in out.groupby(["system", "query_id"], sort=False):
        row = dict(zip(doc_ids, scores[system][["q0", "q1", "q2"].index(qid)], strict=True))
        assert list(block["doc_id"]) == _by_sort(row, candidates[qid])
        assert list(block["rank"]) == list(range(1, len(candidates[qid]) + 1))
        values = [row[d] for d in block["doc_id"]]
        assert list(block["tied"]) == [values.count(v) > 1 for v in values]
    assert out["tied"].any() and not out["tied"].all()  # the integer scores tie on purpose


def test_rank_candidates_rejects_unknown_ids_and_repeats():
    s = {"a": np.zeros((1, 3))}
    with pytest.raises(ValueError, match="query 'qx' is not one of query_ids"):
        rank_candidates(s, ["q"], ["a", "b", "c"], {"qx": ["a"]})
    with pytest.raises(ValueError, match=r"candidates\['q'\]: 'z' is not one of doc_ids"):
        rank_candidates(s, ["q"], ["a", "b", "c"], {"q": ["a", "z"]})
    with pytest.raises(ValueError, match="repeated"):
        rank_candidates(s, ["q"], ["a", "b", "c"], {"q": ["a", "a"]})
    with pytest.raises(ValueError, match=r"scores\['a'\] has shape"):
        rank_candidates({"a": np.zeros((2, 3))}, ["q"], ["a", "b", "c"], {"q": ["a"]})
