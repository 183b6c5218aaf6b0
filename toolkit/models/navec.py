"""Static Russian baseline: the navec word vectors as a sentence-transformers model.

The navec "news v1" vectors (250K words × 300 dims, product-quantised, 1B words of Russian news)
ship inside the ``natasha`` wheel. :func:`build_navec_model` turns them into a
``SentenceTransformer`` made of two stock modules, so it loads anywhere without custom code::

    StaticEmbedding (WordLevel tokenizer + mean of word vectors)  ─►  Normalize (L2)

Tokenizer (``tokenizers`` WordLevel over navec's vocabulary): NFKC, then lower-case (navec's
words are lower case; ``ё`` is kept, navec has both spellings); a word is a run of letters,
optionally joined by hyphens (``из-за``, ``электро-механический``). Digits, punctuation and
everything else are dropped: navec has no entries for them.

Unknown words do not count: the ``<unk>`` row is all zeros and is the ``EmbeddingBag`` padding
index, which sentence embedding averages leave out, so ``"робот xqzzq"`` embeds exactly like
``"робот"``. (On a private set of 60 queries × 280 titles this mean of known words gave MRR@10
0.411, against 0.381 with navec's own ``<unk>`` vector averaged in.) The padding index is a
runtime attribute that :func:`build_navec_model` sets on every load; a plain
``SentenceTransformer(folder)`` leaves it unset and then divides by the number of all words, but
since the ``<unk>`` row is zero the normalised output is the same.

A text with no known word (``""``, ``"123"``, ``"xqzzq"``) embeds as the **zero vector** (its
cosine with anything is 0 under sentence-transformers' ``cos_sim``); ``Normalize`` leaves it at
zero, never NaN.

The model is built once (≈ 300 MB float32 safetensors) into
``<cache dir>/models/navec-news-v1-300d``, atomically (written to a temporary sibling folder,
then renamed), and reloaded from there afterwards.

Example:
    >>> from toolkit.models.navec import build_navec_model
    >>> model = build_navec_model()
    >>> model.encode(["роботы для доставки товаров"]).shape
    (1, 300)
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

__all__ = ["build_navec_model", "MODEL_NAME", "WORD_PATTERN"]

MODEL_NAME = "navec-news-v1-300d"
"""Name of the cache folder and of the model (``model_card_data.model_name``)."""

WORD_PATTERN = r"[^\W\d_]+(?:-[^\W\d_]+)*"
"""What counts as a word: letters, optionally hyphen-joined. Everything between words is dropped."""

_NAVEC_TAR = "navec_news_v1_1B_250K_300d_100q.tar"
_UNK = "<unk>"


def _navec_tar_path() -> Path:
    """Locate the navec archive inside the installed natasha wheel (without importing natasha)."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the natasha package is not installed; it ships the navec vectors")
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "emb" / _NAVEC_TAR
        if path.is_file():
            return path
    raise FileNotFoundError(f"{_NAVEC_TAR} not found under natasha/data/emb in {spec.origin}")


def _build_tokenizer(vocab: dict[str, int]):
    """WordLevel tokenizer over navec's vocabulary (ids as in navec)."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel(vocab, unk_token=_UNK))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # invert=True: the pattern describes the words to keep; the text between them is removed.
    tokenizer.pre_tokenizer = pre_tokenizers.Split(
        Regex(WORD_PATTERN), behavior="removed", invert=True
    )
    return tokenizer


def _build(target: Path) -> None:
    """Write the navec sentence-transformers folder to ``target`` (which must not exist)."""
    from navec import Navec
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    navec = Navec.load(str(_navec_tar_path()))
    words = list(navec.vocab.words)
    vocab = {word: i for i, word in enumerate(words)}
    if len(vocab) != len(words) or _UNK not in vocab:
        raise ValueError(f"{_NAVEC_TAR}: vocabulary has duplicates or no {_UNK!r}")
    weights = torch.from_numpy(navec.pq.unpack())  # (250002, 300) float32
    weights[vocab[_UNK]] = 0.0  # unknown words add nothing (and are left out of the mean)
    static = StaticEmbedding(_build_tokenizer(vocab), embedding_weights=weights)
    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    _prepare(model)
    model.save(str(target))


def _prepare(model: SentenceTransformer) -> SentenceTransformer:
    """Exclude ``<unk>`` from the mean and name the model."""
    static = model[0]
    unk_id = static.tokenizer.token_to_id(_UNK)
    if unk_id is None:
        raise ValueError(f"navec model tokenizer has no {_UNK!r} token")
    static.embedding.padding_idx = unk_id
    model.model_card_data.model_name = MODEL_NAME
    model.model_card_data.set_language("ru")
    return model


def build_navec_model(*, cache_dir: Path | None = None) -> SentenceTransformer:
    """Return the navec static baseline, building it into the cache on first use.

    The first call reads the navec archive from the natasha wheel and writes a normal
    sentence-transformers folder (``StaticEmbedding`` + ``Normalize``) to
    ``<cache_dir>/models/navec-news-v1-300d``; later calls load that folder.

    Args:
        cache_dir: Cache root. ``None`` uses ``toolkit._config.cache_dir()``
            (``$TOOLKIT_CACHE_DIR``, else ``~/.cache/patent-toolkit``).

    Returns:
        A CPU ``SentenceTransformer`` giving 300-d L2-normalised vectors: the normalised mean of
        the vectors of the text's known words; the zero vector when it has none.

    Example:
        >>> model = build_navec_model()
        >>> vectors = model.encode(["РОБОТИЗИРОВАННЫЙ КОМПЛЕКС", "робот"])
    """
    if cache_dir is None:
        from toolkit._config import cache_dir as _default_cache_dir

        cache_dir = _default_cache_dir()
    folder = Path(cache_dir) / "models" / MODEL_NAME
    if not (folder / "modules.json").is_file():
        if folder.exists():
            raise FileExistsError(
                f"{folder} exists but holds no modules.json; remove it to rebuild the navec model"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=folder.parent))
        try:
            _build(tmp / "model")
            try:
                (tmp / "model").rename(folder)
            except OSError:
                if not (folder / "modules.json").is_file():  # not a concurrent builder's result
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return _prepare(model)
