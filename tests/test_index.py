"""toolkit.index: exact top-k against brute force, HNSW recall, index files, cache keys.

The brute-force reference is the metrics' own ranking: the full ``q @ d.T`` matrix ranked
row by row with :func:`toolkit.ranking.rank_columns` (score descending, doc id as text
descending), i.e. what ``search`` did before there was an index. Ties are made on purpose
by duplicating rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from toolkit import index as ix
from toolkit.ranking import rank_columns, tie_order


def _unit(rng, n, dim):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _clustered(n, dim, seed, n_centres=40, noise=0.6):
    """Seeded unit vectors around ``n_centres`` random centres (like topic clusters)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim)).astype(np.float32)
    x = centres[rng.integers(0, n_centres, n)] + noise * rng.standard_normal((n, dim)).astype(
        np.float32
    )
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute(q, d, doc_ids, k):
    order = tie_order(doc_ids)
    full = q @ d.T
    cols = np.stack([rank_columns(row, order)[:k] for row in full])
    return np.take_along_axis(full, cols, axis=1), cols


@pytest.fixture(scope="module")
def tied():
    """60 docs with rows 10..19 copied to 40..49 (exact score ties), shuffled text ids."""
    rng = np.random.default_rng(3)
    d = _unit(rng, 60, 16)
    d[40:50] = d[10:20]
    ids = [f"doc{int(i)}" for i in rng.permutation(60)]
    q = np.concatenate([d[10:15], _unit(rng, 7, 16)])  # 5 queries equal to tied docs
    return q, d, ids


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5])
@pytest.mark.parametrize("k", [1, 3, 10, 60, 100])
def test_exact_equals_brute_force_with_ties(tied, k, chunk_size):
    q, d, ids = tied
    want_s, want_c = _brute(q, d, ids, min(k, len(d)))
    got_s, got_c = ix.ExactIndex(d, ids).search(q, k, chunk_size=chunk_size)
    assert got_c.shape == (len(q), min(k, len(d)))
    if chunk_size is None:  # one chunk: the very same BLAS product as the full matrix
        np.testing.assert_array_equal(got_c, want_c)
        np.testing.assert_array_equal(got_s, want_s)
    else:
        # Another chunk height is another BLAS blocking: a score may differ in its last bit,
        # which can swap near-equal (even duplicated) docs. What must hold: the docs returned
        # score, in the full matrix, what the brute-force top k scores, rank by rank.
        full = q @ d.T
        picked = np.take_along_axis(full, got_c, axis=1)
        np.testing.assert_allclose(picked, want_s, rtol=0, atol=4e-7)
        np.testing.assert_allclose(got_s, want_s, rtol=0, atol=4e-7)


def test_exact_tie_goes_to_larger_id_text(tied):
    q, d, ids = tied
    _, cols = ix.ExactIndex(d, ids).search(q[:5], 2)
    for i, (a, b) in enumerate(cols):
        assert {int(a), int(b)} == {10 + i, 40 + i}  # the query's own vector and its copy
        assert ids[a] > ids[b]  # equal scores: doc id as text descending


def test_exact_all_equal_scores_rank_by_id_only():
    d = np.ones((5, 4), dtype=np.float32) / 2
    ids = ["b", "a", "e", "c", "d"]
    _, cols = ix.ExactIndex(d, ids).search(d[:1], 5)
    assert [ids[c] for c in cols[0]] == ["e", "d", "c", "b", "a"]


@pytest.fixture(scope="module")
def clustered():
    d = _clustered(3000, 32, seed=0)
    held_out = _clustered(3200, 32, seed=0)[3000:]  # same centres, vectors not in the index
    return d, held_out


@pytest.fixture(scope="module")
def approx(clustered):
    d, _ = clustered
    with warnings.catch_warnings():
        warnings.simplefilter("error", ix.IndexWarning)
        return ix.build_index(d, kind="approx", threads=1, n_recall_queries=300, verbose=False)


def test_approx_recall_on_clustered_data(clustered, approx):
    d, held_out = clustered
    meta = approx.meta
    assert meta["kind"] == "approx" and meta["n"] == 3000 and meta["dim"] == 32
    assert meta["recall_at_10"] >= 0.99  # the build's own target (target_recall=0.99)
    assert meta["ef_search"] in ix.EF_SEARCH_STEPS
    # recomputed here, on queries the build never saw
    _, exact = _brute(held_out, d, [str(i) for i in range(len(d))], 10)
    _, got = approx.search(held_out, 10)
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(got, exact, strict=True)])
    assert recall >= 0.95


def test_recall_stored_is_recall_measured(clustered, approx):
    d, _ = clustered
    rng = np.random.default_rng(approx.meta["seed"])
    take = np.sort(rng.choice(len(d), size=300, replace=False))
    recall, _ = ix.measure_recall(approx, d, d[take], 10, approx.meta["ef_search"])
    assert recall == pytest.approx(approx.meta["recall_at_10"], abs=1e-5)


def test_recall_on_given_queries_is_measured_and_stored(clustered):
    d, held_out = clustered
    idx = ix.build_index(d, kind="approx", threads=1, n_recall_queries=100,
                         recall_queries=held_out, verbose=False)
    recall, _ = ix.measure_recall(idx, d, held_out, 10, idx.meta["ef_search"])
    assert idx.meta["recall_at_10_queries"] == pytest.approx(recall, abs=1e-5)
    assert idx.meta["recall_at_10"] == min(idx.meta["recall_at_10_queries"],
                                           idx.meta["recall_at_10_corpus"])
    assert "200 given queries" in idx.meta["recall_queries"]


def test_approx_table_shape_and_order(clustered, approx):
    _, held_out = clustered
    s, c = approx.search(held_out[:7], 5)
    assert s.shape == c.shape == (7, 5) and s.dtype == np.float32 and c.dtype == np.int64
    assert (np.diff(s, axis=1) <= 0).all()
    assert (c >= 0).all()


def test_build_is_seeded(clustered):
    d, _ = clustered
    import faiss

    a = ix.build_index(d[:800], kind="approx", threads=1, verbose=False, seed=5)
    b = ix.build_index(d[:800], kind="approx", threads=1, verbose=False, seed=5)
    assert bytes(faiss.serialize_index(a.faiss_index)) == bytes(
        faiss.serialize_index(b.faiss_index)
    )
    assert a.meta["recall_at_10"] == b.meta["recall_at_10"]


def test_build_prints_recall(clustered, capsys):
    d, _ = clustered
    idx = ix.build_index(d[:500], kind="approx", threads=1, n_recall_queries=50)
    out = capsys.readouterr().out
    assert f"recall@10 vs exact = {idx.meta['recall_at_10']:.4f}" in out


def test_save_reload_round_trip(tmp_path, clustered, approx):
    d, held_out = clustered
    path = ix.save_index(approx, tmp_path / "a.tkindex", key="k1")
    back = ix.load_index(path, key="k1")
    assert back.meta == {**approx.meta, "key": "k1", "format": 1}
    for a, b in zip(approx.search(held_out, 10), back.search(held_out, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.tie_pos, approx.tie_pos)
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind


def test_load_refuses_other_key(tmp_path, approx):
    path = ix.save_index(approx, tmp_path / "a.tkindex", key="k1")
    with pytest.raises(ix.IndexFileError, match="another model, corpus or parameters"):
        ix.load_index(path, key="k2")


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("flip", "checksum mismatch"),
        ("truncate", "truncated"),
        ("garbage", "not a toolkit index file"),
        ("meta", "damaged metadata"),
    ],
)
def test_damaged_file_raises_naming_it(tmp_path, approx, damage, fragment):
    path = ix.save_index(approx, tmp_path / "a.tkindex", key="k1")
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-1000] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage":
        raw = bytearray(b"hello" * 20)
    else:
        start = ix._HEADER.size
        raw[start : start + 1] = b"\xff"
    path.write_bytes(bytes(raw))
    with pytest.raises(ix.IndexFileError, match=fragment) as err:
        ix.load_index(path)
    assert str(path) in str(err.value)


def test_corpus_fingerprint_changes_with_corpus():
    base = ix.corpus_fingerprint(["a", "b"], ["X", "Y"])
    assert base == ix.corpus_fingerprint(["a", "b"], ["X", "Y"])
    for ids, texts in [
        (["a", "b"], ["X", "Z"]),  # a title changes
        (["a", "c"], ["X", "Y"]),  # an id changes
        (["b", "a"], ["Y", "X"]),  # order changes
        (["a", "b"], ["XY", ""]),  # text shifted between fields
        (["a"], ["X"]),  # a title removed
    ]:
        assert ix.corpus_fingerprint(ids, texts) != base, (ids, texts)


def test_index_key_changes_with_model_corpus_params():
    params = {"m": 32, "ef_construction": 80}
    base = ix.index_key("model1", "corpus1", params)
    assert ix.index_key("model2", "corpus1", params) != base
    assert ix.index_key("model1", "corpus2", params) != base
    assert ix.index_key("model1", "corpus1", {**params, "m": 16}) != base
    assert ix.index_key("model1", "corpus1", dict(params)) == base


def test_auto_threshold():
    assert ix.resolve_kind("auto", ix.AUTO_EXACT_BELOW - 1) == "exact"
    assert ix.resolve_kind("auto", ix.AUTO_EXACT_BELOW) == "approx"
    assert ix.resolve_kind("exact", 10**9) == "exact"
    assert ix.resolve_kind("approx", 5) == "approx"
    with pytest.raises(ValueError, match="index must be one of"):
        ix.resolve_kind("hnsw", 5)


def test_build_auto_small_is_exact(clustered):
    d, _ = clustered
    assert isinstance(ix.build_index(d, kind="auto"), ix.ExactIndex)


@pytest.mark.parametrize(
    ("vectors", "fragment"),
    [
        (np.zeros((0, 4), dtype=np.float32), "vectors is empty"),
        (np.array([[1.0, 0.0], [np.nan, 0.0]], dtype=np.float32), "non-finite value at row 1"),
    ],
)
def test_bad_vectors(vectors, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[")):
        ix.build_index(vectors, kind="exact")


def test_query_dim_mismatch(approx):
    with pytest.raises(ValueError, match="queries have dim 3 but the index holds dim 32"):
        approx.search(np.ones((1, 3), dtype=np.float32), 5)


# ------------------------------------------------------------- cached route with a real model

TITLES = [f"СПОСОБ ОБРАБОТКИ ДЕТАЛИ НОМЕР {i} ИЗ СТАЛИ" for i in range(120)]
IDS = [f"t{i}" for i in range(120)]


def test_dense_index_cached_and_reloaded_without_encoding(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    first = ix.dense_index(tiny, TITLES, IDS, kind="approx", verbose=False)
    files = list((tmp_path / "index").glob("*.tkindex"))
    assert len(files) == 1

    import toolkit.encoding

    def no_encode(*args, **kwargs):
        raise AssertionError("a cached index must not encode the corpus again")

    monkeypatch.setattr(toolkit.encoding, "encode", no_encode)
    again = ix.dense_index(tiny, TITLES, IDS, kind="approx", verbose=False)
    assert again.meta["recall_at_10"] == first.meta["recall_at_10"]
    # another corpus is another key: it must encode (and here fails on purpose)
    with pytest.raises(AssertionError, match="must not encode"):
        ix.dense_index(tiny, TITLES[:-1], IDS[:-1], kind="approx", verbose=False)


def test_dense_index_damaged_file_warns_and_rebuilds(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    ix.dense_index(tiny, TITLES, IDS, kind="approx", verbose=False)
    (path,) = (tmp_path / "index").glob("*.tkindex")
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.warns(ix.IndexWarning, match="checksum mismatch; .*rebuilding"):
        idx = ix.dense_index(tiny, TITLES, IDS, kind="approx", verbose=False)
    assert ix.load_index(path).meta["recall_at_10"] == idx.meta["recall_at_10"]  # healed


def test_search_approx_same_shape_as_exact(tiny, tmp_path, monkeypatch):
    from toolkit.retrieval import COLUMNS, search

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    corpus = dict(zip(IDS, TITLES, strict=True))
    exact = search(TITLES[:3], corpus, systems=[tiny], k=5, index="exact")
    approx = search(TITLES[:3], corpus, systems=[tiny], k=5, index="approx")
    assert list(approx.columns) == COLUMNS and approx.dtypes.equals(exact.dtypes)
    assert len(approx) == len(exact) == 15
    assert exact.attrs["index"]["dense"]["kind"] == "exact"
    assert approx.attrs["index"]["dense"]["recall_at_10"] >= 0.9
    for t in (exact, approx):  # a query equal to a title finds it first
        firsts = t[t["rank"] == 1]
        assert firsts["title"].tolist() == TITLES[:3]


def test_search_auto_small_corpus_is_exact_and_identical(tiny):
    from toolkit.retrieval import search

    corpus = dict(zip(IDS, TITLES, strict=True))
    auto = search(TITLES[:2], corpus, systems=[tiny], k=4)
    exact = search(TITLES[:2], corpus, systems=[tiny], k=4, index="exact")
    assert auto.attrs["index"]["dense"]["kind"] == "exact"
    assert auto.equals(exact)


def test_search_unknown_index():
    from toolkit.retrieval import search

    with pytest.raises(ValueError, match="index must be one of"):
        search("q", ["A", "B"], systems=["bm25"], index="hnsw")


def test_dense_index_unwritable_folder_warns_and_works(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    (tmp_path / "index").write_text("a file where the index folder should be")
    with pytest.warns(ix.IndexWarning, match="could not save the index"):
        idx = ix.dense_index(tiny, TITLES, IDS, kind="approx", verbose=False)
    assert idx.n == len(TITLES)
    assert (tmp_path / "index").read_text().startswith("a file")  # left alone


def test_cli_search_index_option(capsys, tmp_path, monkeypatch):
    from toolkit.__main__ import main

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    assert main(["search", "робот", "--system", "bm25", "--index", "exact", "--k", "2"]) == 0
    assert "[bm25]" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["search", "робот", "--index", "hnsw"])
    assert "invalid choice: 'hnsw'" in capsys.readouterr().err
