"""Tests of toolkit.clustering and the three cluster figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

from toolkit._config import cache_dir
from toolkit.clustering import (
    agreement,
    cluster,
    label_clusters,
    reduce,
    shuffled_baseline,
    silhouette,
    stability,
)
from toolkit.plots.cluster_contingency import plot_cluster_contingency
from toolkit.plots.cluster_keywords import plot_cluster_keywords
from toolkit.plots.cluster_map import plot_cluster_map
from toolkit.text_ru import PATENT_STOP_WORDS, lemmatize

BATTERIES = [
    "ЛИТИЙ-ИОННЫЙ АККУМУЛЯТОР С ТВЁРДЫМ ЭЛЕКТРОЛИТОМ",
    "СПОСОБ ЗАРЯДКИ АККУМУЛЯТОРНОЙ БАТАРЕИ",
    "ЭЛЕКТРОД ДЛЯ ЛИТИЕВОГО АККУМУЛЯТОРА",
    "УСТРОЙСТВО КОНТРОЛЯ ЗАРЯДА АККУМУЛЯТОРНОЙ БАТАРЕИ",
    "КАТОДНЫЙ МАТЕРИАЛ ДЛЯ ЛИТИЙ-ИОННОЙ БАТАРЕИ",
    "СИСТЕМА ОХЛАЖДЕНИЯ АККУМУЛЯТОРНОЙ БАТАРЕИ ЭЛЕКТРОМОБИЛЯ",
    "АНОД АККУМУЛЯТОРА НА ОСНОВЕ КРЕМНИЯ",
    "СПОСОБ ИЗГОТОВЛЕНИЯ ЭЛЕКТРОДА АККУМУЛЯТОРА",
    "СЕПАРАТОР ДЛЯ АККУМУЛЯТОРНОЙ БАТАРЕИ",
    "ЭЛЕКТРОЛИТ ДЛЯ ЛИТИЙ-ИОННОГО АККУМУЛЯТОРА",
]
BREAD = [
    "СПОСОБ ПРОИЗВОДСТВА ХЛЕБА ИЗ РЖАНОЙ МУКИ",
    "ТЕСТО ДЛЯ ВЫПЕЧКИ ХЛЕБА",
    "ХЛЕБОПЕКАРНАЯ ПЕЧЬ",
    "СПОСОБ ПРИГОТОВЛЕНИЯ ЗАКВАСКИ ДЛЯ ХЛЕБА",
    "УЛУЧШИТЕЛЬ ХЛЕБОПЕКАРНОЙ МУКИ",
    "УСТРОЙСТВО ДЛЯ ВЫПЕЧКИ ХЛЕБА",
    "РЕЦЕПТУРА ХЛЕБА С ОТРУБЯМИ",
    "СПОСОБ ЗАМЕСА ТЕСТА ИЗ ПШЕНИЧНОЙ МУКИ",
    "ХЛЕБ ИЗ ЦЕЛЬНОЗЕРНОВОЙ МУКИ",
    "ДРОЖЖЕВОЕ ТЕСТО ДЛЯ ХЛЕБА И СПОСОБ ЕГО ПОЛУЧЕНИЯ",
]
BRIDGES = [
    "ПРОЛЁТНОЕ СТРОЕНИЕ МОСТА",
    "СПОСОБ СТРОИТЕЛЬСТВА МОСТА",
    "ОПОРА МОСТА",
    "ВИСЯЧИЙ МОСТ",
    "УСТРОЙСТВО ДЛЯ МОНТАЖА ПРОЛЁТНОГО СТРОЕНИЯ МОСТА",
    "ДЕФОРМАЦИОННЫЙ ШОВ МОСТОВОГО СООРУЖЕНИЯ",
    "СПОСОБ УСИЛЕНИЯ ОПОРЫ МОСТА",
    "ВАНТОВЫЙ МОСТ",
    "СИСТЕМА МОНИТОРИНГА СОСТОЯНИЯ МОСТА",
    "БАЛКА ПРОЛЁТНОГО СТРОЕНИЯ МОСТА",
]
TEXTS = BATTERIES + BREAD + BRIDGES
TRUTH = np.repeat([0, 1, 2], 10)
# IPC sections a patent office would give these topics: H01M batteries, A21D bread, E01D bridges.
IPC = ["H01M 10/05"] * 10 + ["A21D 8/02"] * 10 + ["E01D 19/00"] * 10
TOPIC_WORD = {0: "аккумулятор", 1: "хлеб", 2: "мост"}
# Boilerplate and function words (written here by hand, independent of the module's list).
NEVER_KEYWORDS = {
    "способ", "устройство", "система", "получение", "изготовление", "для", "из", "на", "и", "с",
    "его", "он", "основа",
}


def toy_embeddings(seed: int = 0, dim: int = 16, sd: float = 0.05) -> np.ndarray:
    """One-hot topic vector in the first three columns plus Gaussian noise everywhere."""
    rng = np.random.default_rng(seed)
    X = np.zeros((len(TRUTH), dim))
    X[np.arange(len(TRUTH)), TRUTH] = 1.0
    return X + sd * rng.normal(size=X.shape)


@pytest.fixture(scope="session")
def umap_runs(_isolated_cache):
    """The only UMAP fits of the file (numba JIT ~25 s): cached, uncached, after corruption."""
    X = toy_embeddings()
    first = reduce(X, random_state=7)  # writes the cache
    files = sorted((cache_dir() / "reduce").glob("*.npy"))
    uncached = reduce(X, random_state=7, cache=False)
    return {"X": X, "first": first, "uncached": uncached, "files": files}


# --------------------------------------------------------------------------- lemmatiser


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("ПЕНОПОЛИУРЕТАНОВ", "пенополиуретан"),
        ("РОБОТИЗИРОВАННОГО", "роботизированный"),
        ("УСТРОЙСТВА", "устройство"),
        ("ЛИТИЙ-ИОННОЙ", "литий-ионный"),
    ],
)
def test_lemmatize_patent_words(word, lemma):
    assert lemmatize(word, drop_stop_words=False) == [lemma]


def test_lemmatize_drops_stop_words_boilerplate_and_numbers():
    text = "СПОСОБ ПОЛУЧЕНИЯ ПЕНОПОЛИУРЕТАНОВ ДЛЯ УСТРОЙСТВА 2 И ЕГО ПРИМЕНЕНИЕ"
    assert lemmatize(text) == ["пенополиуретан"]
    assert lemmatize("РОБОТ", extra_stop_words=["робот"]) == []
    with pytest.raises(ValueError, match="text"):
        lemmatize(None)


# --------------------------------------------------------------------------- labelling


def test_c_tf_idf_matches_hand_computation():
    # class 0: мост x2, опора x1 (3 words); class 1: хлеб, мост (2 words); A = 2.5
    df = label_clusters([0, 0, 1], ["МОСТ МОСТ", "ОПОРА", "ХЛЕБ МОСТ"], top_n=5)
    row0 = df.set_index("cluster").loc[0]
    expected = {
        "опора": 1 / 3 * math.log(1 + 2.5 / 1),
        "мост": 2 / 3 * math.log(1 + 2.5 / 3),
    }
    assert row0["keywords"] == ["опора", "мост"]  # 0.4176 > 0.4041
    assert row0["scores"] == pytest.approx([expected["опора"], expected["мост"]])
    row1 = df.set_index("cluster").loc[1]
    assert row1["keywords"] == ["хлеб", "мост"]
    assert row1["scores"] == pytest.approx(
        [0.5 * math.log(1 + 2.5 / 1), 0.5 * math.log(1 + 2.5 / 3)]
    )


def test_toy_topics_recovered_with_keywords():
    X = toy_embeddings()
    labels = cluster(X, method="hdbscan", min_cluster_size=5)
    assert adjusted_rand_score(TRUTH, labels) == 1.0
    assert (labels == -1).sum() == 0
    table = label_clusters(labels, TEXTS, top_n=5, embeddings=X)
    assert table["size"].tolist() == [10, 10, 10]
    for topic, word in TOPIC_WORD.items():
        cid = int(np.bincount(labels[TRUTH == topic]).argmax())
        row = table.set_index("cluster").loc[cid]
        assert row["keywords"][0] == word, row["keywords"]
        assert row["representative"] in TEXTS[topic * 10 : topic * 10 + 10]
    # without embeddings the representative is still a member of its cluster
    table2 = label_clusters(labels, TEXTS, top_n=5)
    for row in table2.itertuples():
        assert labels[row.representative_index] == row.cluster
        assert TEXTS[row.representative_index] == row.representative


def test_boilerplate_never_a_keyword():
    table = label_clusters(TRUTH, TEXTS, top_n=100)
    all_keywords = {w for kws in table["keywords"] for w in kws}
    assert all_keywords, "expected some keywords"
    assert not all_keywords & NEVER_KEYWORDS
    assert not all_keywords & PATENT_STOP_WORDS
    assert {"способ", "устройство", "система"} <= PATENT_STOP_WORDS


def test_representative_closest_to_centroid_and_keyword_cover():
    texts = ["МОСТ", "МОСТ ОПОРА БАЛКА", "ОПОРА", "ХЛЕБ", "ХЛЕБ"]
    emb = np.array([[1, 0, 0], [0.9, 0.1, 0], [0.6, 0.8, 0], [0, 0, 1], [0, 0.1, 1]])
    by_emb = label_clusters([0, 0, 0, 1, 1], texts, embeddings=emb).set_index("cluster")
    # centroid of the unit rows of cluster 0 is closest to row 1 (computed by hand: cosines
    # 0.943, 0.973, 0.906)
    assert by_emb.loc[0, "representative_index"] == 1
    by_kw = label_clusters([0, 0, 0, 1, 1], texts).set_index("cluster")
    # row 1 holds all three keywords of cluster 0
    assert by_kw.loc[0, "representative"] == "МОСТ ОПОРА БАЛКА"
    # tie between identical titles goes to the first
    assert by_kw.loc[1, "representative_index"] == 3


def test_noise_is_its_own_row():
    labels = np.array([0] * 10 + [1] * 10 + [-1] * 10)
    table = label_clusters(labels, TEXTS)
    assert table["cluster"].tolist() == [-1, 0, 1]
    assert table.set_index("cluster").loc[-1, "keywords"][0] == "мост"


# --------------------------------------------------------------------------- reduce


def test_umap_same_seed_identical_and_cache(umap_runs, monkeypatch):
    first, uncached = umap_runs["first"], umap_runs["uncached"]
    assert first.shape == (30, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, uncached)
    assert len(umap_runs["files"]) == 1
    # a cache hit must not fit UMAP again
    import umap

    def boom(*args, **kwargs):
        raise AssertionError("UMAP was refitted on a cache hit")

    with monkeypatch.context() as m:
        m.setattr(umap, "UMAP", boom)
        hit = reduce(umap_runs["X"], random_state=7)
    np.testing.assert_array_equal(hit, first)
    # the map keeps the topics apart
    assert adjusted_rand_score(TRUTH, cluster(first, method="kmeans", n_clusters=3)) == 1.0


def test_umap_corrupt_cache_recomputed(umap_runs):
    (path,) = umap_runs["files"]
    path.write_bytes(b"not a numpy file")
    again = reduce(umap_runs["X"], random_state=7)
    np.testing.assert_array_equal(again, umap_runs["first"])
    np.testing.assert_array_equal(np.load(path), umap_runs["first"])  # repaired


def test_pca_reduce_cache_and_corruption():
    X = toy_embeddings(seed=3)
    direct = reduce(X, method="pca", cache=False)
    # PCA of the unit rows, computed here with numpy's SVD (sign-free comparison)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    U = U - U.mean(axis=0)
    _, _, vt = np.linalg.svd(U, full_matrices=False)
    ref = U @ vt[:2].T
    np.testing.assert_allclose(np.abs(direct), np.abs(ref), atol=1e-5)
    before = set((cache_dir() / "reduce").glob("*.npy"))
    cached = reduce(X, method="pca")
    (path,) = set((cache_dir() / "reduce").glob("*.npy")) - before
    np.testing.assert_array_equal(cached, direct)
    np.testing.assert_array_equal(reduce(X, method="pca"), direct)
    np.save(path, np.zeros((3, 3)))  # readable but inconsistent
    np.testing.assert_array_equal(reduce(X, method="pca"), direct)
    assert np.load(path).shape == (30, 2)
    # a different seed or parameter is a different cache entry
    reduce(X, method="pca", n_components=3)
    assert len(set((cache_dir() / "reduce").glob("*.npy")) - before) == 2
    assert not list((cache_dir() / "reduce").glob("*.tmp"))


def test_pca_pre_reduction_switches_on_above_threshold(monkeypatch):
    import toolkit.clustering as tc

    seen = {}

    class FakeUMAP:  # records what UMAP would receive; UMAP itself is tested above
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit_transform(self, data):
            seen["shape"] = data.shape
            return data[:, :2]

    import umap

    monkeypatch.setattr(umap, "UMAP", FakeUMAP)
    X = np.random.default_rng(0).normal(size=(40, 60))
    tc.reduce(X, cache=False, pca_above=10, pca_components=5)
    assert seen["shape"] == (40, 5) and seen["metric"] == "euclidean" and seen["n_jobs"] == 1
    tc.reduce(X, cache=False, pca_above=None, n_neighbors=100)
    # without PCA, below 4,096 points UMAP gets the portable cosine distance matrix and the
    # exactly solved spectral initialisation (toolkit.clustering.reduction)
    assert seen["shape"] == (40, 40) and seen["metric"] == "precomputed"
    assert seen["disconnection_distance"] == 2.0 and seen["init"].shape == (40, 2)
    assert seen["n_neighbors"] == 39  # clamped to n - 1


# --------------------------------------------------------------------------- cluster & evaluation


def test_cluster_methods_and_seed():
    X = toy_embeddings()
    for method in ("kmeans", "agglomerative"):
        labels = cluster(X, method=method, n_clusters=3)
        assert adjusted_rand_score(TRUTH, labels) == 1.0
    a = cluster(X, method="kmeans", n_clusters=5, random_state=1)
    b = cluster(X, method="kmeans", n_clusters=5, random_state=1)
    np.testing.assert_array_equal(a, b)
    # clusters numbered by decreasing size
    sizes = np.bincount(a)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_hdbscan_noise_label():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.05, (20, 2)), rng.normal(5, 0.05, (20, 2)), [[20.0, -20.0]]]
    labels = cluster(X, min_cluster_size=5)
    assert labels[-1] == -1
    assert set(labels[:-1]) == {0, 1}


def test_agreement_matches_sklearn_and_hand_purity():
    rng = np.random.default_rng(1)
    labels = rng.integers(-1, 4, 200)
    reference = rng.choice(list("ABCDEFGH"), 200)
    out = agreement(labels, reference)
    assert out["ari"] == pytest.approx(adjusted_rand_score(reference, labels))
    assert out["nmi"] == pytest.approx(normalized_mutual_info_score(reference, labels))
    assert out["n"] == 200 and out["n_noise"] == int((labels == -1).sum())
    assert out["n_clusters"] == 4

    lab = [0, 0, 0, 1, 1, -1]
    ref = ["A", "A", "B", "B", "B", "A"]
    kept = agreement(lab, ref)
    assert kept["purity"] == pytest.approx(5 / 6)  # 2 (c0: A) + 2 (c1: B) + 1 (noise: A)
    assert kept["inverse_purity"] == pytest.approx(4 / 6)  # A: 2 in c0, B: 2 in c1
    assert kept["contingency"].loc[0, "B"] == 1 and kept["contingency"].loc[-1, "A"] == 1
    dropped = agreement(lab, ref, noise="exclude")
    assert dropped["purity"] == pytest.approx(4 / 5)
    assert dropped["inverse_purity"] == pytest.approx(4 / 5)
    assert dropped["n"] == 5 and dropped["n_noise"] == 1 and dropped["n_clusters"] == 2
    assert -1 not in dropped["contingency"].index
    perfect = agreement([1, 1, 0, 0], ["x", "x", "y", "y"])
    assert perfect["ari"] == 1.0 and perfect["purity"] == 1.0


def test_silhouette_excludes_noise():
    X = toy_embeddings()
    labels = TRUTH.copy()
    labels[0] = -1
    ref = silhouette_score(X[1:], labels[1:], metric="cosine")
    assert silhouette(X, labels) == pytest.approx(ref)
    with pytest.raises(ValueError, match="labels"):
        silhouette(X, np.zeros(30, dtype=int))


def test_stability_and_shuffled_baseline():
    X = toy_embeddings()
    out = stability(X, method="kmeans", n_clusters=3)
    assert out["ari_min"] == 1.0 and out["n_pairs"] == 10 and out["n_clusters"] == [3] * 5
    # k-means with too many clusters splits the topics differently per seed
    wobbly = stability(X, method="kmeans", n_clusters=7, n_init=1)
    assert wobbly["ari_min"] < 1.0
    with pytest.warns(UserWarning, match="ignores the seed"):
        stability(X, method="hdbscan", min_cluster_size=5)
    pca_pipe = stability(X, method="kmeans", reduce_method="pca", n_clusters=3, seeds=(0, 1))
    assert pca_pipe["ari_mean"] == 1.0

    base = shuffled_baseline(TRUTH, IPC, n=100, seed=0)
    assert abs(base["ari_mean"]) < 3 * base["ari_sd"] / math.sqrt(100) + 1e-3
    assert base["nmi_mean"] < 0.2 < agreement(TRUTH, IPC)["nmi"]
    assert base["purity_mean"] > 1 / 3  # purity is not chance-corrected
    again = shuffled_baseline(TRUTH, IPC, n=20, seed=5)
    assert again == shuffled_baseline(TRUTH, IPC, n=20, seed=5)


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    X = toy_embeddings()
    with pytest.raises(ValueError, match="labels and texts"):
        label_clusters(TRUTH[:5], TEXTS)
    with pytest.raises(ValueError, match="labels and reference"):
        agreement(TRUTH, IPC[:3])
    with pytest.raises(ValueError, match="min_cluster_size"):
        cluster(X[:4], min_cluster_size=5)
    with pytest.raises(ValueError, match="n_clusters"):
        cluster(X[:4], method="kmeans", n_clusters=5)
    with pytest.raises(ValueError, match="embeddings: all 5 rows are identical"):
        reduce(np.ones((5, 3)), method="pca")
    with pytest.raises(ValueError, match="X: all"):
        cluster(np.ones((10, 3)), method="kmeans", n_clusters=2)
    bad = X.copy()
    bad[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"embeddings: .*NaN.*row 4, column 2"):
        reduce(bad)
    with pytest.raises(ValueError, match="embeddings"):
        label_clusters(TRUTH, TEXTS, embeddings=bad)
    with pytest.raises(ValueError, match="method"):
        reduce(X, method="tsne")
    with pytest.raises(ValueError, match="method"):
        cluster(X, method="dbscan")
    with pytest.raises(ValueError, match="embeddings: UMAP needs at least"):
        reduce(X[:3])
    with pytest.raises(ValueError, match="row 1 is all zeros"):
        reduce(np.array([[1.0, 0], [0, 0], [0, 1]]), method="pca")
    with pytest.raises(ValueError, match="labels: expected integer"):
        label_clusters(["a", "b", "c"], ["а", "б", "в"])
    with pytest.raises(ValueError, match="texts: position 2"):
        label_clusters([0, 0, 1], ["а", "б", None])
    with pytest.raises(ValueError, match="reference: missing value at position 1"):
        agreement([0, 1], ["A", None])
    with pytest.raises(ValueError, match="noise"):
        agreement([0, 1], ["A", "B"], noise="drop")
    with pytest.raises(ValueError, match="seeds"):
        stability(X, seeds=(1,), n_clusters=3)


# --------------------------------------------------------------------------- plots


def test_plot_cluster_map():
    xy = toy_embeddings()[:, :2]
    labels = TRUTH.copy()
    labels[:2] = -1
    ipc = list(IPC)
    ipc[5] = None
    table = label_clusters(labels, TEXTS)
    fig = plot_cluster_map(
        xy, labels, texts=TEXTS, ipc=ipc, keywords=table,
        doc_ids=[f"RU{i}" for i in range(30)], title="map",
    )
    d = fig.to_dict()
    names = [t["name"] for t in d["data"]]
    assert names[0] == "noise" and names[1].startswith("0: аккумулятор")
    assert names[4:] == ["IPC A: Human necessities", "IPC E: Fixed constructions",
                         "IPC H: Electricity", "IPC unknown"]
    noise, first = d["data"][0], d["data"][1]
    # fig.data keeps the arrays (to_dict() may store them as base64 "bdata")
    assert noise["marker"]["color"] == "#999999" and len(fig.data[0].x) == 2
    assert first["marker"]["color"] != "#999999" and len(fig.data[1].x) == 8
    assert list(first["marker"]["symbol"]).count("pentagon") == 7  # H01M
    assert "circle-open" in first["marker"]["symbol"]  # the unknown IPC
    assert "RU2" in first["hovertext"][0] and "H01M" in first["hovertext"][0]
    assert TEXTS[2] in first["hovertext"][0]
    assert "аккумулятор" in first["name"] and first["hoverinfo"] == "text+name"  # name in hover
    assert d["layout"]["title"]["text"] == "map"
    with pytest.raises(ValueError, match="texts"):
        plot_cluster_map(xy, labels, texts=TEXTS[:3])
    with pytest.raises(ValueError, match="xy"):
        plot_cluster_map(np.zeros((30, 3)), labels, texts=TEXTS)


def test_plot_cluster_keywords():
    table = label_clusters(TRUTH, TEXTS)
    d = plot_cluster_keywords(table, top_n=3, n_cols=2, width=600).to_dict()
    assert len(d["data"]) == 3
    bar = d["data"][0]
    assert list(bar["y"]) == table.loc[0, "keywords"][:3][::-1]
    assert list(bar["x"]) == pytest.approx(table.loc[0, "scores"][:3][::-1])
    titles = [a["text"] for a in d["layout"]["annotations"]]
    assert titles == ["0 (n=10)", "1 (n=10)", "2 (n=10)"]
    assert d["layout"]["width"] == 600
    with pytest.raises(ValueError, match="clusters"):
        plot_cluster_keywords(table, clusters=[7])


def test_plot_cluster_contingency():
    table = agreement([0, 0, 1, -1], ["H01M", "A21D", "A21D", "H01M"])["contingency"]
    d = plot_cluster_contingency(table, normalize="row").to_dict()
    heat = d["data"][0]
    assert list(heat["y"]) == ["noise", "0", "1"]
    assert list(heat["x"]) == ["A21D", "H01M"]
    assert [list(r) for r in heat["text"]] == [["0", "1"], ["1", "1"], ["1", "0"]]
    assert heat["z"][1] == [0.5, 0.5]
    sections = pd.crosstab(pd.Series([0, 1], name="cluster"), pd.Series(["H", "A"], name="ipc"))
    assert list(plot_cluster_contingency(sections).to_dict()["data"][0]["x"]) == ["A", "H"]
    with pytest.raises(ValueError, match="normalize"):
        plot_cluster_contingency(table, normalize="all")
