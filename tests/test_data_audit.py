"""Tests for toolkit.data.audit: hand-made sets whose leaks are known, the demo set, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.data import DataError, RetrievalSet, audit_splits, demo
from toolkit.data.audit import normalise_text


def leaky_set() -> RetrievalSet:
    """Every kind of finding once, on known split pairs (see the expected table below)."""
    return RetrievalSet(
        queries={
            "t1": "умный дом",
            "t2": "роботы для доставки товаров",
            "v1": "Умный  ДОМ!",  # exact duplicate of t1 after normalisation
            "v2": "датчик пульса",
            "s1": "роботы для доставки еды",  # Jaccard 3/5 = 0.6 with t2
            "s2": "ёмкость для воды",
            "x1": "емкость, для воды",  # exact duplicate of s2 (ё = е, punctuation)
        },
        corpus={"D1": "ТИТУЛ А", "D2": "ТИТУЛ Б", "D3": "Титул-Б", "D4": "ВОДА", "D5": "ПУЛЬС"},
        qrels={
            "t1": {"D1": 2},
            "v2": {"D1": 1, "D5": 1},  # D1 shared train-dev
            "t2": {"D4": 1},
            "s1": {"D4": 2},  # D4 shared train-test
            "s2": {"D5": 0},  # grade 0: not relevant, so D5 is not shared with test
            "x1": {"D5": 1},  # D5 shared dev-excluded
        },
        splits={
            "excluded": ["x1"], "test": ["s1", "s2"], "train": ["t1", "t2"], "dev": ["v1", "v2"]
        },
    )


EXPECTED = [
    ("shared_relevant_title", "train", "dev", "D1"),
    ("shared_relevant_title", "train", "test", "D4"),
    ("shared_relevant_title", "dev", "excluded", "D5"),
    ("exact_duplicate_query", "train", "dev", "t1 / v1"),
    ("exact_duplicate_query", "test", "excluded", "s2 / x1"),
    ("near_duplicate_query", "train", "test", "t2 / s1"),
    ("duplicate_title", None, None, "D2 / D3"),
]


def _rows(audit):
    return [
        (r.kind, r.split_a, r.split_b, r.item)
        for r in audit.table.astype(object).where(audit.table.notna(), None).itertuples()
    ]


def test_every_kind_on_known_split_pairs():
    audit = audit_splits(leaky_set())
    assert _rows(audit) == EXPECTED
    assert list(audit.table.columns) == ["kind", "split_a", "split_b", "item", "detail"]
    detail = audit.table.set_index("item")["detail"]
    assert detail["D1"] == "train: 1 query (t1); dev: 1 query (v2)"
    assert detail["t2 / s1"].startswith("jaccard 0.60:")
    assert detail["t1 / v1"] == "same text 'умный дом'"
    counts = audit.counts.set_index(["kind", "split_a", "split_b"])
    assert counts.loc[("shared_relevant_title", "train", "dev"), "status"] == "leakage"
    assert counts.loc[("shared_relevant_title", "dev", "excluded"), "status"] == "excluded"
    assert counts.loc[("exact_duplicate_query", "test", "excluded"), "status"] == "excluded"
    assert counts.loc[("near_duplicate_query", "train", "test"), "status"] == "check"
    assert int(counts.loc[("shared_relevant_title", "train", "test"), "queries_b"]) == 1
    assert len(audit.counts) == len(EXPECTED)  # one finding per (kind, split pair) here
    assert not audit.ok
    assert audit.verdict == (
        "LEAKAGE: 2 titles relevant in two splits (train-dev: 1 title, 1 train / 1 dev "
        "queries); also 1 exact duplicate query across splits, 1 near-duplicate query, "
        "1 duplicate title (2 finding(s) involve the 'excluded' split: listed, not leakage, "
        "as long as it is never evaluated)"
    )


def test_counts_queries_per_side():
    # one title relevant to two train queries and three test queries
    rs = RetrievalSet(
        queries={f"q{i}": f"запрос {i}" for i in range(5)},
        corpus={"d": "Т"},
        qrels={f"q{i}": {"d": 1} for i in range(5)},
        splits={"train": ["q0", "q1"], "test": ["q2", "q3", "q4"]},
    )
    audit = audit_splits(rs)
    row = audit.counts.iloc[0]
    assert (row["n"], row["queries_a"], row["queries_b"]) == (1, 2, 3)
    assert audit.table.loc[0, "detail"] == "train: 2 queries (q0, q1); test: 3 queries (q2, q3, q4)"


def test_thresholds_and_exact_only_once():
    rs = leaky_set()
    stricter = audit_splits(rs, jaccard_threshold=0.61)
    assert "near_duplicate_query" not in set(stricter.table["kind"])
    # the exact pair t1/v1 (Jaccard 1.0) is not listed again as near
    assert (audit_splits(rs, jaccard_threshold=0.1).table["item"] == "t1 / v1").sum() == 1


def test_no_leakage_verdict_and_no_splits():
    rs = RetrievalSet(
        queries={"a": "умный дом", "b": "датчик пульса"},
        corpus={"d1": "Т1", "d2": "Т2"},
        qrels={"a": {"d1": 1, "d2": 0}, "b": {"d2": 1}},  # d2: grade 0 for a is not a share
        splits={"train": ["a"], "test": ["b"]},
    )
    audit = audit_splits(rs)
    assert audit.ok and audit.table.empty and audit.counts.empty
    assert audit.verdict == (
        "no leakage: 0 shared relevant titles, 0 duplicate queries across splits, "
        "0 duplicate titles"
    )
    whole = RetrievalSet(queries=dict(rs.queries), corpus={"d1": "Т", "d2": "т"})
    assert audit_splits(whole).verdict == "no splits to audit; 1 duplicate title"


class _FakeModel:
    def encode(self, *a, **k):  # never called: toolkit.encoding.encode is replaced
        raise AssertionError


def test_embedding_check(monkeypatch):
    rs = leaky_set()
    order = [q for n in ("train", "dev", "test", "excluded") for q in rs.splits[n]]
    vectors = {q: np.eye(8)[i] for i, q in enumerate(order)}
    vectors["v1"] = vectors["t1"]  # exact duplicate: cosine 1, listed only as exact
    vectors["s2"] = 0.95 * vectors["v2"] + np.sqrt(1 - 0.95**2) * np.eye(8)[7]  # cos 0.95
    vectors["x1"] = np.zeros(8)  # a zero vector has cosine 0 with everything
    text_to_q = {t: q for q, t in rs.queries.items()}

    def fake_encode(model, texts, **kw):
        return np.stack([vectors[text_to_q[t]] for t in texts]).astype(np.float32)

    monkeypatch.setattr("toolkit.encoding.encode", fake_encode)
    audit = audit_splits(rs, model=_FakeModel(), near_threshold=0.9)
    emb = audit.table[audit.table["kind"] == "similar_query_embedding"]
    assert emb[["split_a", "split_b", "item"]].values.tolist() == [["dev", "test", "v2 / s2"]]
    assert emb["detail"].iloc[0].startswith("cosine 0.950:")
    assert audit_splits(rs, model=_FakeModel(), near_threshold=0.96).table["kind"].tolist() == [
        k for k, *_ in EXPECTED
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"near_threshold": 1.5}, "near_threshold: expected a number in (0, 1], got 1.5"),
        ({"jaccard_threshold": 0}, "jaccard_threshold: expected a number in (0, 1], got 0"),
        ({"model": "default"}, "model: expected a SentenceTransformer (with encode()), got str"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(DataError) as info:
        audit_splits(leaky_set(), **kwargs)
    assert message in str(info.value)
    with pytest.raises(DataError, match="rs: expected a RetrievalSet, got dict"):
        audit_splits({})


def test_normalise_text():
    assert normalise_text("  Ёлка — ЗЕЛЁНАЯ,  ель!! ") == "елка зеленая ель"
    assert normalise_text("a_b") == "a b"


def test_demo_set_is_leakage_free():
    """The data card's claim: no relevant title shared between train, dev and test."""
    audit = audit_splits(demo())
    assert audit.ok
    evaluated = audit.table[
        (audit.table["split_a"] != "excluded") & (audit.table["split_b"] != "excluded")
    ]
    assert evaluated.empty
    assert audit.verdict.startswith(
        "no leakage: 0 shared relevant titles, 0 duplicate queries across splits, "
        "0 duplicate titles"
    )
    # the excluded queries are exactly the ones sharing a title with a train pair (card rule 1)
    with_train = audit.table[
        (audit.table["kind"] == "shared_relevant_title") & (audit.table["split_a"] == "train")
    ]
    counts = audit.counts.set_index(["kind", "split_a", "split_b"])
    assert int(counts.loc[("shared_relevant_title", "train", "excluded"), "queries_b"]) == 29
    assert len(with_train) == int(counts.loc[("shared_relevant_title", "train", "excluded"), "n"])


def test_cli_validate_folder_prints_the_audit(tmp_path, capsys):
    from toolkit.__main__ import main

    rs = leaky_set()
    (tmp_path / "corpus.csv").write_text(
        "doc_id,title\n" + "".join(f"{d},{t}\n" for d, t in rs.corpus.items()), encoding="utf-8"
    )
    split_of = {q: n for n, ids in rs.splits.items() for q in ids}
    (tmp_path / "queries.csv").write_text(
        "query_id,text,split\n"
        + "".join(f'{q},"{t}",{split_of[q]}\n' for q, t in rs.queries.items()),
        encoding="utf-8",
    )
    (tmp_path / "qrels.csv").write_text(
        "query_id,doc_id,relevance\n"
        + "".join(f"{q},{d},{g}\n" for q, j in rs.qrels.items() for d, g in j.items()),
        encoding="utf-8",
    )
    rc = main(["data", "validate", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out  # findings are reported, they do not fail validation
    assert f"{tmp_path} [folder]: OK" in out
    assert "leakage audit: LEAKAGE: 2 titles relevant in two splits" in out
    assert "near_duplicate_query   train     test" in out
    assert "duplicate_title       -        -" in out
