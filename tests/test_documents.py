"""qa.documents: list/add/delete/rebuild with FakeEmbedder; bad files change nothing."""

from __future__ import annotations

import threading

import pytest

from qa.config import Settings
from qa.documents import DocumentLibrary, check_name
from qa.errors import InputError, ModelError
from qa.stores.faiss import current_version, load_index
from qa.testing import FakeEmbedder

ARTICLE = ("Alibaba plant neue Rechenzentren in Europa. Der Konzern investiert 53 Milliarden "
           "Dollar in künstliche Intelligenz und Cloud.\n\nCEO Eddie Wu sprach in Hangzhou.")


@pytest.fixture()
def settings(tmp_path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alibaba.txt").write_text(ARTICLE, encoding="utf-8")
    (corpus / "tencent.md").write_text("# Tencent\n\nTencent stellt das Modell Hunyuan vor. "
                                       "Es soll mit DeepSeek konkurrieren.", encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                    embed_model="fake", max_file_bytes=10_000)


@pytest.fixture()
def lib(settings) -> DocumentLibrary:
    lib = DocumentLibrary(settings, FakeEmbedder())
    lib.rebuild()
    return lib


def uploads(tmp_path):
    d = tmp_path / "uploads"
    d.mkdir(exist_ok=True)
    return d


def state(settings: Settings) -> tuple[list[str], str | None, list[str]]:
    """What the corpus folder, the index pointer and the index hold."""
    files = sorted(p.name for p in settings.corpus_dir.iterdir())
    version = current_version(settings.index_dir)
    docs = sorted(d.source for d in load_index(settings.index_dir).documents) if version else []
    return files, version.name if version else None, docs


def test_list_shows_title_size_chunks(lib) -> None:
    infos = lib.list()
    assert [i.source for i in infos] == ["alibaba.txt", "tencent.md"]
    a = infos[0]
    assert a.title.startswith("Alibaba plant") and a.bytes == len(ARTICLE.encode())
    assert a.chunks >= 1
    assert infos[1].title == "Tencent" and infos[1].format == "md"


def test_add_good_files_copies_and_indexes(lib, settings, tmp_path) -> None:
    up = uploads(tmp_path)
    (up / "neu.html").write_text("<html><head><title>Neu</title><script>window.x=1</script>"
                                 "</head><body><p>ByteDance baut ein Rechenzentrum in Finnland."
                                 "</p></body></html>", encoding="utf-8")
    (up / "zwei.txt").write_text("Moonshot AI veröffentlicht Kimi K2 als offenes Modell.",
                                 encoding="utf-8")
    seen = []
    result = lib.add([up / "neu.html", up / "zwei.txt"], progress=lambda d, t: seen.append((d, t)))
    assert result.ok and result.added == ["neu.html", "zwei.txt"], result.summary()
    files, _, docs = state(settings)
    assert "neu.html" in files and "zwei.txt" in files
    assert docs == ["alibaba.txt", "neu.html", "tencent.md", "zwei.txt"]
    assert seen and seen[-1][0] == seen[-1][1]
    assert (settings.corpus_dir / "zwei.txt").read_bytes() == (up / "zwei.txt").read_bytes()
    doc = lib.document("neu.html")
    assert doc.title == "Neu" and "window.x" not in doc.text
    # only the new chunks were embedded
    assert result.report.embedded_chunks == 2
    assert not [p for p in settings.corpus_dir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name, content, reason", [
    ("leer.txt", b"", "empty"),
    ("binaer.txt", b"\x00\x01\x02binary" * 10, "binary"),
    ("gross.txt", b"Wort " * 5000, "too large"),
    ("bild.png", b"\x89PNG....", "not a readable image"),
    ("archiv.zip", b"PK\x03\x04....", "unsupported file type"),
    ("kaputt.pdf", b"not a pdf at all", "not a PDF"),
    ("markup.html", b"<html><body><script>x()</script></body></html>", "no article text"),
])
def test_bad_file_changes_nothing(lib, settings, tmp_path, name, content, reason) -> None:
    up = uploads(tmp_path)
    (up / "gut.txt").write_text("Ein guter Artikel über Baidu und ERNIE.", encoding="utf-8")
    (up / name).write_bytes(content)
    before = state(settings)
    result = lib.add([up / "gut.txt", up / name])
    assert not result.ok and result.added == []
    assert [r.name for r in result.rejected] == [name]
    assert reason in result.rejected[0].reason
    assert "nothing was added" in result.summary() and name in result.summary()
    assert state(settings) == before  # no file copied, same index version
    assert not [p for p in settings.corpus_dir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["../boese.txt", "a/b.txt", "..\\x.txt", ".versteckt.txt",
                                  "..", "", "zeile\nzwei.txt", "x" * 300 + ".txt"])
def test_names_that_would_escape_are_refused(lib, settings, tmp_path, name) -> None:
    up = uploads(tmp_path)
    (up / "ok.txt").write_text("Ein Artikel über Xiaomi und Autos.", encoding="utf-8")
    before = state(settings)
    result = lib.add([(up / "ok.txt", name)])
    assert not result.ok and result.rejected[0].name == name
    assert state(settings) == before
    assert not (tmp_path / "boese.txt").exists()


def test_check_name() -> None:
    assert check_name(" Bericht (1).txt ") == "Bericht (1).txt"
    for bad in ["/etc/x.txt", "a/../b.txt", ".x.txt", "x.exe"]:
        with pytest.raises(ValueError):
            check_name(bad)


def test_clash_refused_unless_replace(lib, settings, tmp_path) -> None:
    up = uploads(tmp_path)
    new = "Alibaba plant jetzt Rechenzentren in Afrika und investiert weiter."
    (up / "alibaba.txt").write_text(new, encoding="utf-8")
    before = state(settings)
    result = lib.add([up / "alibaba.txt"])
    assert not result.ok and "exists already" in result.rejected[0].reason
    assert state(settings) == before
    result = lib.add([up / "alibaba.txt"], replace=True)
    assert result.ok and result.replaced == ["alibaba.txt"]
    assert (settings.corpus_dir / "alibaba.txt").read_text(encoding="utf-8") == new
    assert "Afrika" in lib.document("alibaba.txt").text
    trashed = list((settings.data_dir / "trash").iterdir())
    assert len(trashed) == 1 and trashed[0].read_text(encoding="utf-8") == ARTICLE


def test_same_name_twice_in_one_batch(lib, tmp_path) -> None:
    up = uploads(tmp_path)
    (up / "a.txt").write_text("Erster Artikel über Huawei.", encoding="utf-8")
    result = lib.add([up / "a.txt", (up / "a.txt", "a.txt")])
    assert not result.ok and "twice" in result.rejected[0].reason


def test_failed_indexing_restores_everything(lib, settings, tmp_path) -> None:
    class Failing(FakeEmbedder):
        def embed(self, texts, kind):
            raise ModelError("embedder crashed")

    up = uploads(tmp_path)
    (up / "neu.txt").write_text("Ein neuer Artikel über Zhipu AI und GLM.", encoding="utf-8")
    (up / "alibaba.txt").write_text("Ganz neuer Text zu Alibaba und Qwen.", encoding="utf-8")
    before = state(settings)
    broken = DocumentLibrary(settings, Failing())
    with pytest.raises(ModelError):
        broken.add([up / "neu.txt", up / "alibaba.txt"], replace=True)
    assert state(settings) == before
    assert (settings.corpus_dir / "alibaba.txt").read_text(encoding="utf-8") == ARTICLE


def test_delete_moves_file_to_trash(lib, settings) -> None:
    result = lib.delete("tencent.md")
    assert result.trashed is not None and result.trashed.parent == settings.data_dir / "trash"
    assert result.trashed.read_text(encoding="utf-8").startswith("# Tencent")
    files, _, docs = state(settings)
    assert files == ["alibaba.txt"] and docs == ["alibaba.txt"]
    assert [i.source for i in lib.list()] == ["alibaba.txt"]
    with pytest.raises(InputError, match="no document"):
        lib.delete("tencent.md")
    with pytest.raises(InputError, match="only document"):
        lib.delete("alibaba.txt")
    with pytest.raises(InputError):
        lib.delete("../../etc/passwd")
    assert state(settings)[2] == ["alibaba.txt"]


def test_rebuild_picks_up_the_folder(lib, settings) -> None:
    (settings.corpus_dir / "hand.txt").write_text("Von Hand kopiert: Baidu zeigt ERNIE 4.5.",
                                                  encoding="utf-8")
    (settings.corpus_dir / "kaputt.txt").write_bytes(b"")
    report, skipped = lib.rebuild()
    assert report.wrote and [s.path for s in skipped] == ["kaputt.txt"]
    assert state(settings)[2] == ["alibaba.txt", "hand.txt", "tencent.md"]


def test_add_without_index_builds_from_folder(settings, tmp_path) -> None:
    lib = DocumentLibrary(settings, FakeEmbedder())
    assert lib.list() == []
    up = uploads(tmp_path)
    (up / "neu.txt").write_text("Ein neuer Artikel über SenseTime.", encoding="utf-8")
    assert lib.add([up / "neu.txt"]).ok
    assert state(settings)[2] == ["alibaba.txt", "neu.txt", "tencent.md"]


def test_concurrent_adds_lose_nothing(lib, settings, tmp_path) -> None:
    up = uploads(tmp_path)
    names = [f"artikel{i}.txt" for i in range(6)]
    for i, n in enumerate(names):
        (up / n).write_text(f"Artikel Nummer {i} über das Unternehmen Nummer {i}.",
                            encoding="utf-8")
    errors = []

    def add(n: str) -> None:
        try:
            assert DocumentLibrary(settings, FakeEmbedder()).add([up / n]).ok
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert state(settings)[2] == sorted(["alibaba.txt", "tencent.md", *names])


def test_missing_upload_is_reported(lib, tmp_path) -> None:
    result = lib.add([tmp_path / "gibtsnicht.txt"])
    assert not result.ok and "does not exist" in result.rejected[0].reason
    with pytest.raises(InputError):
        lib.add([])

