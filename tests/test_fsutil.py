"""Folders that appear whole or not at all, and never at the cost of the folder that was there."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgap.fsutil import StagedFolder


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
