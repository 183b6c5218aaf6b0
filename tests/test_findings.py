"""toolkit.findings: the notebooks' closing sentences, fed the numbers the notebooks printed.

Each test rebuilds the tables a notebook had when it printed its "What we found" cell (from
the values its committed output shows; where a sentence prints a ratio of two values, the
values are chosen within their printed precision so the ratio prints the same) and compares
the function's sentences with the committed output of that cell, line for line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import findings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _printed(name: str) -> list[str]:
    """stdout lines of the notebook's last code cell, as committed."""
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    text = "".join(
        "".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout"
    )
    return text.rstrip("\n").split("\n")


def _summary_01() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "anisotropy titles": [0.172, 0.371],
            "pairs": [22050, 22050],
            "relevant": [202, 202],
            "relevant median": [0.403, 0.476],
            "non-relevant median": [0.102, 0.261],
            "AUC": [0.931, 0.815],
            "AUC low": [0.903, 0.770],
            "AUC high": [0.958, 0.862],
            "gap": [0.301, 0.215],
            "skewness": [0.773, 2.160],
            "hubs (N10 > 20)": [16.0, 41.0],
            "3-NN agreement": [0.488, 0.257],
            "chance mean": [0.031, 0.031],
            "chance sd": [0.007, 0.006],
        },
        index=["default", "navec"],
    )


def test_embedding_space_matches_notebook_01():
    out = findings.embedding_space(_summary_01(), "topic", n_queries=63, illustrative=True)
    assert out == _printed("01_embedding_space.ipynb")


def test_embedding_space_one_model_no_hubs_and_agreement_near_chance():
    summary = _summary_01().iloc[[1]].rename(index={"navec": "m"})
    summary["hubs (N10 > 20)"] = 0.0
    summary["3-NN agreement"] = 0.04  # within 3 sd (0.006) of the chance level 0.031
    out = findings.embedding_space(summary, "IPC section", n_queries=63)
    assert len(out) == 3 and "no hub title" in out[0]
    assert out[2].endswith("m 0.040 against 0.031 ± 0.006 (not clearly above it).")


def test_embedding_space_without_labels_leaves_the_agreement_out():
    summary = _summary_01().drop(columns=["3-NN agreement", "chance mean", "chance sd"])
    out = findings.embedding_space(summary, None, n_queries=63)
    assert out[-1] == "The widest gap is default's."
    assert not any("agreement" in line or "neighbourhoods" in line for line in out)


def _comparison_02() -> pd.DataFrame:
    rows = [
        ("base", 0.675, 0.604, 0.743, np.nan, np.nan, np.nan, np.nan, np.nan),
        ("card_as_documented", 0.690, 0.621, 0.756, 0.015, -0.010, 0.041, 0.275, 0.550),
        ("card_as_run", 0.675, 0.604, 0.743, 0.0, 0.0, 0.0, 1.0, 1.0),
        ("tuned", 0.722, 0.658, 0.784, 0.048, 0.009, 0.090, 0.025, 0.076),
    ]
    cols = ["system", "mean", "low", "high", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    t = pd.DataFrame(rows, columns=cols)
    t.insert(1, "metric", "ndcg@10")
    t["n"] = 63
    return t


def _selection_02() -> pd.DataFrame:
    """Notebook 02's selection table (means and sds over 3 seeds, as printed there)."""
    rows = [
        ("lr 0.0001, in-batch negatives, default sampler", 0.6318, 0.0014),
        ("lr 0.0001, in-batch negatives, no_duplicates", 0.6272, 0.0029),
        ("lr 0.0001, +1 mined negative, default sampler", 0.6267, 0.0233),
        ("lr 0.0001, +1 mined negative, no_duplicates", 0.6034, 0.0102),
        ("lr 0.0003, in-batch negatives, default sampler", 0.6275, 0.0252),
        ("lr 0.0003, in-batch negatives, no_duplicates", 0.5781, 0.0376),
        ("lr 0.0003, +1 mined negative, default sampler", 0.6559, 0.0155),
        ("lr 0.0003, +1 mined negative, no_duplicates", 0.6108, 0.0131),
    ]
    t = pd.DataFrame(rows, columns=["candidate", "mean", "sd"]).set_index("candidate")
    t["n_seeds"] = 3
    t["chosen"] = t.index == "lr 0.0003, +1 mined negative, default sampler"
    return t


def test_finetuning_matches_notebook_02():
    drift = pd.DataFrame(
        {
            # tuned: 0.012639 prints 0.0126 and gives the printed ratio 1,143 to card_as_run
            "weight_rel_change": [0.00326, 1.1058e-05, 0.012639],
            "mean_cosine": [0.9822, 1.0, 0.7562],
            "neighbour_overlap": [0.889, 1.0, 0.631],
        },
        index=pd.Index(["card_as_documented", "card_as_run", "tuned"], name="recipe"),
    )
    cv = pd.DataFrame(
        {"gain": [0.019], "gain_sd": [0.024], "improved": [5], "runs": [6]},
        index=pd.Index(["ndcg@10"], name="metric"),
    )
    out = findings.finetuning(
        peaks={"card_as_documented": 5e-05, "card_as_run": 2e-5 * 69 / 10000, "tuned": 3e-4},
        epoch_loss={  # notebook 02's per-epoch table, as printed
            "card_as_documented": [1.146, 0.671, 0.746, 0.549, 0.725, 0.327, 0.399, 0.493, 0.418,
                                   0.572],
            "card_as_run": [1.156, 1.001, 1.100, 0.990, 1.585, 0.936, 1.153, 1.380, 1.257, 1.567],
        },
        drift=drift,
        comparison=_comparison_02(),
        cv=cv,
        best_lr=3e-4,
        origin="ducklingsam/patent_search_reranker@bdb4afd, src/embedder.py:22",
        fit_evidence="sentence_transformers/sentence_transformer/fit_mixin.py:322",
        warmup_peaks={0: 2e-5, 100: 1.38e-5, 1000: 1.38e-6, 10000: 1.38e-7},
        lr_sums={"card_as_documented": 5e-5 * 35.5, "card_as_run": 2e-5 * 2415 / 10000},
        selection=_selection_02(),
        selection_base=0.621,
        selection_n=21,
        caveats=True,
    )
    assert out == _printed("02_finetuning_reproduction.ipynb")


def test_finetuning_verdict_follows_holm_when_given():
    base = _comparison_02()
    holm = findings.finetuning(peaks={}, comparison=base)
    raw = findings.finetuning(peaks={}, comparison=base.drop(columns="p_holm"))
    tuned_holm = next(line for line in holm if line.startswith("tuned:"))
    tuned_raw = next(line for line in raw if line.startswith("tuned:"))
    assert "Holm-adjusted over 3 systems 0.076: no significant gain" in tuned_holm
    assert tuned_raw.endswith("paired p = 0.025: a significant gain at the 0.05 level.")


def _tests_04() -> pd.DataFrame:
    rows = [  # system, chosen_on, metric, diff, diff_low, diff_high, p_value, p_holm
        ("bm25", "fixed", "ndcg@10", -0.059, -0.126, 0.006, 0.098, 0.295),
        ("bm25", "fixed", "mrr@10", 0.003, -0.091, 0.095, 0.964, 0.964),
        ("bm25", "fixed", "hit@1", 0.000, -0.143, 0.127, 1.000, 1.000),
        ("rrf(k=60)", "fixed", "ndcg@10", 0.018, -0.032, 0.070, 0.559, 0.559),
        ("rrf(k=60)", "fixed", "mrr@10", 0.067, 0.001, 0.137, 0.058, 0.175),
        ("rrf(k=60)", "fixed", "hit@1", 0.095, -0.016, 0.206, 0.146, 0.439),
        ("fusion(w=0.9, norm=zscore)", "dev", "ndcg@10", 0.051, 0.026, 0.077, 0.0005, 0.002),
        ("fusion(w=0.9, norm=zscore)", "dev", "mrr@10", 0.066, 0.027, 0.116, 0.002, 0.008),
        ("fusion(w=0.9, norm=zscore)", "dev", "hit@1", 0.079, 0.016, 0.159, 0.064, 0.256),
        ("rrf(k=10)", "dev", "ndcg@10", 0.033, -0.008, 0.079, 0.153, 0.306),
        ("rrf(k=10)", "dev", "mrr@10", 0.066, 0.001, 0.135, 0.060, 0.175),
        ("rrf(k=10)", "dev", "hit@1", 0.095, -0.016, 0.206, 0.146, 0.439),
    ]
    cols = ["system", "chosen_on", "metric", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    return pd.DataFrame(rows, columns=cols)


def _table_04() -> pd.DataFrame:
    rows = [
        ("dense", 0.675, 0.608, 0.743), ("bm25", 0.616, 0.549, 0.682),
        ("rrf(k=60)", 0.692, 0.626, 0.758), ("fusion(w=0.9, norm=zscore)", 0.725, 0.666, 0.784),
        ("rrf(k=10)", 0.708, 0.647, 0.770),
    ]  # fmt: skip
    t = pd.DataFrame(rows, columns=["system", "mean", "low", "high"])
    t.insert(1, "metric", "ndcg@10")
    t["n"] = 63
    return t


SELECTION_04 = {
    "split": "dev", "n": 21, "metric": "ndcg@10", "dense": 0.6213, "bm25": 0.466,
    "weighted": "fusion(w=0.9, norm=zscore)", "weighted_score": 0.6326,
    "rrf": "rrf(k=10)", "rrf_score": 0.581,
}  # fmt: skip


def test_query_title_alignment_matches_notebook_04():
    ranks = pd.Series([1] * 42 + [2] * 20 + [30], dtype="Int64")
    out = findings.query_title_alignment(
        _table_04(),
        _tests_04(),
        selection=SELECTION_04,
        split="test",
        ranks=ranks,
        n_wrong=21,
        n_same_section=13,
        hardest={"query": "кровельные фотоэлектрические материалы", "relevant_rank": 30},
        illustrative=True,
    )
    assert out == _printed("04_query_title_alignment.ipynb")


def test_query_title_alignment_nothing_significant_and_no_failure():
    tests = _tests_04()
    tests["p_holm"] = 0.5
    tests.loc[tests["system"] == "rrf(k=60)", "diff"] = -0.01
    out = findings.query_title_alignment(
        _table_04(), tests, selection={**SELECTION_04, "rrf_score": 0.7}, split="dev",
        ranks=[1, 1], n_wrong=0, n_same_section=0,
    )  # fmt: skip
    assert out[1].endswith("for BM25 there.")  # RRF beat dense on the selection split
    assert out[2].endswith("None differs significantly at the 0.05 level after Holm.")
    assert "on MRR@10 it trails by -0.010" in out[3] and "not significant" in out[3]
    assert out[4].startswith("The relevant title is ranked first by the dense model for 100%")
    assert len(out) == 6 and out[5].startswith("What would change this")  # no caveat, no case
    no_ipc = findings.query_title_alignment(
        _table_04(), tests, selection=SELECTION_04, split="dev", ranks=[1, 2], n_wrong=1,
        n_same_section=None,
    )  # fmt: skip
    assert any(line.endswith("1 queries have a distractor on top.") for line in no_ipc)
    assert not any("IPC" in line for line in no_ipc)


# moved from test_reproduction.py (rp.what_we_found is findings.finetuning)


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
    found = findings.finetuning(
        peaks={"card_as_documented": 5e-5, "card_as_run": 1.38e-7},
        epoch_loss={"card_as_documented": [1.146, 0.5], "card_as_run": [1.156, 1.5674]},
        drift=drift,
        comparison=comparison,
        cv=cv,
        best_lr=1e-4,
    )
    text = "\n".join(found)
    assert ("card_as_documented 1.146 -> 0.500 (range 0.500-1.146); "
            "card_as_run 1.156 -> 1.567 (range 1.156-1.567)") in text
    assert "its epoch means span 1.156-1.567" in text and "last epoch (0.500) is below" in text
    assert "362 times lower" in text  # 5e-5 / 1.38e-7 = 362.3
    assert "moved the weights 200 times less than the other recipe." in text  # 2e-3 / 1e-5
    assert "83 held-out test queries" in text and "0.700 [0.600, 0.800]" in text
    assert "+0.030" in text and "p = 0.010: a significant gain" in text
    assert "+0.020 ± 0.040" in text and "smaller than its run-to-run spread" in text
    assert "3 of 6 runs" in text and "0.0001" in text
