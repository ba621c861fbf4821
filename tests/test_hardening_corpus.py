"""Issue 11 regressions at the corpus boundary: symlinks, UTF-16/32 files, control characters in
file names. Everything is made in a temporary folder by the test."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from qa.corpus import load_corpus, printable

TEXT = "Alibaba baut neue Rechenzentren in Europa. Die Größe wächst schnell."


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a.txt").write_text(TEXT, encoding="utf-8")
    return d


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash und mehr Worte.")
    (d / "notes.md").write_text("# Notizen\n\nEigene Notizen über Qwen und Alibaba.")
    return d


def test_symlinks_leaving_the_corpus_are_not_followed(corpus: Path, outside: Path) -> None:
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "inside.txt").symlink_to(corpus / "a.txt")  # inside the corpus: fine
    (corpus / "dangling.txt").symlink_to(corpus / "gone.txt")
    result = load_corpus([corpus])
    assert sorted(d.source for d in result.documents) == ["a.txt", "inside.txt"]
    reasons = {s.path: s.reason for s in result.skipped}
    assert "outside the corpus folder" in reasons["passwd.txt"]
    assert "follow_symlinks" in reasons["passwd.txt"]
    assert "folder outside the corpus folder" in reasons["linked"]
    assert "broken symbolic link" in reasons["dangling.txt"]
    assert not any("root:x" in d.text for d in result.documents)


def test_follow_symlinks_allows_linked_folders(corpus: Path, outside: Path) -> None:
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)  # must not walk forever
    result = load_corpus([corpus], follow_symlinks=True)
    assert sorted(d.source for d in result.documents) == [
        "a.txt", "linked/notes.md", "linked/secret.txt", "passwd.txt"]
    assert not result.skipped


def test_a_corpus_folder_that_is_itself_a_link_is_walked(tmp_path: Path, corpus: Path) -> None:
    link = tmp_path / "articles"
    link.symlink_to(corpus, target_is_directory=True)
    assert [d.source for d in load_corpus([link]).documents] == ["a.txt"]


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    TEXT.encode("utf-16-le"),
    TEXT.encode("utf-16-be"),
    TEXT.encode("utf-32"),  # with BOM
    TEXT.encode("utf-32-le"),
    TEXT.encode("utf-32-be"),
    ("\r\n".join([TEXT] * 3)).encode("utf-16"),  # as Notepad writes it
], ids=["utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "utf32-bom", "utf32le", "utf32be",
        "utf16-crlf"])
def test_utf16_and_utf32_files_are_read(corpus: Path, data: bytes) -> None:
    (corpus / "wide.txt").write_bytes(data)
    result = load_corpus([corpus])
    assert not result.skipped
    wide = next(d for d in result.documents if d.source == "wide.txt")
    assert wide.text.startswith(TEXT) and "\x00" not in wide.text and "\ufeff" not in wide.text


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02binary" * 10,
    bytes(range(256)) * 8,
    codecs.BOM_UTF16_LE + b"\x00\xd8\x00\xd8" * 20,  # unpaired surrogates: not UTF-16
])
def test_binary_files_keep_their_reason(corpus: Path, data: bytes) -> None:
    (corpus / "bin.txt").write_bytes(data)
    result = load_corpus([corpus])
    assert [s.path for s in result.skipped] == ["bin.txt"]
    assert "binary" in result.skipped[0].reason


@pytest.mark.parametrize("name", ["red\x1b[31m.txt", "clear\x1b[2J.md", "cod\u202etxt.exe.txt",
                                  "two\nlines.txt", "bell\x07.txt"])
def test_control_characters_in_names_are_refused_and_shown_escaped(corpus: Path,
                                                                   name: str) -> None:
    try:
        (corpus / name).write_text(TEXT)
    except OSError:
        pytest.skip("the file system refuses this name")
    result = load_corpus([corpus])
    assert [d.source for d in result.documents] == ["a.txt"]
    [skipped] = result.skipped
    assert "control characters" in skipped.reason
    assert skipped.path == printable(name) and skipped.path.isprintable()
    assert str(skipped).isprintable()


def test_the_ui_and_ingest_refuse_the_same_names() -> None:
    from qa.corpus import _bad_name
    from qa.documents import check_name

    for name in ["red\x1b[31m.txt", "cod\u202etxt.exe.txt", "two\nlines.txt", "ok name.txt"]:
        try:
            check_name(name)
            ui_refuses = False
        except ValueError:
            ui_refuses = True
        assert ui_refuses == (_bad_name(name) is not None), name


def test_fifo_is_not_read(corpus: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(corpus / "pipe.txt")
    result = load_corpus([corpus / "pipe.txt"])  # named explicitly: must not block
    assert result.skipped and "not a regular file" in result.skipped[0].reason
    assert [d.source for d in load_corpus([corpus]).documents] == ["a.txt"]
