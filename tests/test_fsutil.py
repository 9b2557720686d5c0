"""Folders that appear whole or not at all, and never at the cost of the folder that was there."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from airgap import fsutil
from airgap.fsutil import StagedFolder, place


def _write(work: Path) -> None:
    (work / "sub").mkdir()
    (work / "sub" / "new.txt").write_text("new")


def _old(tmp_path: Path) -> Path:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    return dest


def test_a_staged_folder_appears_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    staged = StagedFolder(tmp_path / "dest")
    with staged as work:
        _write(work)
        assert not (tmp_path / "dest").exists()
    assert (tmp_path / "dest" / "sub" / "new.txt").read_text() == "new"
    assert staged.moved_aside is None
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]


def test_an_existing_folder_is_refused_without_force(tmp_path: Path) -> None:
    dest = _old(tmp_path)
    with pytest.raises(FileExistsError), StagedFolder(dest):
        pytest.fail("the block must not run")
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]


def test_with_force_the_old_folder_is_moved_aside_and_kept(tmp_path: Path) -> None:
    dest = _old(tmp_path)
    staged = StagedFolder(dest, force=True)
    with staged as work:
        _write(work)
    aside = staged.moved_aside
    assert aside is not None and aside.name.startswith("dest.before-")
    assert (aside / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in dest.iterdir()) == ["sub"]


def test_an_error_in_the_block_leaves_the_old_folder_as_it_was(tmp_path: Path) -> None:
    dest = _old(tmp_path)
    staged = StagedFolder(dest, force=True)
    with pytest.raises(RuntimeError), staged as work:
        _write(work)
        raise RuntimeError("half way")
    assert staged.moved_aside is None
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]
    assert [p.name for p in dest.iterdir()] == ["mine.txt"]


def test_a_failed_rename_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = _old(tmp_path)
    rename = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if self.name.startswith(".dest."):  # the staged folder, not the old one
            raise OSError(28, "No space left on device")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    staged = StagedFolder(dest, force=True)
    with pytest.raises(OSError, match="No space"), staged as work:
        _write(work)
    assert staged.moved_aside is None
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]
    assert [p.name for p in dest.iterdir()] == ["mine.txt"]


def _finished(folder: Path, name: str, text: str) -> Path:
    """A finished temporary file, as a caller has it before :func:`place`."""
    path = folder / f".{name}.tmp"
    path.write_text(text)
    return path


def test_place_puts_every_file_at_its_name_and_keeps_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "b.sig").write_text("old signature")
    moves = [
        (_finished(tmp_path, "a", "archive"), tmp_path / "a"),
        (_finished(tmp_path, "b.sig", "signature"), tmp_path / "b.sig"),
    ]
    place(moves)
    assert (tmp_path / "a").read_text() == "archive"
    assert (tmp_path / "b.sig").read_text() == "signature"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b.sig"]


def test_place_without_replace_refuses_a_file_that_is_there(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("mine")
    temporary = _finished(tmp_path, "a", "new")
    with pytest.raises(FileExistsError):
        place([(temporary, tmp_path / "a")], replace=False)
    assert (tmp_path / "a").read_text() == "mine" and temporary.read_text() == "new"


def test_a_failed_rename_puts_back_what_was_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second of three renames fails: the first target has its earlier file back, the
    one that had none has none, the third was never touched, and no kept copy is left."""
    (tmp_path / "a").write_text("old a")
    (tmp_path / "c").write_text("old c")
    moves = [
        (_finished(tmp_path, "a", "new a"), tmp_path / "a"),
        (_finished(tmp_path, "b", "new b"), tmp_path / "b"),
        (_finished(tmp_path, "c", "new c"), tmp_path / "c"),
    ]
    renamed = fsutil._rename

    def second_fails(temporary: Path, target: Path, *, replace: bool) -> None:
        if target.name == "b":
            raise OSError(errno.EIO, "I/O error", str(target))
        renamed(temporary, target, replace=replace)

    monkeypatch.setattr(fsutil, "_rename", second_fails)
    with pytest.raises(OSError, match="I/O error"):
        place(moves)
    assert (tmp_path / "a").read_text() == "old a"
    assert not (tmp_path / "b").exists()
    assert (tmp_path / "c").read_text() == "old c"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.tmp", ".c.tmp", "a", "c"]
