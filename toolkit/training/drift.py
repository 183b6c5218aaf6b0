"""Drift of fine-tuned models: how far weights and title vectors moved from the base model.

* :func:`weight_drift` -- relative L2 change of the weights, per parameter and overall;
* :func:`embedding_drift` -- cosine of each text's vector to its base vector, and how many
  of its k nearest neighbours stay;
* :func:`drift_summary` -- both, one row per trained model (notebook 02's table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int
from toolkit.ranking import top_k

__all__ = ["drift_summary", "embedding_drift", "weight_drift"]

# --------------------------------------------------------------------------- drift


def _same_parameters(base: Any, tuned: Any, label: str) -> tuple[dict, dict]:
    """Both models' named parameters; raise naming one parameter if the names differ."""
    pb = dict(base.named_parameters())
    pt = dict(tuned.named_parameters())
    if pb.keys() != pt.keys():
        only = sorted(set(pb) ^ set(pt))
        raise ValueError(f"{label} have different parameters, e.g. {only[0]!r}")
    return pb, pt


def weight_drift(
    base: Any, tuned: Any, *, by: str = "parameter", noise: float = 1e-7
) -> pd.DataFrame:
    """Measure how far each weight moved between two models of the same architecture.

    For every named parameter ``w``: ``rel_change = ||w_t - w_b|| / ||w_b||`` (``inf`` when
    ``||w_b|| = 0`` and the tensor moved, ``0`` when it did not) and ``changed_share`` = share
    of elements with ``|Δ| > noise * max(1, |w_b|)`` (beyond float noise).

    Args:
        base: The model before training (any ``torch.nn.Module``).
        tuned: The model after training, with the same parameter names and shapes.
        by: ``"parameter"`` (one row per parameter) or ``"module"`` (rows grouped by the owning
            module, i.e. the name without its last component).
        noise: Relative threshold for ``changed_share``.

    Returns:
        DataFrame with columns ``name, numel, norm_base, norm_delta, rel_change,
        changed_share`` and a last summary row named ``"__total__"`` over all parameters.

    Raises:
        ValueError: If the models' parameter names or shapes differ (the message names one), or
            ``by`` is unknown.
    """
    import torch

    if by not in ("parameter", "module"):
        raise ValueError(f"by={by!r}, expected 'parameter' or 'module'")
    pb, pt = _same_parameters(base, tuned, "base and tuned")
    acc: dict[str, list[float]] = {}
    with torch.no_grad():
        for name, wb in pb.items():
            wt = pt[name]
            if wb.shape != wt.shape:
                raise ValueError(
                    f"parameter {name!r}: shape {tuple(wb.shape)} in base, "
                    f"{tuple(wt.shape)} in tuned"
                )
            b = wb.detach().double().cpu()
            d = wt.detach().double().cpu() - b
            key = name if by == "parameter" else name.rpartition(".")[0] or name
            changed = (d.abs() > noise * torch.clamp(b.abs(), min=1.0)).sum().item()
            row = acc.setdefault(key, [0, 0.0, 0.0, 0])
            row[0] += b.numel()
            row[1] += float((b * b).sum())
            row[2] += float((d * d).sum())
            row[3] += changed

    def finish(name: str, numel: float, sq_b: float, sq_d: float, changed: float) -> dict:
        nb, nd = math.sqrt(sq_b), math.sqrt(sq_d)
        rel = nd / nb if nb > 0 else (math.inf if nd > 0 else 0.0)
        return {
            "name": name,
            "numel": int(numel),
            "norm_base": nb,
            "norm_delta": nd,
            "rel_change": rel,
            "changed_share": changed / numel if numel else 0.0,
        }

    rows = [finish(k, *v) for k, v in acc.items()]
    totals = np.sum(np.array(list(acc.values()), dtype=float), axis=0) if acc else [0, 0, 0, 0]
    rows.append(finish("__total__", *totals))
    return pd.DataFrame(rows)


def embedding_drift(
    base: Any, tuned: Any, texts: Sequence[str], *, k: int = 10, batch_size: int = 32
) -> dict[str, float]:
    """Compare the vectors two models give the same texts.

    Args:
        base: The model before training (``SentenceTransformer``).
        tuned: The model after training (same output dimension).
        texts: Texts to encode (at least 2).
        k: Neighbours per text for the overlap (capped at ``len(texts) - 1``); neighbours are
            the other texts ranked by cosine, ties broken by position.
        batch_size: Encoding batch size.

    Returns:
        ``{"mean_cosine", "min_cosine", "neighbour_overlap", "k", "n_texts"}``: mean/min cosine
        between each text's base and tuned vector, and the mean share ``|N_b ∩ N_t| / k`` of
        shared top-k neighbours.

    Raises:
        TypeError: ``k`` or ``batch_size`` is not an integer.
        ValueError: If fewer than 2 texts are given, ``k < 1``, or the dimensions differ.
    """
    k = check_int(k, "k")
    batch_size = check_int(batch_size, "batch_size")
    texts = list(texts)
    if len(texts) < 2:
        raise ValueError(f"texts: expected at least 2 texts, got {len(texts)}")
    k = min(k, len(texts) - 1)
    kw = dict(normalize_embeddings=True, convert_to_numpy=True, batch_size=batch_size)
    eb = np.asarray(base.encode(texts, **kw), dtype=np.float64)
    et = np.asarray(tuned.encode(texts, **kw), dtype=np.float64)
    if eb.shape != et.shape:
        raise ValueError(f"embedding shapes differ: base {eb.shape}, tuned {et.shape}")
    cos = np.sum(eb * et, axis=1)

    def neighbours(e: np.ndarray) -> np.ndarray:
        sim = e @ e.T
        np.fill_diagonal(sim, -np.inf)
        return top_k(sim, k)

    nb, nt = neighbours(eb), neighbours(et)
    overlap = [len(set(a) & set(b)) / k for a, b in zip(nb.tolist(), nt.tolist(), strict=True)]
    return {
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "neighbour_overlap": float(np.mean(overlap)),
        "k": k,
        "n_texts": len(texts),
    }


# --------------------------------------------------------------------------- several runs


class _ParameterSubset:
    """Duck-typed stand-in for a module that exposes only some of its named parameters.

    :func:`weight_drift` reads nothing but ``named_parameters()``.
    """

    def __init__(self, model: Any, names: Sequence[str]) -> None:
        self._params = dict(model.named_parameters())
        self._names = list(names)

    def named_parameters(self):  # noqa: D102 - mirrors torch.nn.Module.named_parameters
        return ((n, self._params[n]) for n in self._names)


def drift_summary(
    base: Any,
    tuned: Mapping[str, Any],
    texts: Sequence[str],
    *,
    k: int = 10,
    skip_identical: bool = True,
) -> pd.DataFrame:
    """How far each trained model moved from the base: weights and embeddings.

    Args:
        base: The model before training.
        tuned: ``{name: trained model}`` of the same architecture.
        texts: Texts to encode for the embedding drift (e.g. every title of the corpus).
        k: Neighbours per text for the neighbour overlap.
        skip_identical: Leave tensors that are bit-identical in both models (e.g. a frozen
            embedding table) out of the weight statistics, so they describe the weights
            training moved (and a 65M-row frozen table is not compared in float64 for
            nothing); their size is reported in ``identical_params``. ``False`` keeps every
            tensor.

    Returns:
        One row per trained model (indexed by name): ``weight_rel_change`` (``||Δw|| / ||w||``
        over the compared tensors), ``max_param_rel_change`` (the largest per-tensor value),
        ``changed_share`` (share of compared weights that moved beyond float noise), from
        :func:`weight_drift`; ``identical_params`` (weights left out as
        bit-identical); ``mean_cosine``, ``min_cosine`` (base vs trained vector of the same
        text) and ``neighbour_overlap`` (share of the ``k`` nearest texts kept), from
        :func:`embedding_drift`.

    Raises:
        ValueError: ``tuned`` is empty, or the architectures differ.
    """
    import torch

    if not tuned:
        raise ValueError("tuned: expected at least one trained model")
    rows = {}
    for name, model in tuned.items():
        pb, pt = _same_parameters(base, model, f"tuned[{name!r}] and base")
        identical = [
            n
            for n in pb
            if skip_identical and pb[n].shape == pt[n].shape and torch.equal(pb[n], pt[n])
        ]
        keep = [n for n in pb if n not in set(identical)]
        n_identical = int(sum(pb[n].numel() for n in identical))
        if keep:
            w = weight_drift(_ParameterSubset(base, keep), _ParameterSubset(model, keep))
            total = w[w["name"] == "__total__"].iloc[0]
            rel, share = float(total["rel_change"]), float(total["changed_share"])
            max_rel = float(w.loc[w["name"] != "__total__", "rel_change"].max())
        else:  # nothing moved at all
            rel = share = max_rel = 0.0
        e = embedding_drift(base, model, list(texts), k=k)
        rows[name] = {
            "weight_rel_change": rel,
            "max_param_rel_change": max_rel,
            "changed_share": share,
            "identical_params": n_identical,
            "mean_cosine": e["mean_cosine"],
            "min_cosine": e["min_cosine"],
            "neighbour_overlap": e["neighbour_overlap"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "recipe"
    return out
