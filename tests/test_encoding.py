import multiprocessing as mp
import sqlite3
import warnings

import numpy as np
import pytest

from toolkit.encoding import CacheWarning, EmbeddingCache, encode
from toolkit.models import load_model, model_fingerprint

TEXTS = [
    "роботы для доставки товаров",
    "РОБОТИЗИРОВАННЫЙ МОБИЛЬНЫЙ КУРЬЕРСКИЙ КОМПЛЕКС",
    "шифрование данных для облачных хранилищ",
    "теплоизоляция нового поколения",
]


def counting_model(model):
    """Record on ``model.seen`` which texts reach the real model's encode()."""
    real_encode = model.encode
    model.seen = []

    def encode_and_record(texts, **kwargs):
        model.seen.extend(texts)
        return real_encode(texts, **kwargs)

    model.encode = encode_and_record
    model.reference = real_encode
    return model


@pytest.fixture()
def counting(tiny_bert_dir):
    return counting_model(load_model(tiny_bert_dir, device="cpu"))


@pytest.fixture()
def cache(tmp_path):
    return EmbeddingCache(tmp_path / "emb")


def _reference(model, texts):
    emb = getattr(model, "reference", model.encode)(texts, convert_to_numpy=True)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def test_matches_plain_encode_in_input_order(counting, cache):
    out = encode(counting, TEXTS, cache=cache)
    assert out.dtype == np.float32 and out.shape == (4, 32)
    np.testing.assert_allclose(out, _reference(counting, TEXTS), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_duplicates_encoded_once(counting, cache):
    out = encode(counting, [TEXTS[0], TEXTS[1], TEXTS[0]], cache=False)
    assert sorted(counting.seen) == sorted(TEXTS[:2])
    np.testing.assert_array_equal(out[0], out[2])


def test_hit_miss_and_partial_hit(counting, cache):
    first = encode(counting, TEXTS[:2], cache=cache)
    assert sorted(counting.seen) == sorted(TEXTS[:2])
    counting.seen.clear()
    again = encode(counting, TEXTS[:2], cache=cache)  # full hit
    assert counting.seen == []
    np.testing.assert_array_equal(first, again)
    partial = encode(counting, TEXTS, cache=cache)  # partial hit: only misses encoded
    assert sorted(counting.seen) == sorted(TEXTS[2:])
    np.testing.assert_allclose(partial, _reference(counting, TEXTS), atol=1e-6)


def test_corrupt_row_is_detected_and_recomputed(counting, cache):
    good = encode(counting, TEXTS, cache=cache)
    fp = model_fingerprint(counting)
    with sqlite3.connect(cache.path_for(fp)) as con:
        key, blob = con.execute("SELECT key, vec FROM vectors LIMIT 1").fetchone()
        flipped = bytearray(blob)
        flipped[5] ^= 0x40
        con.execute("UPDATE vectors SET vec=? WHERE key=?", (bytes(flipped), key))
    counting.seen.clear()
    with pytest.warns(CacheWarning, match="damaged"):
        out = encode(counting, TEXTS, cache=cache)
    assert len(counting.seen) == 1
    # recomputed alone (no padding), so equal up to float rounding
    np.testing.assert_allclose(out, good, atol=1e-6)
    counting.seen.clear()
    encode(counting, TEXTS, cache=cache)  # healed
    assert counting.seen == []


def test_truncated_file_is_moved_aside_and_rebuilt(counting, cache):
    good = encode(counting, TEXTS, cache=cache)
    path = cache.path_for(model_fingerprint(counting))
    for side in path.parent.glob(path.name + "-*"):
        side.unlink()
    path.write_bytes(path.read_bytes()[:100])
    counting.seen.clear()
    with pytest.warns(CacheWarning):
        out = encode(counting, TEXTS, cache=cache)
    np.testing.assert_array_equal(out, good)
    assert sorted(counting.seen) == sorted(TEXTS)
    assert any(".corrupt-" in p.name for p in path.parent.iterdir())


def test_different_models_never_share_vectors(tiny_bert_dir, minilm, cache):
    tiny = load_model(tiny_bert_dir, device="cpu")
    a = encode(tiny, TEXTS, cache=cache)
    b = encode(minilm, TEXTS, cache=cache)
    assert a.shape[1] == 32 and b.shape[1] == 384
    assert len(cache.info()) == 2
    np.testing.assert_allclose(b, _reference(minilm, TEXTS), atol=1e-6)


def _encode_in_child(args):
    model_dir, cache_root, texts = args
    from toolkit.encoding import EmbeddingCache, encode
    from toolkit.models import load_model

    model = load_model(model_dir, device="cpu")
    return encode(model, texts, cache=EmbeddingCache(cache_root))


def test_two_processes_writing_the_same_entries(tiny_bert_dir, tmp_path):
    texts = [f"патент номер {i}" for i in range(300)]
    ctx = mp.get_context("spawn")
    jobs = [(str(tiny_bert_dir), str(tmp_path / "emb"), texts)] * 2
    with ctx.Pool(2) as pool:
        a, b = pool.map(_encode_in_child, jobs)
    np.testing.assert_array_equal(a, b)
    model = load_model(tiny_bert_dir, device="cpu")
    np.testing.assert_allclose(a, _reference(model, texts), atol=1e-6)
    (entry,) = EmbeddingCache(tmp_path / "emb").info()
    assert entry.entries == 300


def test_readonly_cache_folder_degrades_with_warning(counting, tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        probe = root / "probe"
        try:
            probe.write_text("x")
            pytest.skip("running as a user that ignores directory permissions")
        except OSError:
            pass
        with pytest.warns(CacheWarning, match="not usable"):
            out = encode(counting, TEXTS, cache=EmbeddingCache(root))
        np.testing.assert_allclose(out, _reference(counting, TEXTS), atol=1e-6)
    finally:
        root.chmod(0o700)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("one text", "got str"),
        (None, "got NoneType"),
        (42, "got int"),
        (["ok", None], r"texts\[1\] must be a str"),
        (["ok", "fine", 3.5], r"texts\[2\] must be a str"),
    ],
)
def test_bad_texts_name_the_position(counting, bad, message):
    with pytest.raises(TypeError, match=message):
        encode(counting, bad, cache=False)


def test_bad_batch_size(counting):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        encode(counting, TEXTS, batch_size=0, cache=False)
    with pytest.raises(TypeError, match="batch_size must be an integer, got 2.5"):
        encode(counting, TEXTS, batch_size=2.5, cache=False)


def test_empty_list_gives_zero_rows(counting):
    out = encode(counting, [], cache=False)
    assert out.shape == (0, 32) and out.dtype == np.float32


def test_empty_and_whitespace_strings_are_encoded_like_any_text(counting, cache):
    out = encode(counting, ["", "   ", TEXTS[0]], cache=cache)
    np.testing.assert_allclose(out, _reference(counting, ["", "   ", TEXTS[0]]), atol=1e-6)
    assert np.all(np.isfinite(out))


def test_cache_info_and_clear(counting, cache):
    encode(counting, TEXTS, cache=cache)
    (entry,) = cache.info()
    assert entry.entries == len(TEXTS) and entry.dim == 32
    assert cache.clear() >= 1
    assert cache.info() == []


def test_no_warning_on_clean_path(counting, cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        encode(counting, TEXTS, cache=cache)
        encode(counting, TEXTS, cache=cache)


def test_uncreatable_cache_folder_degrades_with_warning(counting, tmp_path):
    # A regular file where the cache folder should be: works even as root.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.warns(CacheWarning, match="not usable"):
        out = encode(counting, TEXTS, cache=EmbeddingCache(blocker / "emb"))
    np.testing.assert_allclose(out, _reference(counting, TEXTS), atol=1e-6)


def test_out_array_is_filled_in_place_with_duplicates(counting, cache):
    texts = [TEXTS[1], TEXTS[0], TEXTS[1], TEXTS[2]]
    out = np.full((4, 32), np.nan, dtype=np.float32)
    got = encode(counting, texts, cache=cache, out=out)
    assert got is out
    np.testing.assert_allclose(out, _reference(counting, texts), atol=1e-6)
    np.testing.assert_array_equal(out[0], out[2])
    again = np.full((4, 32), np.nan, dtype=np.float32)  # all hits now, same array filled
    np.testing.assert_array_equal(encode(counting, texts, cache=cache, out=again), out)


@pytest.mark.parametrize(
    "bad", [np.zeros((3, 32), np.float32), np.zeros((4, 32), np.float64),
            np.zeros((32, 4), np.float32).T],
    ids=["rows", "dtype", "layout"],
)
def test_out_array_of_wrong_shape_dtype_or_layout_is_refused(counting, bad):
    with pytest.raises(ValueError, match=r"out must be a writable C-contiguous float32 array of "
                       r"shape \(4, 32\)"):
        encode(counting, TEXTS, cache=False, out=bad)


def test_cache_file_of_the_former_layout_still_serves_and_takes_rows(counting, cache):
    """Files written before the rowid layout (WITHOUT ROWID, 4 KiB pages) keep working."""
    fp = model_fingerprint(counting)
    path = cache.path_for(fp)
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE vectors (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, "
            "vec BLOB NOT NULL, checksum BLOB NOT NULL) WITHOUT ROWID"
        )
        con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
    first = encode(counting, TEXTS[:2], cache=cache)  # written into the old table
    counting.seen.clear()
    both = encode(counting, TEXTS, cache=cache)
    assert sorted(counting.seen) == sorted(TEXTS[2:])
    np.testing.assert_array_equal(both[:2], first)
    with sqlite3.connect(path) as con:
        sql = con.execute("SELECT sql FROM sqlite_master WHERE name='vectors'").fetchone()[0]
        assert "WITHOUT ROWID" in sql and con.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert con.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 4


def test_misses_of_several_chunks_go_longest_first(counting, monkeypatch):
    import toolkit.encoding as enc

    monkeypatch.setattr(enc, "_CHUNK", 2)
    out = encode(counting, TEXTS, cache=False)
    assert counting.seen == sorted(TEXTS, key=len, reverse=True)
    np.testing.assert_allclose(out, _reference(counting, TEXTS), atol=1e-6)  # input order


# --- simulating another host (TOOLKIT_PERTURB_VECTORS, TOOLKIT_ENCODE_BATCH_SIZE) -------------


def test_perturbation_is_of_its_size_fixed_per_text_and_not_cached(
    counting, cache, monkeypatch
):
    texts = ["робот для доставки", "шифрование данных", "робот для доставки", "датчик"]
    plain = encode(counting, texts, cache=cache)
    monkeypatch.setenv("TOOLKIT_PERTURB_VECTORS", "1e-6")
    seen = len(counting.seen)
    noisy = encode(counting, texts, cache=cache)  # from the cache, perturbed on the way out
    assert len(counting.seen) == seen  # all hits: the cache kept the model's own vectors
    relative = np.abs(noisy - plain) / np.abs(plain).clip(1e-12)
    assert 1e-7 < np.median(relative[relative > 0]) < 1e-5  # noise of about 1e-6 of each entry
    np.testing.assert_array_equal(noisy[0], noisy[2])  # one text, one vector
    again = encode(counting, texts[::-1], cache=False)  # another call, order, no cache
    np.testing.assert_array_equal(again[::-1], noisy)
    monkeypatch.delenv("TOOLKIT_PERTURB_VECTORS")
    np.testing.assert_array_equal(encode(counting, texts, cache=cache), plain)


def test_batch_size_from_the_environment_reaches_the_model(counting, monkeypatch):
    seen = []
    real = counting.encode
    counting.encode = lambda texts, **kw: seen.append(kw["batch_size"]) or real(texts, **kw)
    monkeypatch.setenv("TOOLKIT_ENCODE_BATCH_SIZE", "7")
    encode(counting, ["а", "б"], cache=False)
    encode(counting, ["а", "б"], cache=False, batch_size=3)  # an argument wins
    assert seen == [7, 3]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TOOLKIT_PERTURB_VECTORS", "-1e-7", "a finite number >= 0"),
        ("TOOLKIT_PERTURB_VECTORS", "nan", "a finite number >= 0"),
        ("TOOLKIT_ENCODE_BATCH_SIZE", "0", "an integer >= 1"),
        ("TOOLKIT_ENCODE_BATCH_SIZE", "eight", "an integer >= 1"),
    ],
)
def test_bad_simulation_settings_name_the_variable(counting, monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=rf"\${name}: expected {expected}, got '{value}'"):
        encode(counting, ["а"], cache=False)


# The default model's vectors depend on the batch a text is encoded in on some CPUs (up to
# 1.8e-7 between batch sizes 32 and 64 on an Intel Xeon with AVX-512/AMX; none on the AMD EPYC
# hosts). The promise is a tolerance, not bits: five times the largest difference measured.
BATCH_TOLERANCE = 1e-6


def test_vectors_agree_within_tolerance_whatever_the_batches():
    from toolkit.data import demo

    model = load_model("default", device="cpu")
    titles = list(demo().corpus.values())[:48]
    reference = encode(model, titles, cache=False)
    for batch_size, order in ((7, 1), (1, 1), (64, -1), (33, -1)):
        got = encode(model, titles[::order], cache=False, batch_size=batch_size)[::order]
        np.testing.assert_allclose(got, reference, rtol=0, atol=BATCH_TOLERANCE,
                                   err_msg=f"batch {batch_size}, order {order}")
    # the tolerance is far below a real change: the next title's vector is ~0.5 away
    assert np.abs(np.roll(reference, 1, axis=0) - reference).max() > 1e4 * BATCH_TOLERANCE
