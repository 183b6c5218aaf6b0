"""Tests for toolkit.training on a tiny randomly initialised BERT (built once per session)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from toolkit import training as T
from toolkit.training import CARD_AS_DOCUMENTED, CARD_AS_RUN, ScheduleWarning, finetune
from toolkit.training.drift import embedding_drift, weight_drift
from toolkit.training.experiments import kfold_by_query, repeat_over_seeds, select_lr

REPO = Path(__file__).resolve().parents[1]
MODEL_CARD = REPO.parent / "shared" / "seed" / "model_card.md"

# Hand-written Russian query/title pairs in the style of the card (its widget examples + ours).
PAIRS = [
    ("умные датчики для мониторинга урожая", "СИСТЕМА ДАТЧИКОВ КОНТРОЛЯ СОСТОЯНИЯ ПОСЕВОВ"),
    ("роботы для доставки товаров", "РОБОТИЗИРОВАННЫЙ МОБИЛЬНЫЙ КУРЬЕРСКИЙ КОМПЛЕКС"),
    ("шифрование данных для облачных хранилищ", "СПОСОБ ЗАЩИЩЕННОГО ХРАНЕНИЯ ИНФОРМАЦИИ В ОБЛАКЕ"),
    ("теплоизоляция нового поколения", "КОМПОЗИЦИИ ДЛЯ ЖЕСТКИХ ПЕНОПОЛИУРЕТАНОВ"),
    ("биоразлагаемая упаковка для продуктов", "СОСТАВ БИОРАЗЛАГАЕМОЙ ПОЛИМЕРНОЙ ПЛЕНКИ"),
    ("интерактивные платформы для онлайн-обучения", "Университетская метавселенная для обучения"),
    ("переработка пластиковых отходов", "СПОСОБ ОТДЕЛЕНИЯ ПЛАСТИКА ОТ БЫТОВЫХ ОТХОДОВ"),
    ("телемедицина в сельской местности", "МОБИЛЬНЫЙ ТЕЛЕМЕДИЦИНСКИЙ ДИАГНОСТИЧЕСКИЙ КОМПЛЕКС"),
    ("беспилотники для тушения пожаров", "БЕСПИЛОТНЫЙ ЛЕТАТЕЛЬНЫЙ АППАРАТ ПОЖАРОТУШЕНИЯ"),
    ("солнечные панели на крышах", "КРОВЕЛЬНЫЙ ФОТОЭЛЕКТРИЧЕСКИЙ МОДУЛЬ"),
    ("очистка сточных вод", "УСТАНОВКА БИОЛОГИЧЕСКОЙ ОЧИСТКИ СТОЧНЫХ ВОД"),
    ("умный дом управление освещением", "СИСТЕМА УПРАВЛЕНИЯ ОСВЕЩЕНИЕМ ЗДАНИЯ"),
    ("диагностика рака по крови", "СПОСОБ РАННЕЙ ДИАГНОСТИКИ ОНКОЛОГИИ ПО АНАЛИЗУ КРОВИ"),
    ("электромобили зарядные станции", "ЗАРЯДНАЯ СТАНЦИЯ ДЛЯ ЭЛЕКТРОТРАНСПОРТА"),
    ("защита от кибератак", "Система внешнего контроля поверхности кибератаки"),
    ("вертикальные фермы", "МНОГОЯРУСНАЯ УСТАНОВКА ДЛЯ ВЫРАЩИВАНИЯ РАСТЕНИЙ"),
    ("носимые датчики пульса", "БРАСЛЕТ ДЛЯ ИЗМЕРЕНИЯ ЧАСТОТЫ СЕРДЕЧНЫХ СОКРАЩЕНИЙ"),
    ("переработка аккумуляторов", "СПОСОБ ИЗВЛЕЧЕНИЯ ЛИТИЯ ИЗ ОТРАБОТАННЫХ БАТАРЕЙ"),
    ("распознавание речи", "СПОСОБ АВТОМАТИЧЕСКОГО РАСПОЗНАВАНИЯ РЕЧЕВЫХ КОМАНД"),
    ("3d печать зданий", "СТРОИТЕЛЬНЫЙ ПРИНТЕР ДЛЯ ПЕЧАТИ БЕТОНОМ"),
]
EPOCHS = 2  # short runs; step counts are derived from these numbers, not read from the code
BATCH = 8


class _Split:
    """Duck-typed stand-in for a RetrievalSet split: only ``.pairs()`` matters."""

    def __init__(self, pairs):
        self._pairs = pairs

    def pairs(self):
        return list(self._pairs)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: on the shared 2-core box, OpenMP spinning made runs ~3x slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_model(tiny_bert_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_bert_dir), device="cpu")


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.fixture(scope="module")
def as_run(tiny_model, tmp_path_factory):
    """CARD_AS_RUN for EPOCHS epochs, saved, with a snapshot of the input model around it."""
    before = _params(tiny_model)
    out = tmp_path_factory.mktemp("as-run") / "model"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = T.finetune(tiny_model, PAIRS, T.CARD_AS_RUN.replace(epochs=EPOCHS), output_dir=out)
    return run, before, _params(tiny_model), caught


@pytest.fixture(scope="module")
def trained(tiny_model):
    """A run that really moves the weights: lr 1e-3, constant, 8 pairs in one batch, 10 steps."""
    recipe = T.CARD_AS_DOCUMENTED.replace(
        name="high_lr", learning_rate=1e-3, scheduler="constant", epochs=10
    )
    return T.finetune(tiny_model, PAIRS[:8], recipe)


# ------------------------------------------------------------------ recipes vs the card


def _card_hyperparameters(text):
    return dict(re.findall(r"^- `([a-z_0-9]+)`: (.*)$", text, flags=re.M))


@pytest.mark.skipif(not MODEL_CARD.is_file(), reason="model card not available")
def test_card_as_documented_matches_card_text():
    text = MODEL_CARD.read_text(encoding="utf-8")
    hp = _card_hyperparameters(text)
    r = T.CARD_AS_DOCUMENTED
    assert float(hp["learning_rate"]) == r.learning_rate
    assert float(hp["warmup_steps"]) == r.warmup_steps
    assert float(hp["warmup_ratio"]) == 0.0
    assert int(hp["per_device_train_batch_size"]) == r.batch_size
    assert int(hp["num_train_epochs"]) == r.epochs
    assert int(hp["seed"]) == r.seed
    assert float(hp["max_grad_norm"]) == r.max_grad_norm
    assert float(hp["weight_decay"]) == r.weight_decay
    assert hp["lr_scheduler_type"] == r.scheduler
    assert hp["optim"] == r.optim
    assert hp["multi_dataset_batch_sampler"] == r.multi_dataset_batch_sampler
    assert hp["batch_sampler"] == r.batch_sampler
    loss = json.loads(re.search(r"```json\s*(\{.*?\})\s*```", text, flags=re.S).group(1))
    assert loss["scale"] == r.loss_scale
    assert loss["similarity_fct"] == r.similarity
    assert "MultipleNegativesRankingLoss" in text and r.loss == "mnrl"


def test_card_as_run_equals_fit_defaults():
    import inspect

    from sentence_transformers import SentenceTransformer

    sig = inspect.signature(SentenceTransformer.fit).parameters
    r = T.CARD_AS_RUN
    assert sig["warmup_steps"].default == r.warmup_steps
    assert sig["optimizer_params"].default == {"lr": r.learning_rate}
    assert sig["weight_decay"].default == r.weight_decay
    assert sig["scheduler"].default.lower() == r.scheduler
    assert sig["max_grad_norm"].default == r.max_grad_norm
    assert sig["optimizer_class"].default is torch.optim.AdamW


def test_recipe_is_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        T.CARD_AS_RUN.learning_rate = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="learning_rate"):
        T.CARD_AS_RUN.replace(learning_rate=0)
    with pytest.raises(ValueError, match="scheduler"):
        T.CARD_AS_RUN.replace(scheduler="linear")  # a trainer name in fit mode
    with pytest.raises(ValueError, match="warmup_steps"):
        T.CARD_AS_DOCUMENTED.replace(warmup_steps=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        T.CARD_AS_DOCUMENTED.replace(batch_size=0)
    assert T.tuned_recipe("static").learning_rate > T.CARD_AS_DOCUMENTED.learning_rate
    assert T.tuned_recipe("use", learning_rate=3e-4).learning_rate == 3e-4
    with pytest.raises(ValueError, match="model_kind"):
        T.tuned_recipe("bogus")


# ------------------------------------------------------------------ effective schedules


def test_as_run_schedule_peak(as_run):
    run, *_, caught = as_run
    steps = math.ceil(len(PAIRS) / BATCH) * EPOCHS  # trainer keeps the partial batch
    assert run.steps == steps == len(run.lr_schedule) == len(run.loss_curve)
    # step s (1-based) uses the lr the scheduler set after s-1 steps: 2e-5 * (s-1) / 10000
    expected = [2e-5 * s / 10000 for s in range(steps)]
    np.testing.assert_allclose(run.lr_schedule, expected, rtol=1e-9, atol=1e-20)
    assert max(run.lr_schedule) == pytest.approx(2e-5 * (steps - 1) / 10000, rel=1e-9)
    # the card's 70-step run therefore peaks at 2e-5 * 69 / 10000
    assert any("warmup (10000) exceeds total steps" in w for w in run.warnings)
    assert any(issubclass(w.category, T.ScheduleWarning) for w in caught)


def test_documented_schedule_decays_linearly(tiny_model):
    n = 16
    split = _Split(PAIRS[:n])  # duck-typed .pairs()
    run = T.finetune(tiny_model, split, T.CARD_AS_DOCUMENTED.replace(epochs=EPOCHS))
    total = math.ceil(n / BATCH) * EPOCHS
    assert run.steps == total
    assert run.lr_schedule[0] == pytest.approx(5e-5, rel=1e-12)
    expected = [5e-5 * (total - s) / total for s in range(total)]
    np.testing.assert_allclose(run.lr_schedule, expected, rtol=1e-9)
    assert run.lr_schedule[-1] < 5e-5 / total + 1e-15
    assert run.warnings == []


@pytest.mark.parametrize(
    "fit_kwargs, recipe_changes",
    [
        ({}, {}),  # fit()'s own defaults vs CARD_AS_RUN
        (
            {"warmup_steps": 2, "optimizer_params": {"lr": 1e-2}},
            {"warmup_steps": 2, "learning_rate": 1e-2},
        ),
    ],
    ids=["card-defaults", "short-warmup-high-lr"],
)
def test_fit_and_card_as_run_agree(
    tiny_model, as_run, monkeypatch, tmp_path, fit_kwargs, recipe_changes
):
    from sentence_transformers import InputExample
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from torch.utils.data import DataLoader

    if not hasattr(tiny_model, "fit"):
        pytest.skip("this sentence-transformers has no fit()")
    used = []

    class RecordingAdamW(torch.optim.AdamW):
        """AdamW that records the lr it is about to apply (independent of the trainer's log)."""

        def step(self, closure=None):
            used.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.chdir(tmp_path)  # fit() creates ./checkpoints
    ref = copy.deepcopy(tiny_model)
    loader = DataLoader([InputExample(texts=list(p)) for p in PAIRS], batch_size=BATCH)
    ref.fit(
        [(loader, MultipleNegativesRankingLoss(ref))],
        epochs=EPOCHS,
        optimizer_class=RecordingAdamW,
        show_progress_bar=False,
        **fit_kwargs,
    )
    if recipe_changes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", T.ScheduleWarning)
            run = T.finetune(
                tiny_model, PAIRS, T.CARD_AS_RUN.replace(epochs=EPOCHS, **recipe_changes)
            )
    else:
        run = as_run[0]
    assert len(used) == run.steps
    np.testing.assert_allclose(run.lr_schedule, used, rtol=1e-12, atol=0)
    tuned = dict(run.model.named_parameters())
    for name, p in ref.named_parameters():
        assert torch.equal(p, tuned[name]), name


# ------------------------------------------------------------------ finetune contract


def test_finetune_leaves_input_unchanged(as_run):
    run, before, after, _ = as_run
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name
    tuned = dict(run.model.named_parameters())
    assert any(not torch.equal(before[n], tuned[n]) for n in before)


def test_manifest_written_and_reloadable(as_run):
    from sentence_transformers import SentenceTransformer

    import toolkit

    run, *_ = as_run
    folder = run.output_dir
    assert (folder / T.MANIFEST_NAME).is_file()
    assert (folder / "README.md").is_file()  # sentence-transformers model card
    m = T.load_manifest(folder)
    assert m == T.load_manifest(folder / T.MANIFEST_NAME)
    assert m == json.loads(json.dumps(run.manifest))
    assert m["versions"]["toolkit"] == toolkit.__version__
    assert set(m["versions"]) >= {"sentence-transformers", "transformers", "torch", "python"}
    assert m["seed"] == 42 and m["recipe"]["name"] == "card_as_run"
    assert m["data"]["n_pairs"] == len(PAIRS)
    blob = json.dumps(
        sorted([list(p) for p in reversed(PAIRS)]), ensure_ascii=False, separators=(",", ":")
    )
    assert m["data"]["fingerprint_sha256"] == hashlib.sha256(blob.encode()).hexdigest()
    assert m["steps"] == run.steps
    assert m["effective_schedule"]["lr"] == run.lr_schedule
    assert m["effective_schedule"]["peak_lr"] == max(run.lr_schedule)
    assert len(m["loss_curve"]) == run.steps
    assert any("exceeds total steps" in w for w in m["warnings"])

    reloaded = SentenceTransformer(str(folder), device="cpu")
    texts = [q for q, _ in PAIRS[:4]]
    np.testing.assert_allclose(
        reloaded.encode(texts, convert_to_numpy=True),
        run.model.encode(texts, convert_to_numpy=True),
        atol=1e-6,
    )


def test_load_manifest_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="run_manifest.json"):
        T.load_manifest(tmp_path)
    bad = tmp_path / T.MANIFEST_NAME
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        T.load_manifest(bad)


def test_bad_pairs_name_the_row(tiny_model):
    with pytest.raises(ValueError, match=r"train_pairs\[1\]"):
        T.finetune(tiny_model, [("a", "b"), ("only one",)], T.CARD_AS_RUN)
    with pytest.raises(ValueError, match=r"train_pairs\[0\]"):
        T.finetune(tiny_model, [("", "b")], T.CARD_AS_RUN)
    with pytest.raises(ValueError, match="no pairs"):
        T.finetune(tiny_model, [], T.CARD_AS_RUN)
    with pytest.raises(TypeError, match="train_pairs"):
        T.finetune(tiny_model, "query,title", T.CARD_AS_RUN)


# ------------------------------------------------------------------ training works (train only)


def _train_ranking(model, pairs):
    """Top-1 hits and mean positive-minus-best-negative margin on the TRAIN pairs."""
    q = model.encode([p[0] for p in pairs], normalize_embeddings=True, convert_to_numpy=True)
    t = model.encode([p[1] for p in pairs], normalize_embeddings=True, convert_to_numpy=True)
    sim = q @ t.T
    hits = int(np.sum(np.argmax(sim, axis=1) == np.arange(len(pairs))))
    off = sim.copy()
    np.fill_diagonal(off, -np.inf)
    margin = float(np.mean(np.diag(sim) - off.max(axis=1)))
    return hits, margin


def test_training_improves_train_pair_ranking(tiny_model, trained):
    hits_b, margin_b = _train_ranking(tiny_model, PAIRS[:8])
    hits_t, margin_t = _train_ranking(trained.model, PAIRS[:8])
    assert hits_t > hits_b
    assert margin_t > margin_b
    assert trained.loss_curve[-1][1] < trained.loss_curve[0][1]


# ------------------------------------------------------------------ drift


def test_weight_drift_hand_checked():
    base = torch.nn.Linear(2, 1)
    tuned = torch.nn.Linear(2, 1)
    with torch.no_grad():
        base.weight.copy_(torch.tensor([[3.0, 4.0]]))
        tuned.weight.copy_(torch.tensor([[3.0, 4.003]]))
        base.bias.zero_()
        tuned.bias.fill_(0.5)
    df = weight_drift(base, tuned).set_index("name")
    assert df.loc["weight", "rel_change"] == pytest.approx(0.003 / 5, rel=1e-4)
    assert df.loc["weight", "changed_share"] == 0.5
    assert df.loc["bias", "rel_change"] == math.inf
    assert df.loc["__total__", "rel_change"] == pytest.approx(
        math.sqrt(0.003**2 + 0.25) / 5, rel=1e-4
    )
    assert df.loc["__total__", "changed_share"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="different parameters"):
        weight_drift(base, torch.nn.Linear(2, 1, bias=False))


def test_drift_zero_for_identical_and_positive_after_training(tiny_model, trained):
    same = weight_drift(tiny_model, copy.deepcopy(tiny_model))
    assert (same["rel_change"] == 0).all() and (same["changed_share"] == 0).all()
    moved = weight_drift(tiny_model, trained.model)
    total = moved.set_index("name").loc["__total__"]
    assert total["rel_change"] > 0 and total["changed_share"] > 0
    by_module = weight_drift(tiny_model, trained.model, by="module")
    assert len(by_module) < len(moved)
    assert by_module.iloc[-1]["norm_delta"] == pytest.approx(total["norm_delta"], rel=1e-9)

    texts = [t for _, t in PAIRS]
    e_same = embedding_drift(tiny_model, copy.deepcopy(tiny_model), texts, k=5)
    assert e_same["mean_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert e_same["neighbour_overlap"] == 1.0
    e_moved = embedding_drift(tiny_model, trained.model, texts, k=5)
    assert e_moved["mean_cosine"] < 1.0 - 1e-4
    assert 0.0 <= e_moved["neighbour_overlap"] <= 1.0 and e_moved["k"] == 5
    with pytest.raises(ValueError, match="at least 2"):
        embedding_drift(tiny_model, tiny_model, ["один"])


# ------------------------------------------------------------------ lr selection, folds


def test_select_lr_picks_the_lr_that_learns(tiny_model):
    pairs = PAIRS[:8]

    def dev_fn(model):  # the lead passes a dev-split metric; a train-pair margin suffices here
        return {"margin": _train_ranking(model, pairs)[1]}

    recipe = T.TUNED_USE.replace(epochs=5, warmup_steps=0, scheduler="constant")
    sel = select_lr(tiny_model, pairs, dev_fn, [1e-9, 1e-3], recipe=recipe)
    assert sel.best_lr == 1e-3 and sel.recipe.learning_rate == 1e-3
    assert list(sel.table["learning_rate"]) == [1e-9, 1e-3]
    assert sel.table["score"].iloc[1] > sel.base_score
    with pytest.raises(ValueError, match=r"candidates\[0\]"):
        select_lr(tiny_model, pairs, dev_fn, [0.0])


def test_kfold_by_query_partitions():
    ids = [f"q{i}" for i in range(23)]
    folds = kfold_by_query(ids, n_folds=5, seed=42)
    assert len(folds) == 5
    tests = [q for _, te in folds for q in te]
    assert sorted(tests) == sorted(ids)  # every id tested exactly once
    for tr, te in folds:
        assert not set(tr) & set(te) and sorted(tr + te) == sorted(ids)
        assert len(te) in (4, 5)
    assert folds == kfold_by_query(ids, n_folds=5, seed=42)
    assert folds != kfold_by_query(ids, n_folds=5, seed=7)
    with pytest.raises(ValueError, match=r"query_ids\[2\]"):
        kfold_by_query(["a", "b", "a"], n_folds=2)
    with pytest.raises(ValueError, match="n_folds"):
        kfold_by_query(ids, n_folds=1)
    assert repeat_over_seeds(lambda s: s * 2, [1, 2]) == [2, 4]


def test_freeze_embeddings_keeps_tables_fixed(tiny_model):
    recipe = T.CARD_AS_DOCUMENTED.replace(
        name="frozen", learning_rate=1e-3, scheduler="constant", epochs=2, freeze_embeddings=True
    )
    run = T.finetune(tiny_model, PAIRS[:8], recipe, eval_set=lambda m: 0.5)
    df = weight_drift(tiny_model, run.model).set_index("name")
    emb = [n for n in df.index if n.endswith("_embeddings.weight")]
    assert len(emb) == 3  # word, position, token type
    assert (df.loc[emb, "norm_delta"] == 0).all()
    assert df.loc["__total__", "norm_delta"] > 0
    assert all(p.requires_grad for p in run.model.parameters())  # restored after training
    assert run.eval_metrics == {"score": 0.5} == run.manifest["eval_metrics"]


# --------------------------------------------------------------------------- schedule maths


def test_recipe_schedule_is_the_one_warmup_rule():
    from toolkit.training import CARD_AS_RUN, Recipe, expected_lr_schedule

    assert CARD_AS_RUN.schedule(50) == (70, 60, 10000)  # fit(): floor batches, warm-up as given
    ratio = Recipe(name="r", learning_rate=1e-4, warmup_steps=0.1, batch_size=8, epochs=3)
    assert ratio.schedule(50) == (21, 21, 3)  # ceil(0.1 * 21)
    assert ratio.warmup_for(21) == 3 and ratio.replace(warmup_steps=5).warmup_for(21) == 5
    assert len(expected_lr_schedule(ratio, 50)) == ratio.schedule(50).steps
    with pytest.raises(ValueError, match="n_pairs must be an integer >= 1, got 0"):
        ratio.schedule(0)


# ================================================================== moved from test_reproduction.py
# recipe registry (get_recipe, recipe_table), schedule maths (expected_lr_schedule), loss_by_epoch


def test_get_recipe_names_and_changes():
    assert T.get_recipe("card_as_run") is CARD_AS_RUN
    assert T.get_recipe("card_as_documented") is CARD_AS_DOCUMENTED
    frozen = T.get_recipe("card_as_run", freeze_embeddings=True)
    assert frozen.freeze_embeddings and frozen.learning_rate == 2e-5
    tuned = T.get_recipe("tuned", learning_rate=3e-4)
    assert tuned.learning_rate == 3e-4 and tuned.optimizer_mode == "trainer"
    assert T.get_recipe("tuned", model_kind="static").learning_rate == 1e-3


def test_get_recipe_rejects_unknown_name_and_card_lr():
    with pytest.raises(ValueError, match="card_as_documented.*card_as_run.*tuned"):
        T.get_recipe("card")
    with pytest.raises(ValueError, match="learning_rate"):
        T.get_recipe("card_as_run", learning_rate=1e-4)


def test_recipe_table_only_differences():
    table = T.recipe_table({"doc": CARD_AS_DOCUMENTED, "run": CARD_AS_RUN}, only_differences=True)
    # the two readings of the card differ in exactly these fields among the shown ones
    assert list(table.index) == [
        "optimizer_mode",
        "learning_rate",
        "weight_decay",
        "warmup_steps",
        "scheduler",
    ]
    assert table.loc["learning_rate"].tolist() == ["5e-05", "2e-05"]
    full = T.recipe_table({"doc": CARD_AS_DOCUMENTED})
    assert full.loc["batch_size", "doc"] == "8" and full.loc["epochs", "doc"] == "10"
    with pytest.raises(ValueError, match=r"fields\[0\]='lr'"):
        T.recipe_table({"doc": CARD_AS_DOCUMENTED}, fields=["lr"])


# --------------------------------------------------------------------------- lr schedules


def test_expected_lr_schedule_by_hand():
    # trainer mode: 8 pairs / batch 2 = 4 steps; warm-up 2 then linear decay to 0 at step 4
    r = CARD_AS_DOCUMENTED.replace(learning_rate=1.0, warmup_steps=2, batch_size=2, epochs=1)
    assert T.expected_lr_schedule(r, 8).tolist() == [0.0, 0.5, 1.0, 0.5]
    # fit mode: 9 pairs / batch 2 -> the trainer runs 5 steps, fit() sizes the schedule by 4
    f = CARD_AS_RUN.replace(learning_rate=1.0, warmup_steps=0, batch_size=2, epochs=1)
    assert T.expected_lr_schedule(f, 9).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    # the card as run: 50 pairs, batch 8, 10 epochs -> 70 steps, peak 2e-5 * 69 / 10000
    card = T.expected_lr_schedule(CARD_AS_RUN, 50)
    assert len(card) == 70 and card[0] == 0.0
    assert math.isclose(card.max(), 2e-5 * 69 / 10_000, rel_tol=1e-12)
    with pytest.raises(ValueError, match="n_pairs"):
        T.expected_lr_schedule(CARD_AS_RUN, 0)


@pytest.mark.parametrize("scheduler", ["warmuplinear", "warmupcosine", "warmupconstant"])
def test_expected_lr_schedule_matches_fit_scheduler(scheduler):
    """fit()'s own scheduler factory, stepped on a dummy optimizer, gives the same rates."""
    import torch
    from sentence_transformers.sentence_transformer.fit_mixin import FitMixin

    recipe = CARD_AS_RUN.replace(
        scheduler=scheduler, warmup_steps=5, batch_size=4, epochs=3, learning_rate=1e-3
    )
    n_pairs = 18  # trainer: 5 steps/epoch; fit(): 4 steps/epoch for the schedule
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=recipe.learning_rate)
    sched = FitMixin._get_scheduler(opt, scheduler, warmup_steps=5, t_total=(18 // 4) * 3)
    lrs = []
    for _ in range(15):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(T.expected_lr_schedule(recipe, n_pairs), lrs, rtol=1e-12)


@pytest.mark.parametrize("name", ["card_as_documented", "card_as_run", "tuned"])
def test_expected_lr_schedule_matches_a_real_run(tiny, small_set, name):
    # no mined negatives: the tiny random model scores every title alike (none passes the
    # tuned recipe's mining margin), and the schedule does not depend on them
    recipe = T.get_recipe(name, epochs=2, hard_negatives=0)
    pairs = small_set.pairs()[:20]  # 20 pairs, batch 8 -> 3 steps per epoch (last one partial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScheduleWarning)
        run = finetune(tiny, pairs, recipe)
    expected = T.expected_lr_schedule(recipe, len(pairs))
    assert run.steps == len(expected) == 6
    np.testing.assert_allclose(run.lr_schedule, expected, rtol=1e-9, atol=0)


def test_loss_by_epoch():
    curve = [(1, 3.0), (2, 1.0), (3, 2.0), (4, 0.0), (5, 1.0), (6, 0.5)]
    assert T.loss_by_epoch(curve, 2).tolist() == [2.0, 0.5]
    assert T.loss_by_epoch([1.0, 3.0], 1).tolist() == [2.0]
    with pytest.raises(ValueError, match="5 steps"):
        T.loss_by_epoch(curve[:5], 2)
