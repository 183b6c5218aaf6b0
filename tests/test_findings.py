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
        ("base", 0.697, 0.632, 0.759, np.nan, np.nan, np.nan, np.nan),
        ("card_as_documented", 0.722, 0.660, 0.781, 0.024, 0.004, 0.047, 0.030),
        ("card_as_run", 0.697, 0.632, 0.759, 0.0, 0.0, 0.0, 1.0),
        ("tuned", 0.730, 0.667, 0.790, 0.033, 0.009, 0.059, 0.010),
    ]
    cols = ["system", "mean", "low", "high", "diff", "diff_low", "diff_high", "p_value"]
    t = pd.DataFrame(rows, columns=cols)
    t.insert(1, "metric", "ndcg@10")
    t["n"] = 83
    return t


def test_finetuning_matches_notebook_02():
    drift = pd.DataFrame(
        {
            "weight_rel_change": [0.00326, 1.1058e-05, 0.00489],
            "mean_cosine": [0.9822, 1.0, 0.9638],
            "neighbour_overlap": [0.889, 1.0, 0.841],
        },
        index=pd.Index(["card_as_documented", "card_as_run", "tuned"], name="recipe"),
    )
    cv = pd.DataFrame(
        {"gain": [0.018], "gain_sd": [0.012], "improved": [6], "runs": [6]},
        index=pd.Index(["ndcg@10"], name="metric"),
    )
    out = findings.finetuning(
        peaks={"card_as_documented": 5e-05, "card_as_run": 2e-5 * 69 / 10000, "tuned": 1e-4},
        epoch_loss={"card_as_documented": [1.146, 0.8, 0.572], "card_as_run": [1.156, 1.567]},
        drift=drift,
        comparison=_comparison_02(),
        cv=cv,
        best_lr=1e-4,
    )
    assert out == _printed("02_finetuning_reproduction.ipynb")


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
    assert "card_as_documented 1.146 -> 0.500; card_as_run 1.156 -> 1.567" in text
    assert "362 times lower" in text  # 5e-5 / 1.38e-7 = 362.3
    assert "moved the weights 200 times less than the other recipe." in text  # 2e-3 / 1e-5
    assert "83 held-out test queries" in text and "0.700 [0.600, 0.800]" in text
    assert "+0.030" in text and "p = 0.010: a significant gain" in text
    assert "+0.020 ± 0.040" in text and "smaller than its run-to-run spread" in text
    assert "3 of 6 runs" in text and "0.0001" in text
