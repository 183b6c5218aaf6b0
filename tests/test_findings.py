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
import pytest

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


def test_embedding_space_matches_notebook_01():
    summary = pd.DataFrame(
        {
            "anisotropy titles": [0.172, 0.371],
            "relevant median": [0.424, 0.478],
            "non-relevant median": [0.099, 0.245],
            "AUC": [0.942, 0.826],
            "gap": [0.324, 0.233],
            "skewness": [0.773, 2.160],
            "hubs (N10 > 20)": [16.0, 41.0],
            "3-NN agreement": [0.488, 0.257],
        },
        index=["default", "navec"],
    )
    assert findings.embedding_space(summary, "topic") == _printed("01_embedding_space.ipynb")


def test_embedding_space_one_model_and_no_hubs():
    summary = pd.DataFrame(
        {"anisotropy titles": [0.2], "relevant median": [0.5], "non-relevant median": [0.1],
         "AUC": [0.9], "gap": [0.4], "skewness": [0.5], "hubs (N10 > 20)": [0.0],
         "3-NN agreement": [0.6]},
        index=["m"],
    )  # fmt: skip
    out = findings.embedding_space(summary, "IPC section")
    assert len(out) == 2 and "no hub title" in out[0]


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
        epoch_loss={"card_as_documented": [1.146, 0.8, 0.572], "card_as_run": [1.156, 1.567]},
        drift=drift,
        comparison=_comparison_02(),
        cv=cv,
        best_lr=3e-4,
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


def test_what_we_found_is_findings_finetuning():
    with pytest.warns(DeprecationWarning):
        import importlib

        import toolkit.reproduction as rp

        importlib.reload(rp)
    assert rp.what_we_found is findings.finetuning


def test_query_title_alignment_matches_notebook_04():
    table = pd.DataFrame(
        [
            ("dense", "ndcg@10", 0.697), ("dense", "mrr@10", 0.790),
            ("bm25", "ndcg@10", 0.629), ("bm25", "mrr@10", 0.700),
            ("hybrid", "ndcg@10", 0.720), ("hybrid", "mrr@10", 0.814),
        ],
        columns=["system", "metric", "mean"],
    )  # fmt: skip
    ranks = pd.Series([1] * 55 + [2] * 27 + [62], dtype="Int64")
    out = findings.query_title_alignment(
        table,
        {"diff": 0.068, "low": -0.0001, "high": 0.137, "p_value": 0.059},
        split="test",
        ranks=ranks,
        n_wrong=28,
        n_same_section=16,
        hardest={"query": "биологическое расщепление пэт-бутылок", "relevant_rank": 62},
    )
    assert out == _printed("04_query_title_alignment.ipynb")


def test_query_title_alignment_interval_excludes_zero_and_no_failure():
    table = pd.DataFrame(
        [(s, m, 0.5) for s in ("dense", "bm25", "hybrid") for m in ("ndcg@10", "mrr@10")],
        columns=["system", "metric", "mean"],
    )
    out = findings.query_title_alignment(
        table, {"diff": 0.1, "low": 0.05, "high": 0.2, "p_value": 0.01}, split="dev",
        ranks=[1, 1], n_wrong=0, n_same_section=0,
    )  # fmt: skip
    assert len(out) == 3 and out[1].endswith("the interval excludes 0.")
    assert out[2].startswith("The relevant title is ranked first for 100% of queries")
