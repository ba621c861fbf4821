"""VectorIndex: exact below the size threshold, HNSW above, the same answers either way."""

from __future__ import annotations

import numpy as np
import pytest

from qa.stores.vectors import FLAT_MAX, VectorIndex


def unit_rows(n: int, dim: int = 64, seed: int = 7, clusters: int = 20) -> np.ndarray:
    """Clustered unit vectors from a fixed seed (uniform random ones are unlike embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    x = centres[rng.integers(clusters, size=n)] + 0.8 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus() -> np.ndarray:
    return unit_rows(5000)


@pytest.fixture(scope="module")
def queries(corpus: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(11)
    q = corpus[rng.choice(len(corpus), 100, replace=False)] + 0.05 * rng.standard_normal(
        (100, corpus.shape[1]))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_hnsw_agrees_with_exact(corpus: np.ndarray, queries: np.ndarray) -> None:
    flat, hnsw = VectorIndex.build(corpus, "flat"), VectorIndex.build(corpus, "hnsw")
    assert (flat.kind, hnsw.kind) == ("flat", "hnsw")
    recall = []
    for q in queries:
        exact, approx = flat.search(q, 10), hnsw.search(q, 10)
        recall.append(len({r for r, _ in exact} & {r for r, _ in approx}) / 10)
        # scores are cosines, best first, the same number for the same row in both indexes
        assert [s for _, s in approx] == sorted((s for _, s in approx), reverse=True)
        for row, score in approx:
            assert score == pytest.approx(float(corpus[row] @ q), abs=1e-4)
    assert np.mean(recall) >= 0.95


def test_search_many_is_search_per_row(corpus: np.ndarray, queries: np.ndarray) -> None:
    for kind in ("flat", "hnsw"):
        index = VectorIndex.build(corpus[:1000], kind)
        many = index.search_many(queries[:20], 5)  # 20 rows: the multi-threaded path
        assert [[r for r, _ in hits] for hits in many] == \
            [[r for r, _ in index.search(q, 5)] for q in queries[:20]]


def test_threshold_picks_the_kind() -> None:
    rows = unit_rows(50, dim=8)
    assert VectorIndex.build(rows, flat_max=50).kind == "flat"
    assert VectorIndex.build(rows, flat_max=49).kind == "hnsw"
    assert VectorIndex.build(rows).kind == "flat" and FLAT_MAX >= 50_000
    assert VectorIndex.build(rows).params == {"kind": "flat"}
    params = VectorIndex.build(rows, "hnsw", m=8, ef_construction=20, ef_search=30).params
    assert params == {"kind": "hnsw", "M": 8, "efConstruction": 20, "efSearch": 30}
    with pytest.raises(ValueError, match="kind"):
        VectorIndex.build(rows, "ivf")


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_keeps_kind_and_answers(tmp_path, corpus: np.ndarray, kind: str) -> None:
    index = VectorIndex.build(corpus[:500], kind, ef_search=40)
    index.save(tmp_path)
    again = VectorIndex.load(tmp_path)
    assert (again.kind, again.params, len(again), again.dim) == \
        (kind, index.params, 500, corpus.shape[1])
    assert again.search(corpus[3], 5) == index.search(corpus[3], 5)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vectors_are_the_stored_rows(corpus: np.ndarray, kind: str) -> None:
    index = VectorIndex.build(corpus[:300], kind)
    assert np.array_equal(index.vectors([299, 0, 5]), corpus[[299, 0, 5]])
    assert index.vectors([]).shape == (0, corpus.shape[1])
    with pytest.raises(IndexError):
        index.vectors([300])


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_k_larger_than_the_index(corpus: np.ndarray, kind: str) -> None:
    index = VectorIndex.build(corpus[:7], kind, ef_search=2)  # k above efSearch, too
    hits = index.search(corpus[0], 50)
    assert sorted(r for r, _ in hits) == list(range(7))
    assert hits[0] == (0, pytest.approx(1.0, abs=1e-5))
    assert index.search(corpus[0], 0) == []


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_empty_index(tmp_path, kind: str) -> None:
    index = VectorIndex.build(np.zeros((0, 16), dtype=np.float32), kind)
    assert (len(index), index.dim, index.kind) == (0, 16, kind)
    assert index.search(np.ones(16, dtype=np.float32), 5) == []
    assert index.search_many(np.ones((3, 16), dtype=np.float32), 5) == [[], [], []]
    index.save(tmp_path)
    assert len(VectorIndex.load(tmp_path)) == 0


def test_load_refuses_what_is_not_an_index(tmp_path) -> None:
    with pytest.raises(ValueError, match="missing or empty"):
        VectorIndex.load(tmp_path)
    (tmp_path / VectorIndex.FILE).write_bytes(b"not a faiss index")
    with pytest.raises(ValueError, match="not a readable FAISS index"):
        VectorIndex.load(tmp_path)


def test_built_from_a_memory_map_and_saved_under_another_name(tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    corpus = rng.standard_normal((300, 16)).astype(np.float32)
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    np.save(tmp_path / "v.npy", corpus)
    index = VectorIndex.build(np.load(tmp_path / "v.npy", mmap_mode="r"))
    index.save(tmp_path, "other.faiss")
    again = VectorIndex.load(tmp_path, "other.faiss")
    assert len(again) == 300 and np.array_equal(again.vectors([7]), corpus[[7]])
    with pytest.raises(ValueError, match=r"dense\.faiss is missing"):
        VectorIndex.load(tmp_path)
