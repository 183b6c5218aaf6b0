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
            "relevant": [206, 206],
            "relevant median": [0.395, 0.474],
            "non-relevant median": [0.102, 0.261],
            "AUC": [0.928, 0.815],
            "AUC low": [0.900, 0.771],
            "AUC high": [0.955, 0.860],
            "gap": [0.293, 0.213],
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
    rows = [  # card_as_run: the asserted check, outside Holm's family (p_holm left empty)
        ("base", 0.672, 0.602, 0.741, np.nan, np.nan, np.nan, np.nan, np.nan),
        ("card_as_documented", 0.687, 0.618, 0.754, 0.014, -0.010, 0.041, 0.285, 0.285),
        ("card_as_run", 0.672, 0.602, 0.741, 0.0, 0.0, 0.0, 1.0, np.nan),
        ("tuned", 0.720, 0.656, 0.782, 0.048, 0.009, 0.090, 0.024, 0.048),
    ]
    cols = ["system", "mean", "low", "high", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    t = pd.DataFrame(rows, columns=cols)
    t.insert(1, "metric", "ndcg@10")
    t["n"] = 63
    return t


def _baselines_02() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Notebook 02's judged@10 table (long, as compare_systems gives it) and its paired tests."""
    fused = "fusion(w=0.9, norm=zscore)"
    ndcg = {"base": 0.672, "card_as_documented": 0.687, "card_as_run": 0.672, "tuned": 0.720,
            "bm25": 0.613, fused: 0.723}  # fmt: skip
    judged = dict.fromkeys(ndcg, 1.0) | {fused: 0.998}
    table = pd.DataFrame(
        [{"system": s, "metric": "ndcg@10", "mean": v} for s, v in ndcg.items()]
        + [{"system": s, "metric": "judged@10", "mean": v} for s, v in judged.items()]
    )
    table["n"] = 63
    rows = [  # system, chosen_on, diff, diff_low, diff_high, p_value, p_holm (baseline - tuned)
        ("tuned", "fixed", np.nan, np.nan, np.nan, np.nan, np.nan),
        ("bm25", "fixed", -0.107, -0.183, -0.038, 0.005, 0.009),
        (fused, "dev", 0.003, -0.040, 0.042, 0.903, 0.903),
    ]
    cols = ["system", "chosen_on", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    versus = pd.DataFrame(rows, columns=cols)
    versus.insert(2, "metric", "ndcg@10")
    return table, versus


def _widget_02() -> pd.DataFrame:
    """Rank of each widget entry's own positive per system, as notebook 02 printed it."""
    ranks = {"base": [3, 1, 1, 1, 1], "card_as_documented": [1] * 5, "tuned": [1] * 5,
             "bm25": [1, 1, 3, 1, 1]}  # fmt: skip
    rows = [
        {"system": s, "entry": e, "rank": r, "tied": s == "bm25" and e in (3, 5)}
        for s, rs in ranks.items() for e, r in enumerate(rs, start=1)
    ]  # fmt: skip
    return pd.DataFrame(rows)


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
        {"gain": [0.014], "gain_sd": [0.020], "improved": [5], "runs": [6]},
        index=pd.Index(["ndcg@10"], name="metric"),
    )
    baselines, versus = _baselines_02()
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
        baselines=baselines,
        versus=versus,
        widget=_widget_02(),
        caveats=True,
    )
    assert out == _printed("02_finetuning_reproduction.ipynb")


def test_finetuning_verdict_follows_holm_when_given():
    base = _comparison_02()
    base.loc[base["system"] == "card_as_run", "p_holm"] = 0.9  # in the family this time
    base.loc[base["system"] == "tuned", ["p_value", "p_holm"]] = [0.004, 0.012]
    holm = findings.finetuning(peaks={}, comparison=base)
    raw = findings.finetuning(peaks={}, comparison=base.drop(columns="p_holm"))
    tuned_holm = next(line for line in holm if line.startswith("tuned:"))
    tuned_raw = next(line for line in raw if line.startswith("tuned:"))
    assert "Holm-adjusted over 3 systems 0.012: a significant gain" in tuned_holm
    assert tuned_raw.endswith("paired p = 0.004: a significant gain at the 0.05 level.")


def test_a_one_run_verdict_near_alpha_is_borderline_and_a_check_leaves_the_family():
    """Within a factor of 2 of alpha a single training run's verdict is not a finding."""
    base = _comparison_02()  # card_as_run outside the family, tuned at Holm p = 0.048
    out = findings.finetuning(peaks={}, comparison=base)
    line = {row.split(":")[0]: row for row in out}
    assert "Holm-adjusted over 2 systems" in line["tuned"]
    assert "a borderline gain (p within a factor of 2 of 0.05" in line["tuned"]
    assert "left out of Holm's family" in line["card_as_run"]
    for p, word in [(0.0249, "a significant gain"), (0.025, "a borderline gain"),
                    (0.0999, "a borderline gain"), (0.1, "no significant gain")]:
        base.loc[base["system"] == "tuned", "p_holm"] = p
        tuned = next(x for x in findings.finetuning(peaks={}, comparison=base)
                     if x.startswith("tuned:"))
        assert word in tuned, (p, tuned)


def _tests_04() -> pd.DataFrame:
    rows = [  # system, chosen_on, metric, diff, diff_low, diff_high, p_value, p_holm
        ("bm25", "fixed", "ndcg@10", -0.059, -0.126, 0.006, 0.097, 0.291),
        ("bm25", "fixed", "mrr@10", 0.003, -0.091, 0.095, 0.964, 0.964),
        ("bm25", "fixed", "hit@1", 0.000, -0.143, 0.127, 1.000, 1.000),
        ("rrf(k=60)", "fixed", "ndcg@10", 0.018, -0.032, 0.070, 0.561, 0.561),
        ("rrf(k=60)", "fixed", "mrr@10", 0.067, 0.001, 0.137, 0.058, 0.175),
        ("rrf(k=60)", "fixed", "hit@1", 0.095, -0.016, 0.206, 0.146, 0.439),
        ("fusion(w=0.9, norm=zscore)", "dev", "ndcg@10", 0.051, 0.026, 0.077, 0.0005, 0.002),
        ("fusion(w=0.9, norm=zscore)", "dev", "mrr@10", 0.066, 0.027, 0.116, 0.002, 0.008),
        ("fusion(w=0.9, norm=zscore)", "dev", "hit@1", 0.079, 0.016, 0.159, 0.064, 0.256),
        ("rrf(k=10)", "dev", "ndcg@10", 0.033, -0.008, 0.079, 0.154, 0.308),
        ("rrf(k=10)", "dev", "mrr@10", 0.066, 0.001, 0.135, 0.060, 0.175),
        ("rrf(k=10)", "dev", "hit@1", 0.095, -0.016, 0.206, 0.146, 0.439),
    ]
    cols = ["system", "chosen_on", "metric", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    return pd.DataFrame(rows, columns=cols)


def _table_04() -> pd.DataFrame:
    rows = [
        ("dense", 0.672, 0.605, 0.741), ("bm25", 0.613, 0.547, 0.678),
        ("rrf(k=60)", 0.690, 0.622, 0.755), ("fusion(w=0.9, norm=zscore)", 0.723, 0.664, 0.782),
        ("rrf(k=10)", 0.705, 0.643, 0.767),
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


def _topics_04() -> pd.DataFrame:
    """Notebook 04's per-topic table: topic, test queries, dense nDCG@10 (as printed)."""
    rows = [
        ("медицинские имплантаты", 4, 0.919), ("Очистка воздуха наноматериалами", 4, 0.905),
        ("Очистка воды", 4, 0.758), ("Аккумуляторы и накопители энергии", 4, 0.744),
        ("Солнечная энергетика", 4, 0.337), ("Носимые устройства для здоровья", 3, 0.934),
        ("защита металлов от коррозии", 3, 0.767), ("тепловые насосы и теплоснабжение", 3, 0.760),
        ("водородная энергетика", 3, 0.674), ("ветроэнергетика", 3, 0.621),
        ("умный текстиль", 3, 0.605), ("консервирование и хранение продуктов", 3, 0.549),
        ("бумажное производство и макулатура", 3, 0.446),
        ("беспилотные летательные аппараты", 3, 0.426), ("кибербезопасность", 2, 0.660),
        ("Теплоизоляция", 2, 0.620), ("Энергоменеджмент умного дома", 2, 0.577),
        ("строительство зданий и 3D-печать", 2, 0.476), ("безопасность железных дорог", 2, 0.420),
        ("Онлайн-обучение", 1, 1.000), ("Портативная диагностика", 1, 1.000),
        ("дорожное строительство", 1, 1.000), ("антенны и сети 5G", 1, 0.896),
        ("машинное зрение", 1, 0.639), ("Переработка пластика", 1, 0.315),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["topic", "n", "dense"])


def _casing_04() -> pd.DataFrame:
    rows = [  # system, metric, mean, diff, diff_low, diff_high, p_value, p_holm
        ("lower-cased", "ndcg@10", 0.672, np.nan, np.nan, np.nan, np.nan, np.nan),
        ("lower-cased", "mrr@10", 0.761, np.nan, np.nan, np.nan, np.nan, np.nan),
        ("cased", "ndcg@10", 0.181, -0.491, -0.569, -0.417, 0.0001, 0.0001),
        ("cased", "mrr@10", 0.322, -0.438, -0.558, -0.318, 0.0001, 0.0001),
    ]
    cols = ["system", "metric", "mean", "diff", "diff_low", "diff_high", "p_value", "p_holm"]
    t = pd.DataFrame(rows, columns=cols)
    t["n"] = 63
    return t


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
        failure_counts={"near miss": 15, "lexical lure": 3, "other": 3, "unknown topic": 0},
        topics=_topics_04(),
        casing=_casing_04(),
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
