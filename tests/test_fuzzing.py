"""The fuzzing suite that stays (issue 13, point 5): a short deterministic campaign of every reader.

Each reader (landmark JSON, wide CSV, AASCE ``.mat``, 3D Slicer ``.mrk.json``, DICOM of each
transfer syntax, PNG/JPEG/TIFF) gets a fixed set of mutated inputs (``tests/fuzzing.py``), each run
through the API and the command line in a forked child with a memory limit and a timeout. The
oracle is not "no exception": a run is a clean error (a ``SpinecheckError``; exit 2 with one
``error:`` line) or a result whose numbers keep the invariants (``fuzzing.judge``). The longer
campaign is ``python bench/fuzz.py``.

Each finding of a campaign becomes a test of its own below. The harness itself is tested first: an
oracle that cannot fail would prove nothing.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import fuzzing
import pytest
from fuzzing import Case, Expect, Outcome
from hypothesis import given, settings
from hypothesis import strategies as st

#: Cases per reader and mode in CI (fixed seed): about 25 s for all on two cores.
CASES = 30
SEED = 13
BAD = (Outcome.INTERNAL_ERROR, Outcome.CRASH, Outcome.SILENT_WRONG)

needs_shared = pytest.mark.skipif(not (fuzzing.SHARED / "dicom").is_dir(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> fuzzing.Seeds:
    s = fuzzing.make_seeds(tmp_path_factory.mktemp("seeds"), real_films=False)
    fuzzing.warm_up(s)
    return s


_CAMPAIGNS: dict[str, list[fuzzing.Result]] = {}


def _campaign(reader: str, seeds: fuzzing.Seeds) -> list[fuzzing.Result]:
    if reader not in _CAMPAIGNS:
        _CAMPAIGNS[reader] = fuzzing.campaign(fuzzing.generate(reader, seeds, CASES, SEED))
    return _CAMPAIGNS[reader]


def _bad(results: list[fuzzing.Result], outcomes=BAD, expects: tuple[Expect, ...] | None = None) -> list[str]:
    chosen = [r for r in results if expects is None or r.case.expect in expects]
    return fuzzing.failures(chosen, outcomes)


# ----------------------------------------------------------------------------- the harness itself


def _case(kind: str = "study", expect: Expect = Expect.ANY) -> Case:
    return Case("test", "test", kind, {"lm.json": b"{}"}, "lm.json", expect)


def _boom_abort(*_):
    os.abort()


def _boom_value(*_):
    raise ValueError("a bug")


def _boom_memory(*_):
    return bytearray(8 * 1024**3)


def _boom_sleep(*_):
    time.sleep(60)


@pytest.mark.parametrize(
    ("boom", "outcome", "said"),
    [
        pytest.param(_boom_abort, Outcome.CRASH, "SIGABRT", id="abort"),
        pytest.param(_boom_value, Outcome.INTERNAL_ERROR, "ValueError", id="exception"),
        pytest.param(_boom_memory, Outcome.INTERNAL_ERROR, "MemoryError", id="memory-bomb"),
        pytest.param(_boom_sleep, Outcome.CRASH, "timeout", id="timeout"),
    ],
)
def test_the_child_classifies_what_would_kill_the_caller(monkeypatch, boom, outcome, said):
    monkeypatch.setattr(fuzzing, "_api", boom)
    result = fuzzing.run_case(_case(), "api", timeout=2.0, memory=1024**3)
    assert (result.outcome, said in result.detail) == (outcome, True), result.detail


@pytest.mark.parametrize(
    ("code", "stderr", "outcome"),
    [
        pytest.param(2, b"error: landmarks file 'a.json': bad\n", Outcome.CLEAN_ERROR, id="one-line"),
        pytest.param(2, b"warning: x\nerror: bad\n", Outcome.INTERNAL_ERROR, id="two-lines"),
        pytest.param(2, b"bad\n", Outcome.INTERNAL_ERROR, id="no-error-prefix"),
        pytest.param(2, b"error: internal error: KeyError\n", Outcome.INTERNAL_ERROR, id="internal-said"),
        pytest.param(1, b"error: internal error: KeyError: 'x'\n", Outcome.INTERNAL_ERROR, id="exit-1"),
        pytest.param(3, b"", Outcome.CRASH, id="exit-3"),
    ],
)
def test_command_line_exits_are_classified(code, stderr, outcome):
    status = code << 8  # a wait status: exited with *code*
    assert fuzzing.classify(_case(), "cli", status, {"exit": code}, b"", stderr)[0] is outcome


def test_a_signal_is_a_crash():
    assert fuzzing.classify(_case(), "cli", 6, {}, b"", b"")[0] is Outcome.CRASH  # SIGABRT


def _study(**values: float | None) -> dict:
    units = {k: ("mm" if k in ("SVA", "cSVA") else "deg") for k in values}
    return {"view": "lateral", "values": values, "units": units, "warnings": [], "graded_withheld": []}


@pytest.mark.parametrize(
    ("study", "wrong"),
    [
        pytest.param(_study(PI=55.0, PT=22.0, SS=33.0), "", id="pi-equals-pt-plus-ss"),
        pytest.param(_study(PI=55.0, PT=22.0, SS=33.0 + 2e-6), "PI", id="pi-off-by-2e-6"),
        pytest.param(_study(PI=55.0, PT=22.0, SS=33.0 + 0.5e-6), "", id="pi-off-by-0.5e-6"),
        pytest.param(_study(PI=55.0, LL=40.0, PI_LL=15.0), "", id="pi-ll"),
        pytest.param(_study(PI=55.0, LL=40.0, PI_LL=-15.0), "PI_LL", id="pi-ll-sign"),
        pytest.param(_study(PO=-178.0), "", id="angle-178"),
        pytest.param(_study(PO=180.0), "", id="angle-180"),
        pytest.param(_study(PO=180.001), "PO", id="angle-over-180"),
        pytest.param(_study(SVA=1400.0), "", id="mm-at-bound"),
        pytest.param(_study(SVA=1400.001), "SVA", id="mm-over-bound"),
        pytest.param(_study(SVA=5.6e202), "SVA", id="mm-absurd"),
        pytest.param(_study(SVA=float("inf")), "SVA", id="mm-infinite"),
        pytest.param(_study(SVA=None, PI=None), "", id="withheld"),
    ],
)
def test_study_invariants_known_answers(study, wrong):
    problem = fuzzing.study_invariants(study)
    assert problem.startswith(wrong) if wrong else problem == ""


def test_a_grade_on_a_withheld_value_is_wrong():
    study = {**_study(PI_LL=None), "graded_withheld": ["srs_schwab.pi_ll"]}
    assert "srs_schwab.pi_ll" in fuzzing.study_invariants(study)


@pytest.mark.parametrize(
    ("expect", "factor", "got", "warnings", "wrong"),
    [
        pytest.param(Expect.SAME, 1.0, {"PI": 55.0, "SVA": 45.0}, [], False, id="same"),
        pytest.param(Expect.SAME, 1.0, {"PI": -50.9, "SVA": 45.0}, [], True, id="changed-silently"),
        pytest.param(
            Expect.SAME, 1.0, {"PI": -50.9, "SVA": 45.0}, ["suspect S1"], False, id="changed-warned"
        ),
        pytest.param(Expect.SAME, 1.0, {"PI": None, "SVA": 45.0}, [], False, id="withheld"),
        pytest.param(Expect.SCALED, 0.2, {"PI": 55.0, "SVA": 9.0}, [], False, id="scaled"),
        pytest.param(Expect.SCALED, 0.2, {"PI": 55.0, "SVA": 45.0}, [], True, id="not-scaled"),
        pytest.param(Expect.SCALED, 0.2, {"PI": 54.0, "SVA": 9.0}, [], True, id="angle-moved"),
        pytest.param(Expect.REFUSED, 1e-300, {"PI": 55.0, "SVA": None}, [], False, id="refused-mm-withheld"),
        pytest.param(Expect.REFUSED, 1e-300, {"PI": 55.0, "SVA": 0.0}, [], True, id="refused-but-shown"),
    ],
)
def test_expectations_known_answers(expect, factor, got, warnings, wrong):
    case = Case("t", "t", "study", {}, "lm.json", expect, {}, factor)
    reference = [{**_study(PI=55.0, SVA=45.0)}]
    result = [{**_study(**got), "warnings": warnings}]
    assert bool(fuzzing.judge(case, result, reference)) is wrong


def test_a_film_the_oracle_rejects():
    film = {
        "rows": 10,
        "columns": 5,
        "shape": [10, 5],
        "pixels": "a",
        "mm_per_px": [0.2, 0.2],
        "finite": True,
    }
    case = Case("t", "t", "film", {}, "f.dcm", Expect.SAME_PIXELS, {}, 1.0)
    assert fuzzing.judge(case, film, film) == ""
    assert fuzzing.judge(case, {**film, "pixels": "b"}, film)
    assert fuzzing.judge(case, {**film, "shape": [9, 5]}, film)
    assert fuzzing.judge(case, {**film, "mm_per_px": [0.4, 0.4]}, film)  # not the reference's spacing
    any_film = Case("t", "t", "film", {}, "f.dcm")
    assert fuzzing.judge(any_film, {**film, "mm_per_px": [0.0199, 0.2]}, None)
    assert fuzzing.judge(any_film, {**film, "mm_per_px": [2.0, 0.02]}, None) == ""
    assert fuzzing.judge(any_film, {**film, "mm_per_px": [2.01, 0.2]}, None)


def test_cases_are_deterministic(seeds):
    for reader in fuzzing.READERS:
        first, again = fuzzing.generate(reader, seeds, 5, SEED), fuzzing.generate(reader, seeds, 5, SEED)
        assert first == again


def test_the_seeds_themselves_are_ok(seeds):
    cases = [
        Case(
            "json",
            "seed",
            "study",
            {"a.json": seeds.lateral_json},
            "a.json",
            Expect.SAME,
            {"a.json": seeds.lateral_json},
        ),
        Case("csv", "seed", "study", {"t.csv": seeds.csv}, "t.csv", Expect.SAME, {"t.csv": seeds.csv}),
        Case("mat", "seed", "study", {"a.mat": seeds.mat}, "a.mat", Expect.SAME, {"a.mat": seeds.mat}),
        Case("dicom", "seed", "film", {"f.dcm": seeds.films["lateral_rle"]}, "f.dcm"),
    ]
    for result in fuzzing.campaign(cases):
        assert result.outcome is Outcome.OK, (result.mode, result.case.reader, result.detail)


def test_the_installed_command_agrees_with_the_forked_one(seeds):
    """The fast path (cli.main in a forked child) and a real ``spinecheck`` process give the same outcomes."""
    cases = [
        Case("json", "seed", "study", {"a.json": seeds.lateral_json}, "a.json"),
        Case("json", "broken", "study", {"a.json": seeds.lateral_json[:50]}, "a.json"),
        Case("dicom", "truncated", "film", {"f.dcm": seeds.films["lateral_jls"][:3000]}, "f.dcm"),
    ]
    for case in cases:
        forked, process = fuzzing.run_case(case, "cli"), fuzzing.run_subprocess(case)
        assert forked.outcome is process.outcome, (forked.detail, process.detail)
    assert [fuzzing.run_case(c, "cli").outcome for c in cases] == [
        Outcome.OK,
        Outcome.CLEAN_ERROR,
        Outcome.CLEAN_ERROR,
    ]


# ----------------------------------------------------------------------------- the campaign

#: Outcome classes by what the case expects: parameters of a label change, calibration, film geometry, invariants.
CLASSES = {
    "invariants": (Expect.ANY,),
    "labels": (Expect.SAME,),
    "calibration": (Expect.SCALED, Expect.REFUSED),
    "geometry": (Expect.SAME_PIXELS,),
}


@pytest.mark.parametrize(
    "reader",
    [
        "json",
        "csv",
        "mat",
        "slicer",
        "dicom",
        "picture",
    ],
)
def test_no_input_crashes_or_fails_internally(seeds, reader):
    bad = _bad(_campaign(reader, seeds), (Outcome.INTERNAL_ERROR, Outcome.CRASH))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("reader", "kind"),
    [
        ("json", "invariants"),
        ("json", "labels"),
        ("json", "calibration"),
        ("csv", "invariants"),
        ("csv", "labels"),
        ("csv", "calibration"),
        ("mat", "invariants"),
        ("mat", "labels"),
        ("slicer", "invariants"),
        ("slicer", "labels"),
        ("dicom", "invariants"),
        ("dicom", "calibration"),
        ("dicom", "geometry"),
        ("picture", "invariants"),
        ("picture", "geometry"),
    ],
)
def test_no_silent_wrong_numbers(seeds, reader, kind):
    results = [r for r in _campaign(reader, seeds) if r.case.expect in CLASSES[kind]]
    assert results, f"no {kind} case among the {reader} cases: the test would prove nothing"
    bad = _bad(results, (Outcome.SILENT_WRONG,))
    assert not bad, "\n".join(bad)


def test_every_reader_gives_clean_errors_and_results(seeds):
    """The campaign reaches both ends of every reader: some mutations are refused, some still measure."""
    for reader in fuzzing.READERS:
        outcomes = {r.outcome for r in _campaign(reader, seeds)}
        assert {Outcome.CLEAN_ERROR, Outcome.OK} <= outcomes, (reader, outcomes)


@needs_shared
def test_real_films_of_each_transfer_syntax(tmp_path):
    """The NEMA films of ../shared/data: header edits and byte damage, through the API and the command line."""
    s = fuzzing.make_seeds(tmp_path)
    cases = fuzzing.generate("dicom", s, 200, SEED)
    real = [c for c in cases if c.mutation.startswith("RG2_")][:24]
    bad = fuzzing.failures(fuzzing.campaign(real), (Outcome.CRASH, Outcome.INTERNAL_ERROR))
    assert not bad, "\n".join(bad)


# ----------------------------------------------------------------------------- the findings


def _swap(raw: bytes, a: str, b: str) -> Case:
    d = json.loads(raw)
    d["points"][a], d["points"][b] = d["points"][b], d["points"][a]
    return Case(
        "json",
        f"swap {a} {b}",
        "study",
        {"lm.json": fuzzing._dump(d)},
        "lm.json",
        Expect.SAME,
        {"lm.json": raw},
    )


@pytest.mark.parametrize("mode", ["api", "cli"])
@pytest.mark.parametrize(
    ("view", "a", "b"),
    [
        pytest.param("lateral", "S1.sup.ant", "L5.inf.post", id="S1-L5"),  # PI -50.9, SS -77.7, LL -70.7
        pytest.param("ap", "IC.left", "IC.right", id="iliac-crests"),  # pelvic obliquity -178
        pytest.param("lateral", "FH.left", "S1.sup.post", id="head-sacrum"),
        pytest.param("ap", "T8.sup.left", "T8.inf.right", id="one-vertebra-diagonal"),
    ],
)
def test_a_swapped_pair_is_withheld_warned_or_harmless(seeds, mode, view, a, b):
    raw = seeds.lateral_json if view == "lateral" else seeds.ap_json
    result = fuzzing.run_case(_swap(raw, a, b), mode)
    assert result.outcome in (Outcome.OK, Outcome.CLEAN_ERROR), result.detail


@pytest.mark.parametrize("mode", ["api", "cli"])
@pytest.mark.parametrize(
    "mm_per_px", [1e-300, 1e200, 0.0199, 2.01], ids=["1e-300", "1e200", "below", "above"]
)
def test_an_implausible_calibration_gives_no_distance(seeds, mode, mm_per_px):
    d = json.loads(seeds.lateral_json)
    d["calibration"] = {"mm_per_px": [mm_per_px, mm_per_px]}
    case = Case(
        "json",
        "spacing",
        "study",
        {"lm.json": fuzzing._dump(d)},
        "lm.json",
        Expect.REFUSED,
        {"lm.json": seeds.lateral_json},
        mm_per_px,
    )
    result = fuzzing.run_case(case, mode)
    assert result.outcome in (Outcome.OK, Outcome.CLEAN_ERROR), result.detail


@pytest.mark.parametrize("mm_per_px", [0.02, 2.0, 0.139], ids=["at-low-bound", "at-high-bound", "typical"])
def test_a_plausible_calibration_scales_every_distance_exactly(seeds, mm_per_px):
    d = json.loads(seeds.lateral_json)
    d["calibration"] = {"mm_per_px": [mm_per_px, mm_per_px]}
    case = Case(
        "json",
        "spacing",
        "study",
        {"lm.json": fuzzing._dump(d)},
        "lm.json",
        Expect.SCALED,
        {"lm.json": seeds.lateral_json},
        mm_per_px,
    )
    for mode in ("api", "cli"):
        result = fuzzing.run_case(case, mode)
        assert result.outcome is Outcome.OK, (mode, result.detail)


def test_a_wide_csv_point_with_an_x_and_no_y_is_absent(seeds):
    """The issue: an x with an empty y decided which way the patient faced (SVA +12 or -12 mm by that x)."""
    import csv as csv_module
    import io

    header, *body = list(csv_module.reader(io.StringIO(seeds.csv.decode())))
    row = next(i for i, r in enumerate(body) if r[header.index("view")] == "lateral")
    names = sorted({h[:-2] for h in header if h.endswith(".x") and body[row][header.index(h)]})
    cases = []
    for name in sorted(set(names[::3]) | {"S1.sup.ant", "S1.sup.post"} & set(names)):
        x, y = header.index(name + ".x"), header.index(name + ".y")
        reference = [list(r) for r in body]
        reference[row][x] = reference[row][y] = ""
        for shift in (-5000.0, 5000.0):
            mutated = [list(r) for r in body]
            mutated[row][x], mutated[row][y] = repr(shift), ""
            cases.append(
                Case(
                    "csv",
                    f"{name}.x = {shift}, no y",
                    "study",
                    {"t.csv": fuzzing._csv_bytes([header, *mutated])},
                    "t.csv",
                    Expect.SAME,
                    {"t.csv": fuzzing._csv_bytes([header, *reference])},
                )
            )
    bad = fuzzing.failures(fuzzing.campaign(cases, ("api",)))
    assert not bad, "\n".join(bad)


def test_single_swaps_on_the_generated_films_are_never_silent(seeds):
    """A fixed sample of the issue's campaign (295 of 9 901 swaps changed a number silently); all: bench/fuzz.py."""
    cases = random.Random(SEED).sample(fuzzing.all_swaps(seeds), 60)
    bad = fuzzing.failures(fuzzing.campaign(cases, ("api",)))
    assert not bad, "\n".join(bad)


@needs_shared
def test_a_rotated_vertebra_in_a_real_aasce_label_is_not_graded_silently():
    """The issue: one vertebra's corners one place round gave Cobb_max 90.2 deg (33.6 before), silently."""
    cases = fuzzing.aasce_permutations()
    sample = [c for c in cases if c.mutation.startswith(cases[0].mutation.split(" rotate")[0])]
    bad = fuzzing.failures(fuzzing.campaign(sample, ("api",)))
    assert not bad, "\n".join(bad)


def test_the_curve_type_is_withheld_with_cobb_max(seeds, tmp_path):
    """A suspect vertebra withholds Cobb_max, and with it the curve type (835 silent runs of bench/fuzz.py).

    C2 and C4 fail the check; the curves T5-T11 and T11-L4, out of their reach, stay measured but were
    still typed N. The type says why it is withheld.
    """
    from spinecheck.alignment import assess
    from spinecheck.alignment.render.curves import curves_by_region
    from spinecheck.alignment.study import load_study

    d = json.loads(seeds.ap_json)
    d["points"]["C2.inf.left"], d["points"]["C4.sup.right"] = (
        d["points"]["C4.sup.right"],
        d["points"]["C2.inf.left"],
    )
    path = tmp_path / "swapped-c2-c4.json"
    path.write_bytes(fuzzing._dump(d))
    study = load_study(str(path))
    m = study.measurements
    assert [c["angle_deg"] for c in m.curves.curves(0)] == pytest.approx([18.0, 26.0])  # measured, kept
    row = next(r for r in assess(m).rows(0) if r["id"] == "srs_schwab.curve_type")
    assert row["applied"] is False and row.get("category") is None, row
    assert row["reason"].startswith("Cobb_max withheld (landmark check failed: C2: "), row["reason"]
    # the region columns agree: the measured curves stay, an empty region is not "no curve" but withheld
    regions = curves_by_region(study, 0)
    assert [regions[r]["angle_deg"] for r in ("MT", "TL/L")] == pytest.approx([18.0, 26.0])
    assert regions["PT"]["angle_deg"] is None
    assert regions["PT"]["note"].startswith("withheld: landmark check failed: C2: "), regions["PT"]
    path.write_bytes(seeds.ap_json)
    assert curves_by_region(load_study(str(path)), 0)["PT"]["note"] == "no curve with apex T3-T5"


# ----------------------------------------------------------------------------- property-based


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=400), suffix=st.sampled_from([".json", ".csv", ".mat", ".mrk.json"])
)
def test_arbitrary_bytes_are_a_clean_error_or_a_right_result(seeds, data, suffix):
    case = Case("bytes", "hypothesis", "study", {"a" + suffix: data}, "a" + suffix)
    result = fuzzing.run_case(case, "api")
    assert result.outcome in (Outcome.CLEAN_ERROR, Outcome.OK), result.detail


@settings(max_examples=30, derandomize=True, deadline=None)
@given(
    point=st.integers(0, 10_000),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.none(), st.booleans()
    ),
    axis=st.integers(0, 1),
)
def test_any_coordinate_is_a_clean_error_or_a_right_result(seeds, point, value, axis):
    d = json.loads(seeds.lateral_json)
    name = sorted(d["points"])[point % len(d["points"])]
    d["points"][name][axis] = value
    case = Case("json", f"{name}[{axis}] = {value!r}", "study", {"a.json": fuzzing._dump(d)}, "a.json")
    result = fuzzing.run_case(case, "api")
    assert result.outcome in (Outcome.CLEAN_ERROR, Outcome.OK), result.detail


def test_the_pixels_of_an_edit_outside_the_pixel_data_are_the_same(seeds):
    """Zero bytes appended after a DICOM file: the same pixels (or a clean refusal), whatever the syntax."""
    for name in sorted(seeds.films):
        raw = seeds.films[name]
        case = Case(
            "dicom",
            f"{name} + 1 MiB",
            "film",
            {"f.dcm": raw + bytes(1 << 20)},
            "f.dcm",
            Expect.SAME_PIXELS,
            {"f.dcm": raw},
        )
        result = fuzzing.run_case(case, "api")
        assert result.outcome in (Outcome.OK, Outcome.CLEAN_ERROR), (name, result.detail)


# ----------------------------------------------------------------------------- the campaign's own findings


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_random_bytes_after_a_dicom_file_are_bounded(seeds, mode):
    """bench/fuzz.py, seed 1: 4 MiB of random bytes appended to a film ended in MemoryError (2 GiB allowed)."""
    junk = bytes(random.Random(0).randrange(256) for _ in range(64)) * 65536
    raw = seeds.films["lateral_explicit"]
    case = Case(
        "dicom",
        "4 MiB random appended",
        "film",
        {"f.dcm": raw + junk},
        "f.dcm",
        Expect.SAME_PIXELS,
        {"f.dcm": raw},
    )
    result = fuzzing.run_case(case, mode)
    assert result.outcome in (Outcome.OK, Outcome.CLEAN_ERROR), result.detail


@needs_shared
@pytest.mark.parametrize("mode", ["api", "cli"])
def test_bits_allocated_32_on_a_jpeg_lossless_film_does_not_abort(mode):
    """bench/fuzz.py, seed 1: the real RG2_JPLL with Bits Allocated 32 killed the process with SIGABRT."""
    import io

    import pydicom

    raw = (fuzzing.SHARED / "dicom" / "RG2_JPLL").read_bytes()
    ds = pydicom.dcmread(io.BytesIO(raw))
    ds.BitsAllocated = 32
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    case = Case("dicom", "BitsAllocated 32", "film", {"f.dcm": buffer.getvalue()}, "f.dcm", Expect.SAME_PIXELS,
                {"f.dcm": raw})  # fmt: skip
    result = fuzzing.run_case(case, mode)
    assert result.outcome in (Outcome.OK, Outcome.CLEAN_ERROR), result.detail


def test_bits_allocated_32_on_an_8_bit_baseline_jpeg_is_refused_before_decoding():
    """GDCM aborts on any JPEG (10918) stream under Bits Allocated 32, 8-bit baseline too (pydicom-data)."""
    import io

    import pydicom
    from pydicom.data import get_testdata_file

    raw = Path(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm")).read_bytes()
    ds = pydicom.dcmread(io.BytesIO(raw))
    ds.BitsAllocated = 32
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    case = Case("dicom", "BitsAllocated 32", "film", {"f.dcm": buffer.getvalue()}, "f.dcm", Expect.SAME_PIXELS,
                {"f.dcm": raw})  # fmt: skip
    result = fuzzing.run_case(case, "api")
    assert result.outcome is Outcome.CLEAN_ERROR, result.detail
    assert "disagree with the header: its JPEG stream's samples are stor" in result.detail, result.detail


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_a_png_declaring_fewer_rows_than_its_data_is_refused(seeds, mode):
    """bench/fuzz.py, seed 1: film.png with IHDR 360 x 1 (900 rows of data) gave a 1 x 360 film, exit 0."""
    import struct
    import zlib

    raw = seeds.pictures["film.png"]
    ihdr = struct.pack(">II", 360, 1) + raw[24:29]
    data = raw[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + raw[33:]
    case = Case(
        "picture",
        "IHDR 360x1",
        "picture",
        {"film.png": data},
        "film.png",
        Expect.SAME_PIXELS,
        {"film.png": raw},
    )
    result = fuzzing.run_case(case, mode)
    assert result.outcome is Outcome.CLEAN_ERROR, result.detail
    assert "the pixel data disagree with the header: its image data hold more" in result.detail, result.detail


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_a_damaged_meta_group_is_one_line_without_a_pydicom_warning(seeds, mode):
    """bench/fuzz.py, seed 1: RG2_J2KI with one header byte flipped (the SOP Class UID's length 26 -> 90).

    The UID swallows the next elements and the Pixel Data go; naming the SOP class validated the long
    UID, and pydicom's warning went to stderr above the error line.
    """
    raw = seeds.films["lateral_explicit"]
    at = raw.index(b"\x02\x00\x02\x00UI", 128) + 6  # (0002,0002) Media Storage SOP Class UID: its length
    data = bytearray(raw)
    data[at] += 64
    case = Case("dicom", "SOP Class UID length + 64", "film", {"f.dcm": bytes(data)}, "f.dcm")
    result = fuzzing.run_case(case, mode)
    assert result.outcome in (Outcome.CLEAN_ERROR, Outcome.OK), result.detail
    assert "valuerep" not in result.detail and "UserWarning" not in result.detail, result.detail


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_a_length_past_the_end_of_the_file_is_not_allocated(seeds, mode):
    """bench/fuzz.py, seed 2: RG2_RLE with header bits flipped, one length made about 2 GiB: MemoryError.

    Here the Rows element of an implicit-VR film claims 0x80000002 bytes; reading stops there and the
    film is refused as a damaged header, without allocating what the length says.
    """
    raw = seeds.films["lateral_implicit"]
    at = raw.index(b"\x28\x00\x10\x00\x02\x00\x00\x00") + 7  # (0028,0010) Rows, length 2: its top byte
    data = bytearray(raw)
    data[at] = 0x80
    case = Case("dicom", "Rows length 0x80000002", "film", {"f.dcm": bytes(data)}, "f.dcm")
    result = fuzzing.run_case(case, mode)
    assert result.outcome is Outcome.CLEAN_ERROR, result.detail
    assert "without pixel d" in result.detail, result.detail  # "... without pixel data after N elements"


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize(
    ("mode", "size"), [("L", (37, 23)), ("I;16", (5, 3)), ("RGB", (1, 9)), ("RGBA", (9, 1)), ("1", (13, 7))]
)
def test_png_excess_counts_the_data_a_png_declares(tmp_path, mode, size, interlace):
    """Pillow's own PNGs fit their IHDR exactly, plain or interlaced; one row fewer in IHDR does not."""
    import io
    import struct
    import zlib

    import numpy as np
    from PIL import Image
    from spinecheck.landmarks.imaging.codestream import png_excess

    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", interlace=interlace)
    raw = buffer.getvalue()
    assert png_excess(io.BytesIO(raw)) is None
    ihdr = struct.pack(">II", size[0], size[1] - 1) + raw[24:29]
    shorter = raw[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + raw[33:]
    assert size[1] == 1 or "its image data hold more than" in png_excess(io.BytesIO(shorter))
