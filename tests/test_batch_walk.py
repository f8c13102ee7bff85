"""Discovery's walk: each file's real path and relative path made per folder, as realpath and relpath make them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from spinecheck.alignment.batch.archive import _inside, _rel, _walk


def _walk_per_file(top: str, skip: set[str], links_out: list[str]) -> list[tuple[str, str, str]]:
    """The walk with a realpath, an islink, an isfile and a relpath for every file."""
    out = []
    real_top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and os.path.realpath(os.path.join(dirpath, d)) not in skip
        )
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path) and not _inside(os.path.realpath(path), real_top):
                links_out.append(path)
                continue
            if os.path.isfile(path):
                out.append((path, _rel(path, top), os.path.realpath(path)))
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    real = tmp_path / "real"
    for folder in ("a", "a/b", "c", ".hidden", "skipped"):
        (real / folder).mkdir(parents=True)
    for f in ("x.dcm", "x.json", "a/y.dcm", "a/b/z.dcm", "a/b/z.mat", "c/w é.png", ".h.dcm", ".hidden/q.dcm"):
        (real / f).write_bytes(b"data")
    (real / "skipped" / "s.dcm").write_bytes(b"data")
    outside = tmp_path / "outside.dcm"
    outside.write_bytes(b"secret")
    (real / "c" / "in.dcm").symlink_to(
        real / "a" / "y.dcm"
    )  # a link inside: followed, its target's real path
    (real / "c" / "rel.json").symlink_to(Path("..", "x.json"))
    (real / "c" / "out.dcm").symlink_to(outside)  # out of the archive: not followed
    (real / "c" / "broken.dcm").symlink_to(real / "missing.dcm")
    (real / "c" / "dir").symlink_to(real / "a", target_is_directory=True)  # folder links are not walked
    os.mkfifo(real / "c" / "pipe.dcm")  # not a file
    (tmp_path / "root").symlink_to(real, target_is_directory=True)  # the archive reached through a link
    return tmp_path


@pytest.mark.parametrize("top", ["real", "root"])
def test_the_walk_gives_what_realpath_and_relpath_give(tree, top):
    skip = {os.path.realpath(tree / "real" / "skipped")}
    links_a: list[str] = []
    links_b: list[str] = []
    got = list(_walk(str(tree / top), skip, links_a))
    assert got == _walk_per_file(str(tree / top), skip, links_b)
    assert links_a == links_b == [str(tree / top / "c" / "out.dcm")]
    rels = [rel for _, rel, _ in got]
    assert "c/w é.png" in rels and "c/in.dcm" in rels and "a/b/z.mat" in rels
    assert not any(
        r.startswith((".", "skipped", "c/dir")) or r.endswith(("broken.dcm", "pipe.dcm")) for r in rels
    )
    assert dict((rel, real) for _, rel, real in got)["c/in.dcm"] == os.path.realpath(
        tree / "real" / "a" / "y.dcm"
    )
