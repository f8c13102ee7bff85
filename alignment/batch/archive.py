"""An archive on disk: find every radiograph under a folder and the landmark file of each.

:func:`discover` walks a folder tree once and returns an :class:`Archive`: the
studies to measure (:class:`StudyJob`, an image and its landmark file) and the
rows decided without measuring (:class:`Unmeasured`: images without landmarks,
ambiguous pairings, landmark files whose image is not there), so that nothing
in the archive silently disappears from the batch table.

What counts as what:

- **images**: DICOM recognised by content whatever the name (``DICM`` at byte
  128, or a data set without preamble; :func:`spinecheck.landmarks.imaging.radiograph.looks_like_dicom`),
  files named ``.dcm``/``.dicom``/``.dic`` (an unreadable one becomes an
  ``error`` row), and pictures by extension (``.png``, ``.jpg``, ``.jpeg``,
  ``.tif``, ``.tiff``), except a PNG figure spinecheck wrote (the demo's
  ``lateral.png``, a ``plot``'s), told by its ``Software`` text
  (:mod:`~spinecheck.landmarks.imaging.own_figures`) and ignored;
- **landmark files**: ``.json`` files of format ``spinecheck-landmarks/1``
  (a ``.json`` that is not JSON at all counts too, so that its row says what is
  wrong with it), 3D Slicer point lists named ``.mrk.json`` (placed on the
  film's pixels as 3D Slicer shows the paired film) and SpineWeb/AASCE ``.mat``
  label files;
- everything else, and hidden files and folders (names starting with ``.``),
  is ignored.

Symbolic links. A link to a file is followed when the file it leads to lies inside the
walked folder (the archive root, or ``landmarks_dir`` for its own walk), and never when it
leads out of it: a link in an archive to ``/etc/...`` or ``/proc/self/environ`` is not
read, and is counted in :attr:`Archive.links_out` (the batch summary says how many).
Links to folders are not followed at all (a folder reached through a link inside the
root is walked by its own path; one outside it is outside the archive), so no loop can
form. A file is never quoted in a row: an unreadable one is named, never shown.

Pairing, in order; the first rule that finds a candidate decides:

1. beside the image: for ``x.dcm``, ``x.json``, ``x.landmarks.json``,
   ``x.dcm.json``, ``x.mrk.json``, ``x.mat`` or ``x.dcm.mat`` in the same folder (and
   ``../labels/x.dcm.mat`` for an image in an ``images`` folder, the AASCE
   layout);
2. under ``landmarks_dir``: the same names at the image's relative path,
   then the same names anywhere under it. A file found only by name is a
   weaker claim: it is never taken when it lies at another image's relative
   path (that image's exact match wins) or records another SOP Instance UID,
   and a file in another sub-folder is taken only when it records this
   image's UID (a file at the top of ``landmarks_dir``, a flat folder, needs
   no UID); otherwise the image stays unpaired and its row names the file;
3. the SOP Instance UID that a landmark file records
   (``image.sop_instance_uid``), for DICOM images and landmark files not
   paired otherwise.

An exact place (rule 1, or rule 2's same relative path) is not taken when the
file there records a SOP Instance UID and the image is DICOM with another one:
those points were placed on another film. The image then goes on to the next
rules (another file under ``landmarks_dir`` or elsewhere may record its UID),
and the file is free for the film it names; an image that nothing pairs then
has an ``error`` row that names the file and both UIDs. The image's UID is read
(header only, once) just for the images whose exact file records one.

A match is never guessed. Several candidates for one image, or one landmark
file claimed by several images (duplicate stems such as ``x.dcm`` and
``x.png``), give ``error`` rows naming the candidates, unless the landmark
file's ``image.path`` names exactly one of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Sequence
from operator import attrgetter
from pathlib import Path, PurePosixPath

from ... import dataclass
from ...landmarks.imaging.own_figures import HEAD_BYTES as OWN_FIGURE_HEAD_BYTES
from ...landmarks.imaging.own_figures import is_own_figure
from ...landmarks.imaging.radiograph import looks_like_dicom, read_sop_instance_uid
from ...landmarks.io.checks import MAX_LANDMARK_FILE_BYTES, is_slicer_markups
from ...landmarks.points.names import VocabularyEnum

__all__ = [
    "IMAGE_SUFFIXES",
    "DICOM_SUFFIXES",
    "RowStatus",
    "StudyJob",
    "Unmeasured",
    "Archive",
    "discover",
    "uid_doubt",
    "landmark_claim",
    "row_key",
    "candidate_names",
]

#: Pictures, recognised by extension.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
#: Names that say DICOM; other DICOM files are recognised by content.
DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
#: How the row of an image without a landmark file begins (``--detect`` measures such images).
NO_LANDMARKS = "no landmark file"
_LANDMARK_FORMAT = "spinecheck-landmarks/"
_HEAD_BYTES = 132


class RowStatus(VocabularyEnum):
    """The ``status`` column of the batch table (formats.md §3)."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


def row_key(image: str, landmarks: str) -> tuple[str, str]:
    """The identity of a batch-table row: its image, or its landmark file when it has no image.

    >>> row_key("a/x.dcm", "a/x.json"), row_key("", "labels/y.json")
    (('image', 'a/x.dcm'), ('landmarks', 'labels/y.json'))
    """
    return ("image", image) if image else ("landmarks", landmarks)


@dataclass(frozen=True)
class StudyJob:
    """One study to measure: an image and its landmark file.

    Attributes
    ----------
    image : str
        The image as written in the table: relative to the archive root, POSIX.
    landmarks : str
        The landmark file as written in the table: relative to the root when it
        lies under it, else the ``landmarks_dir`` given joined with its path there.
    image_path, landmarks_path : str
        Absolute paths, for reading (also on other machines of a cluster that
        mount the archive at the same place).
    expected_uid : str or None
        The SOP Instance UID the landmark file records, when discovery paired
        them by name without reading the image's (``discover(...,
        defer_uid_checks=True)``): whoever reads the film compares the two
        (:func:`uid_doubt`). None when there is nothing left to compare.
    landmarks_unread : bool
        Discovery paired them by names without opening the landmark file
        (``discover(..., read_landmarks=False)``): whoever reads it tells whether
        it is a landmark file and which UID it records (:func:`landmark_claim`),
        and compares that UID with the film's as for *expected_uid*.
    """

    image: str
    landmarks: str
    image_path: str
    landmarks_path: str
    expected_uid: str | None = None
    landmarks_unread: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """See :func:`row_key`."""
        return row_key(self.image, self.landmarks)


@dataclass(frozen=True)
class Unmeasured:
    """A row decided without measuring: ``skipped`` (nothing to pair) or ``error`` (ambiguous).

    Attributes
    ----------
    image, landmarks : str
        As in :class:`StudyJob`; empty when there is none.
    status : RowStatus
    reason : str
    """

    image: str
    landmarks: str
    status: RowStatus
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        """See :func:`row_key`."""
        return row_key(self.image, self.landmarks)


@dataclass(frozen=True)
class Archive:
    """What :func:`discover` found.

    Attributes
    ----------
    root : str
        The folder walked, as given.
    jobs : tuple of StudyJob
        Sorted by image.
    unmeasured : tuple of Unmeasured
        Sorted by image, then landmark file.
    ignored : int
        Files that are neither images nor landmark files.
    links_out : int
        Symbolic links that lead out of the walked folder, not followed.
    """

    root: str
    jobs: tuple[StudyJob, ...]
    unmeasured: tuple[Unmeasured, ...]
    ignored: int
    links_out: int = 0

    def __len__(self) -> int:
        return len(self.jobs) + len(self.unmeasured)

    def detecting(self) -> Archive:
        """The archive with each image that has no landmark file made a job of the landmark model.

        Such a job's ``landmarks`` and ``landmarks_path`` are empty: the worker finds the
        points with the model (``spinecheck batch --detect``). An image whose landmark
        files are ambiguous or refused keeps its error row: a person's file is never
        replaced by the model's.
        """
        detect = [
            u
            for u in self.unmeasured
            if u.status is RowStatus.SKIPPED
            and u.image
            and not u.landmarks
            and u.reason.startswith(NO_LANDMARKS)
        ]
        if not detect:
            return self
        jobs = [StudyJob(u.image, "", os.path.abspath(os.path.join(self.root, u.image)), "") for u in detect]
        return dataclasses.replace(
            self,
            jobs=tuple(sorted([*self.jobs, *jobs], key=lambda j: j.image)),
            unmeasured=tuple(u for u in self.unmeasured if u not in detect),
        )


@dataclass(frozen=True)
class _Landmarks:
    path: str  # absolute
    shown: str  # as written in the table
    declared_image: str | None  # basename of image.path in the file
    sop_instance_uid: str | None
    unread: bool = False  # a .json not opened yet: what it declares and records is not known


@dataclass(frozen=True)
class _Image:
    path: str  # absolute
    rel: str  # POSIX, relative to the root
    dicom: bool


def discover(
    root: str | os.PathLike[str],
    *,
    landmarks_dir: str | os.PathLike[str] | None = None,
    exclude: Iterable[str | os.PathLike[str]] = (),
    defer_uid_checks: bool = False,
    read_landmarks: bool = True,
) -> Archive:
    """Find every image under *root* and pair it with its landmark file.

    Parameters
    ----------
    root : str or path-like
        The archive folder, walked recursively (symbolic links to folders are
        not followed).
    landmarks_dir : str or path-like, optional
        A separate folder of landmark files (rule 2 of the module notes).
    exclude : iterable of path-like
        Folders not to walk (the batch's own figure folder).
    defer_uid_checks : bool
        Pair by names without opening the films: a file at an image's exact place
        that records a SOP Instance UID is taken, and the job carries the UID
        (:attr:`StudyJob.expected_uid`) for the worker, which reads the film anyway,
        to compare (:func:`uid_doubt`). Where the names alone leave a doubt (such
        a file among several candidates, or claimed by several images), the UIDs
        are read here as without this option. When every deferred comparison
        holds, the archive is the one found without it (``spinecheck batch``
        pairs again without it when one does not: see ``runner.run_batch``).
    read_landmarks : bool
        False (with *defer_uid_checks*): pair by names without opening the ``.json``
        landmark files either. A file that is the one candidate of one image, at its
        exact place, is left unread (:attr:`StudyJob.landmarks_unread`: the worker,
        which reads it anyway, tells whether it is a landmark file and compares the
        UID it records, :func:`landmark_claim`); every other ``.json`` file, whose
        content may decide a pairing (several candidates, a file found by name under
        *landmarks_dir*, a file no image takes), is read here. When every file left
        unread is a landmark file recording no other film's UID, the archive is the
        one found with them read. 3D Slicer ``.mrk.json`` files are always read.

    Returns
    -------
    Archive

    Raises
    ------
    NotADirectoryError
        *root* or *landmarks_dir* is not a folder.
    """
    root_s = os.fspath(root)
    if not os.path.isdir(root_s):
        raise NotADirectoryError(f"archive '{root_s}': not a folder")
    root_abs = os.path.abspath(root_s)
    skip = {os.path.realpath(os.fspath(p)) for p in exclude}
    images: list[_Image] = []
    marks: dict[str, _Landmarks] = {}
    ignored = 0
    links_out: list[str] = []  # symbolic links out of the walked folder, not followed
    lazy = defer_uid_checks and not read_landmarks
    for path, rel, real in _walk(root_abs, skip, links_out):
        kind, obj = _classify(path, parse=not lazy)
        if kind == "image" or kind == "dicom":
            images.append(_Image(path, rel, kind == "dicom"))
        elif kind == "landmarks":
            marks[real] = _landmarks_info(path, rel, obj)
        else:
            ignored += 1
    dir_abs = dir_shown = None
    if landmarks_dir is not None:
        dir_s = os.fspath(landmarks_dir)
        if not os.path.isdir(dir_s):
            raise NotADirectoryError(f"landmarks_dir '{dir_s}': not a folder")
        dir_abs = os.path.abspath(dir_s)
        dir_shown = _rel(dir_abs, root_abs) if _inside(dir_abs, root_abs) else Path(dir_s).as_posix()
        for path, rel, real in _walk(dir_abs, skip, links_out):
            if real in marks:
                continue
            kind, obj = _classify(path, parse=not lazy)
            if kind == "landmarks":
                shown = (
                    _rel(path, root_abs)
                    if _inside(path, root_abs)
                    else (PurePosixPath(Path(dir_s).as_posix()) / rel).as_posix()
                )
                marks[real] = _landmarks_info(path, shown, obj)
    while True:
        archive, must_read = _pair(root_s, dir_abs, dir_shown, images, marks, ignored, defer_uid_checks)
        if not must_read:
            return dataclasses.replace(archive, links_out=len(links_out))
        for real in must_read:  # the names leave a doubt that these files' content settles: read them
            m = marks[real]
            obj = _load_json(m.path)
            if _is_landmark_json(obj):
                marks[real] = _landmarks_info(m.path, m.shown, obj)
            else:
                del marks[real]
                ignored += 1


# ----------------------------------------------------------------------------- walking and classifying


def _walk(top: str, skip: set[str], links_out: list[str]) -> Iterable[tuple[str, str, str]]:
    """Every non-hidden file under *top* as (absolute path, POSIX path relative to *top*, real path), sorted.

    A symbolic link whose target lies outside *top* is not yielded but added to
    *links_out*; links to folders are not followed (:func:`os.walk`'s default). The real
    path (:func:`os.path.realpath`) of a file that is no link is its folder's and its name:
    one ``lstat`` a file and the folder's paths once, not a ``realpath`` and a ``relpath`` for
    each file (a tenth of a millisecond per study, issue 17, 4).
    """
    real_top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and os.path.realpath(os.path.join(dirpath, d)) not in skip
        )
        real_dir = os.path.realpath(dirpath)
        rel_dir = _rel(dirpath, top)
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        # os.path.join(dirpath, name) and os.path.join(real_dir, name): each folder joined once (issue 17, 4)
        in_dir, in_real_dir = os.path.join(dirpath, ""), os.path.join(real_dir, "")
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = in_dir + name
            try:
                mode = os.lstat(path).st_mode
            except (OSError, ValueError):  # gone since the folder was listed
                continue
            if stat.S_ISLNK(mode):
                real = os.path.realpath(path)
                if not _inside(real, real_top):
                    links_out.append(path)
                    continue
                if not os.path.isfile(path):
                    continue
            elif stat.S_ISREG(mode):
                real = in_real_dir + name
            else:
                continue
            yield path, prefix + name, real


def _rel(path: str, top: str) -> str:
    return Path(os.path.relpath(path, top)).as_posix()


def _inside(path: str, top: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), top]) == top


def _classify(path: str, *, parse: bool = True) -> tuple[str | None, object]:
    """What the file is (``"image"``, ``"dicom"``, ``"landmarks"`` or None); and a ``.json`` file's content.

    A ``.json`` file is parsed here once; :func:`_landmarks_info` reads its
    image reference from the parsed content. Without *parse*, a ``.json`` file
    (not a Slicer point list) is taken for a landmark file, unread (:data:`_UNREAD`).
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".png" and _own_figure(path):
        return None, None  # a figure spinecheck drew (a demo's, a plot's) is no film
    if suffix in IMAGE_SUFFIXES:
        return "image", None
    if suffix in DICOM_SUFFIXES:
        return "dicom", None
    if suffix == ".mat":
        return "landmarks", None
    if suffix == ".json":
        if not parse and not is_slicer_markups(path):
            return "landmarks", _UNREAD
        obj = _load_json(path)
        # a Slicer point list is told by its name, as read_landmarks tells it
        return ("landmarks" if is_slicer_markups(path) or _is_landmark_json(obj) else None), obj
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return None, None
    return ("dicom" if looks_like_dicom(head) else None), None


def _own_figure(path: str) -> bool:
    """Whether the PNG at *path* is a figure spinecheck wrote (its first chunks only are read)."""
    try:
        with open(path, "rb") as f:
            return is_own_figure(f.read(OWN_FIGURE_HEAD_BYTES))
    except OSError:
        return False  # read as a film: its row says why it cannot be


_NOT_JSON = object()
#: A ``.json`` file discovery has not opened (``discover(..., read_landmarks=False)``).
_UNREAD = object()


def _load_json(path: str) -> object:
    """A ``.json`` file's content, or :data:`_NOT_JSON` (the study's row then says what is wrong).

    Bounded: a file larger than any landmark file is not read here, and JSON nested beyond
    Python's stack (200 000 brackets) is a broken file, not the end of the batch.
    """
    try:
        if os.path.getsize(path) > MAX_LANDMARK_FILE_BYTES:
            return _NOT_JSON
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError):
        return _NOT_JSON


def _is_landmark_json(obj: object) -> bool:
    """A landmark file, or a ``.json`` too broken to tell (its row will say what is wrong)."""
    if obj is _NOT_JSON:
        return True
    fmt = obj.get("format") if isinstance(obj, dict) else None
    return isinstance(fmt, str) and fmt.startswith(_LANDMARK_FORMAT)


def _landmarks_info(path: str, shown: str, obj: object) -> _Landmarks:
    """A landmark file as pairing sees it; *obj* is a ``.json`` file's parsed content (None for others)."""
    if obj is _UNREAD:
        return _Landmarks(path, shown, None, None, unread=True)
    declared = uid = None
    image = obj.get("image") if isinstance(obj, dict) else None
    if is_slicer_markups(path) and isinstance(obj, dict):  # the image spinecheck recorded beside the points
        markups = obj.get("markups")
        blocks = (
            [m.get("spinecheck") for m in markups if isinstance(m, dict)] if isinstance(markups, list) else []
        )
        image = next((b.get("image") for b in blocks if isinstance(b, dict)), None)
    if isinstance(image, dict):
        if isinstance(image.get("path"), str) and image["path"]:
            declared = PurePosixPath(image["path"].replace("\\", "/")).name
        if isinstance(image.get("sop_instance_uid"), str) and image["sop_instance_uid"].strip():
            uid = image["sop_instance_uid"].strip()
    return _Landmarks(path, shown, declared, uid)


def landmark_claim(path: str, obj: object = _NOT_JSON) -> tuple[bool, str | None]:
    """What discovery makes of a ``.json`` file's content: a landmark file or not, and the UID it records.

    For whoever reads a file that discovery left unread (:attr:`StudyJob.landmarks_unread`).

    Parameters
    ----------
    path : str
        The file (a 3D Slicer ``.mrk.json`` is a landmark file by its name).
    obj : object
        Its decoded JSON; left out when it could not be decoded (discovery takes such
        a file for a landmark file, whose row says what is wrong with it).

    Returns
    -------
    (bool, str or None)
        Whether discovery counts the file as a landmark file, and the SOP Instance UID
        it records (``image.sop_instance_uid``), None when none.

    Examples
    --------
    >>> landmark_claim("x.json", {"format": "spinecheck-landmarks/1", "image": {"sop_instance_uid": "1.2"}})
    (True, '1.2')
    >>> landmark_claim("x.json", {"format": "other"}), landmark_claim("x.json")
    ((False, None), (True, None))
    """
    if not (is_slicer_markups(path) or _is_landmark_json(obj)):
        return False, None
    return True, _landmarks_info(path, "", obj).sop_instance_uid


# ----------------------------------------------------------------------------- pairing


def candidate_names(image_name: str) -> tuple[str, ...]:
    """Landmark-file names that belong to an image called *image_name*.

    >>> candidate_names("x.dcm")
    ('x.json', 'x.landmarks.json', 'x.dcm.json', 'x.mrk.json', 'x.mat', 'x.dcm.mat')
    >>> candidate_names("IM0001")
    ('IM0001.json', 'IM0001.landmarks.json', 'IM0001.mrk.json', 'IM0001.mat')
    """
    stem = os.path.splitext(image_name)[0] or image_name
    names = (
        f"{stem}.json",
        f"{stem}.landmarks.json",
        f"{image_name}.json",
        f"{stem}.mrk.json",
        f"{stem}.mat",
        f"{image_name}.mat",
    )
    return tuple(dict.fromkeys(names))


def _pair(
    root_s: str,
    dir_abs: str | None,
    dir_shown: str | None,
    images: Sequence[_Image],
    marks: dict[str, _Landmarks],
    ignored: int,
    defer: bool = False,
) -> tuple[Archive, set[str]]:
    """Pair *images* with *marks*; and the unread files (``_Landmarks.unread``) whose content may matter.

    An unread file is taken for a landmark file that declares no image and records no UID.
    Where the result does not depend on that (the file is the one candidate of one image, at
    its exact place), it stays unread and the job says so; the others are returned, to be read
    and paired again.
    """
    by_place: dict[str, str] = {os.path.normcase(m.path): real for real, m in marks.items()}
    by_name: dict[str, list[str]] = defaultdict(list)
    lm_folder: dict[str, str] = {}  # folder of a landmark file relative to landmarks_dir ("." at its top)
    if dir_abs is not None:
        for real, m in marks.items():
            if _inside(m.path, dir_abs):
                by_name[os.path.basename(m.path)].append(real)
                lm_folder[real] = PurePosixPath(_rel(m.path, dir_abs)).parent.as_posix()

    def at(folder: str, names: Sequence[str]) -> list[str]:
        # os.path.join(folder, n) for names without a separator: the folder joined once (issue 17, 4)
        prefix = os.path.join(folder, "")
        found = (by_place.get(os.path.normcase(prefix + n)) for n in names)
        return list(dict.fromkeys(r for r in found if r is not None))

    uid_cache: dict[str, str | None] = {}

    def image_uid(im: _Image) -> str | None:
        if im.rel not in uid_cache:
            uid_cache[im.rel] = read_sop_instance_uid(im.path) if im.dicom else None
        return uid_cache[im.rel]

    # files at an image's exact place that record another film's UID: not this image's (module notes)
    contradicted: dict[str, list[str]] = defaultdict(list)
    unchecked: set[tuple[str, str]] = set()  # (image, file) taken by name, the UIDs left to the worker

    def uncontradicted(im: _Image, found: list[str]) -> list[str]:
        kept = []
        for r in found:
            recorded = marks[r].sop_instance_uid
            if defer and recorded and im.dicom and im.rel not in uid_cache:
                unchecked.add((im.rel, r))
                kept.append(r)
                continue
            uid = image_uid(im) if recorded else None  # read only when there is something to check
            if uid and uid != recorded:
                if r not in contradicted[im.rel]:  # the image's folder may be --landmarks itself
                    contradicted[im.rel].append(r)
            else:
                kept.append(r)
        return kept

    # exact places first (rule 1, and rule 2's same relative path), for every image: a file found there
    # is that image's, and no other image may take it by name alone
    exact: dict[str, list[str]] = {}
    names_of: dict[str, tuple[str, tuple[str, ...]]] = {}  # each image's name and candidate names, made once
    for im in images:
        folder, name = os.path.split(im.path)
        names = candidate_names(name)
        names_of[im.rel] = name, names
        found = uncontradicted(im, at(folder, names))
        if not found and os.path.basename(folder) == "images":  # the AASCE layout
            found = uncontradicted(im, at(os.path.join(os.path.dirname(folder), "labels"), (f"{name}.mat",)))
        if not found and dir_abs is not None:
            place = os.path.join(dir_abs, *PurePosixPath(im.rel).parent.parts)
            found = uncontradicted(im, at(place, names))
        exact[im.rel] = found
    exact_owner: dict[str, list[str]] = defaultdict(list)
    for rel, found in exact.items():
        for r in found:
            exact_owner[r].append(rel)

    def doubt(im: _Image, r: str) -> str | None:
        """Why the landmark file *r*, found by name alone, is not this image's; None when nothing says so."""
        m = marks[r]
        if r in exact_owner:
            return f"{m.shown} has the same name but lies at the relative path of {', '.join(exact_owner[r])}"
        uid = image_uid(im) if m.sop_instance_uid else None
        if uid and m.sop_instance_uid:
            if uid == m.sop_instance_uid:
                return None
            return f"{m.shown} has the same name but records another SOP Instance UID ({m.sop_instance_uid})"
        folder = PurePosixPath(im.rel).parent.as_posix()
        if lm_folder[r] in (".", folder):  # a flat landmarks folder says nothing about where the image is
            return None
        target = (PurePosixPath(dir_shown or ".") / folder).as_posix() + "/"
        if m.sop_instance_uid:
            return (
                f"{m.shown} has the same name but lies under another folder, and its SOP Instance UID "
                f"cannot be checked against this image; move it to {target}"
            )
        return (
            f"{m.shown} has the same name but lies under another folder and records no SOP Instance UID; "
            f"move it to {target} or record the UID"
        )

    looked: dict[str, str] = {}  # where each image's landmark file was looked for, in the words of its row
    passed_over: dict[str, list[str]] = defaultdict(list)
    candidates: dict[str, list[str]] = {}
    for im in images:
        name, names = names_of[im.rel]
        found = list(exact[im.rel])
        where = "beside it"
        if dir_abs is not None:
            where = "beside it or in the landmarks folder"
            if not found:  # the same names anywhere under landmarks_dir: taken only when nothing contradicts
                refused_here = contradicted.get(im.rel, ())  # already refused at the exact place: said once
                for r in sorted({r for n in names for r in by_name.get(n, ()) if r not in refused_here}):
                    why = doubt(im, r)
                    if why is None:
                        found.append(r)
                    else:
                        passed_over[im.rel].append(why)
        looked[im.rel] = where
        candidates[im.rel] = _narrow(found, name, marks)

    claims: dict[str, list[_Image]] = defaultdict(list)
    for im in images:
        if len(candidates[im.rel]) == 1:
            claims[candidates[im.rel][0]].append(im)
    for real, claimants in claims.items():
        if len(claimants) > 1:
            named = [im for im in claimants if os.path.basename(im.path) == marks[real].declared_image]
            for im in claimants:
                if len(named) == 1 and im is not named[0]:
                    candidates[im.rel] = []

    jobs: list[StudyJob] = []
    rows: list[Unmeasured] = []
    used: set[str] = set()
    unpaired: list[_Image] = []
    unread = {real for real, m in marks.items() if m.unread}
    for im in images:
        found = candidates[im.rel]
        if not found:
            unpaired.append(im)
            continue
        used.update(found)
        if len(found) > 1:
            shown = ", ".join(marks[r].shown for r in found)
            rows.append(
                Unmeasured(
                    im.rel,
                    "",
                    RowStatus.ERROR,
                    f"ambiguous landmarks: {len(found)} landmark files match this image ({shown}); "
                    "keep one, or name the image in each file's image.path",
                )
            )
            continue
        others = [o for o in claims.get(found[0], ()) if o is not im and candidates[o.rel] == found]
        if others:
            rows.append(
                Unmeasured(
                    im.rel,
                    marks[found[0]].shown,
                    RowStatus.ERROR,
                    "ambiguous image: the landmark file also matches other images "
                    f"({', '.join(o.rel for o in others)}); "
                    "rename one image, or name the image in the landmark file's image.path",
                )
            )
            continue
        job = _job(im, marks[found[0]])
        if found[0] in unread and exact[im.rel] == found:  # its content decides nothing here: left unread
            unread.discard(found[0])
        if (im.rel, found[0]) in unchecked:
            job = dataclasses.replace(job, expected_uid=marks[found[0]].sop_instance_uid)
            unchecked.discard((im.rel, found[0]))
        jobs.append(job)
    if unchecked:  # a file taken by name alone that is not simply the image's job: the names leave a doubt
        if any(m.unread for m in marks.values()):  # pairing with the UIDs read needs every file's
            return Archive(root_s, (), (), ignored), {real for real, m in marks.items() if m.unread}
        return _pair(root_s, dir_abs, dir_shown, images, marks, ignored)
    if unread:
        return Archive(root_s, (), (), ignored), unread

    by_uid: dict[str, list[str]] = defaultdict(list)
    for real, m in marks.items():
        if real not in used and m.sop_instance_uid:
            by_uid[m.sop_instance_uid].append(real)
    uid_of = {im.rel: image_uid(im) for im in unpaired if im.dicom} if by_uid else {}
    uid_claims: dict[str, list[_Image]] = defaultdict(list)
    for im in unpaired:
        uid = uid_of.get(im.rel)
        if uid and uid in by_uid:
            uid_claims[uid].append(im)
    refused: list[_Image] = []  # unpaired, though a file at their exact place records another UID
    for im in unpaired:
        uid = uid_of.get(im.rel)
        found = by_uid.get(uid, []) if uid else []
        if not found and im.rel in contradicted:
            refused.append(im)
            continue
        if not found:
            hint = " or a landmark file with its SOP Instance UID" if by_uid and im.dicom else ""
            why = f"{NO_LANDMARKS} (looked for {', '.join(names_of[im.rel][1])} {looked[im.rel]}{hint})"
            if passed_over[im.rel]:
                why += "; " + "; ".join(passed_over[im.rel])
            rows.append(Unmeasured(im.rel, "", RowStatus.SKIPPED, why))
            continue
        used.update(found)
        twins = [o.rel for o in uid_claims[uid] if o is not im] if uid else []
        if len(found) > 1 or twins:
            what = (
                f"{len(found)} landmark files record its SOP Instance UID {uid} "
                f"({', '.join(marks[r].shown for r in found)})"
                if len(found) > 1
                else f"the images {', '.join([im.rel, *twins])} share SOP Instance UID {uid}"
            )
            rows.append(Unmeasured(im.rel, "", RowStatus.ERROR, f"ambiguous landmarks: {what}"))
            continue
        jobs.append(_job(im, marks[found[0]]))

    # a refused image's row names the files refused at its place; those not paired otherwise are not
    # listed again as landmarks without image
    named_in: dict[str, str] = {}
    for im in refused:
        files = contradicted[im.rel]
        free = [r for r in files if r not in used]
        used.update(free)
        named_in[im.rel] = marks[files[0]].shown if len(files) == 1 and free else ""

    orphans = [m for real, m in marks.items() if real not in used]
    # an orphan that records the UID of an image already paired by name is a second annotation of that
    # film (e.g. a refined copy): say so rather than "no image found"; likewise for refused files
    wanted = {m.sop_instance_uid for m in orphans if m.sop_instance_uid}
    wanted.update(u for im in refused for r in contradicted[im.rel] if (u := marks[r].sop_instance_uid))
    paired_by_uid: dict[str, StudyJob] = {}
    if wanted:
        image_of = {im.rel: im for im in images}
        for job in jobs:
            uid = image_uid(image_of[job.image])  # None for pictures and unreadable files
            if uid in wanted:
                paired_by_uid.setdefault(uid, job)
    measured_with = {job.landmarks_path: job for job in jobs}
    for im in refused:
        why = _refused(
            im, [marks[r] for r in contradicted[im.rel]], image_uid(im), paired_by_uid, measured_with
        )
        if passed_over[im.rel]:
            why += "; " + "; ".join(passed_over[im.rel])
        rows.append(Unmeasured(im.rel, named_in[im.rel], RowStatus.ERROR, why))
    for m in orphans:
        paired = paired_by_uid.get(m.sop_instance_uid or "")
        why = (
            f"another annotation of {paired.image} (same SOP Instance UID), which is measured with "
            f"{paired.landmarks}"
            if paired is not None
            else "no image found for these landmarks"
        )
        rows.append(Unmeasured("", m.shown, RowStatus.SKIPPED, why))
    jobs.sort(key=attrgetter("image"))
    rows.sort(key=lambda r: (r.image == "", r.image, r.landmarks))
    return Archive(root_s, tuple(jobs), tuple(rows), ignored), set()


def _refused(
    im: _Image,
    files: Sequence[_Landmarks],
    uid: str | None,
    paired_by_uid: dict[str, StudyJob],
    measured_with: dict[str, StudyJob],
) -> str:
    """Why an image is not measured: the files at its exact place record other films' UIDs (one line)."""
    said = []
    for m in files:
        film = measured_with.get(m.path) or paired_by_uid.get(m.sop_instance_uid or "")
        whose = ""
        if film is not None and film.image != im.rel:
            mine = film.landmarks_path == m.path
            whose = f", measured with '{film.image}'" if mine else f", that of '{film.image}'"
        said.append(f"SOP Instance UID {m.sop_instance_uid}{whose}")
    if len(files) == 1:
        what = (
            f"landmark file '{files[0].shown}' at this image's path was placed on another film "
            f"(it records {said[0]}; this image's is {uid})"
        )
    else:
        listed = ", ".join(f"'{m.shown}' ({x})" for m, x in zip(files, said, strict=True))
        what = (
            f"landmark files {listed} at this image's path were placed on other films "
            f"(this image's SOP Instance UID is {uid})"
        )
    return (
        f"{what}, and no other landmark file was found for it; "
        "put this film's landmarks there, or correct image.sop_instance_uid in the file"
    )


def _narrow(found: list[str], image_name: str, marks: dict[str, _Landmarks]) -> list[str]:
    """Of several candidates, the one whose ``image.path`` names this image, if exactly one does."""
    if len(found) <= 1:
        return found
    named = [r for r in found if marks[r].declared_image == image_name]
    return named if len(named) == 1 else found


def _job(im: _Image, m: _Landmarks) -> StudyJob:
    return StudyJob(im.rel, m.shown, im.path, m.path, landmarks_unread=m.unread)


def uid_doubt(job: StudyJob, film_uid: str | None) -> bool:
    """Tell whether the film's SOP Instance UID contradicts the one *job*'s landmark file records.

    For a job of ``discover(..., defer_uid_checks=True)``: *film_uid* is what the film's
    header says (None when it could not be read: then read here, header only). True means
    the pairing by names does not hold, and the archive must be paired again with the
    UIDs read (as :func:`discover` does by default).
    """
    if job.expected_uid is None:
        return False
    if film_uid is None:
        film_uid = read_sop_instance_uid(job.image_path)
    return bool(film_uid) and film_uid != job.expected_uid
