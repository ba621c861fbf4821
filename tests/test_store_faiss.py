"""The FAISS store against the store contract (``qa.testing.StoreContract``), plus what only
it has: versions that readers keep while a writer replaces them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa.stores.faiss import FaissBackend
from qa.testing import StoreContract


class TestFaissStoreContract(StoreContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> FaissBackend:
        return FaissBackend(tmp_path / "index")

    @pytest.fixture
    def reopen(self) -> Callable[[FaissBackend], FaissBackend]:
        return lambda backend: FaissBackend(backend.index_dir)


def test_a_reader_keeps_its_version_while_a_writer_replaces_it(tmp_path: Path) -> None:
    contract = StoreContract()
    backend = FaissBackend(tmp_path / "index")
    before = contract.write(backend, contract.records("a.txt"))
    after = contract.write(backend, contract.records("b.txt"), replace=True)
    q = contract.records("a.txt")[0].chunk_vectors[0]
    assert before.document_by_source("a.txt") is not None
    assert before.search(q, 1)[0][1] == pytest.approx(1.0, abs=1e-4)  # loads its own files now
    assert after.document_by_source("a.txt") is None


def test_the_manifest_names_the_store_and_its_dense_index(tmp_path: Path) -> None:
    contract = StoreContract()
    store = contract.write(FaissBackend(tmp_path / "index"), contract.records())
    assert store.manifest["store"] == "faiss" and store.manifest["dense"]
