"""Follow-up (issue 14, 6): films of one patient in time order, the patient check, the interval, the series."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from spinecheck.alignment.criteria.thresholds import parameter_thresholds
from spinecheck.alignment.followup import (
    DifferentPatientsError,
    Film,
    Interval,
    compare_studies,
    series_table,
)
from spinecheck.alignment.render.comparison import comparison_figure
from spinecheck.alignment.render.series import format_series_csv, series_figures
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError, InvalidLandmarksError
from spinecheck.landmarks.imaging.header import ImageFormat, RadiographHeader
from spinecheck.landmarks.io.landmark_file import write_landmarks
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import ImageRef, LandmarkSet, PatientInfo, Sex
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral, write_dicom
from test_curve_regions import THREE, ap_film, study_of

D = datetime.date


def header(study_date=None, *, acquisition_date=None, patient_id="P-1", birth_date=None) -> RadiographHeader:
    """A film's header as the loader reads it (no DICOM file needed)."""
    return RadiographHeader(
        path="film.dcm",
        format=ImageFormat.DICOM,
        rows=2000,
        columns=800,
        calibration=Calibration.from_spacing([1.0, 1.0]),
        study_date=study_date,
        acquisition_date=acquisition_date,
        patient_id=patient_id,
        birth_date=birth_date,
    )


def film(study_date=None, *, stated=None, sex=None, lm=None, **header_values) -> Film:
    """An AP film (the three-curve spine unless *lm*) dated by its header and, optionally, its landmark file."""
    lm = lm or ap_film(**THREE)
    lm = dataclasses.replace(lm, image=ImageRef(study_date=stated))
    if sex is not None:
        lm = dataclasses.replace(lm, patient=PatientInfo(sex=sex))
    return Film(study_of(lm), 0, header(study_date, **header_values))


# ----------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("start", "end", "days", "months", "text"),
    [
        pytest.param(D(2021, 6, 1), D(2021, 6, 1), 0, 0, "0 days", id="same-day"),
        pytest.param(D(2021, 6, 1), D(2021, 6, 2), 1, 0, "1 day", id="one-day"),
        pytest.param(D(2021, 3, 15), D(2021, 4, 14), 30, 0, "30 days", id="a-day-short-of-a-month"),
        pytest.param(D(2021, 3, 15), D(2021, 4, 15), 31, 1, "31 days (1 month)", id="one-month"),
        pytest.param(D(2021, 1, 31), D(2021, 2, 27), 27, 0, "27 days", id="before-the-end-of-february"),
        pytest.param(D(2021, 1, 31), D(2021, 2, 28), 28, 1, "28 days (1 month)", id="end-of-a-short-month"),
        pytest.param(D(2020, 1, 31), D(2020, 2, 29), 29, 1, "29 days (1 month)", id="leap-february"),
        pytest.param(D(2021, 1, 31), D(2021, 3, 30), 58, 1, "58 days (1 month)", id="march-30-after-jan-31"),
        pytest.param(
            D(2019, 3, 15), D(2020, 3, 15), 366, 12, "366 days (1 year)", id="one-year-over-a-leap-day"
        ),
        pytest.param(D(2020, 2, 29), D(2021, 2, 28), 365, 12, "365 days (1 year)", id="leap-day-anniversary"),
        pytest.param(
            D(2019, 3, 15), D(2020, 5, 14), 426, 13, "426 days (1 year 1 month)", id="year-and-month"
        ),
        pytest.param(
            D(2018, 7, 1), D(2020, 9, 30), 822, 26, "822 days (2 years 2 months)", id="years-plural"
        ),
    ],
)
def test_interval_in_days_and_completed_months(start, end, days, months, text):
    interval = Interval.between(start, end)
    assert (interval.days, interval.months, interval.text()) == (days, months, text)


def test_an_interval_backwards_is_refused():
    with pytest.raises(InvalidArgumentError, match="before the start"):
        Interval.between(D(2021, 2, 1), D(2021, 1, 31))


# ----------------------------------------------------------------------------- dates and order


def test_films_are_ordered_by_date_whatever_order_they_come_in():
    a, b, c = film(D(2024, 7, 1)), film(D(2024, 1, 1)), film(D(2025, 1, 15))
    fu = compare_studies([a, b, c])
    assert fu.films == (b, a, c) and fu.given == (1, 0, 2) and fu.by_date
    assert fu.days_from_first().tolist() == [0.0, 182.0, 380.0]
    assert fu.interval(0, 2).text() == "380 days (1 year)"
    assert fu.date_line(2) == (
        "2025-01-15 (DICOM Study Date); 198 days (6 months) after film 2, 380 days (1 year) after film 1"
    )
    assert fu.notes[0] == "films ordered by date (they were given in another order)"


def test_films_of_the_same_day_keep_the_order_given_and_say_so():
    a, b, c = film(D(2024, 1, 1)), film(D(2024, 3, 1)), film(D(2024, 3, 1))
    fu = compare_studies([c, b, a])
    assert fu.films == (a, c, b)
    assert "films 2 and 3 have the same date: kept in the order given" in fu.notes


def test_an_undated_film_keeps_the_order_given_and_is_named():
    a, b, c = film(D(2025, 1, 1)), film(None), film(D(2024, 1, 1))
    fu = compare_studies([a, b, c])
    assert fu.films == (a, b, c) and not fu.by_date and not fu.dated
    assert fu.notes[0] == "films in the order given: no date for 'film.dcm'"
    assert fu.interval(0, 1) is None and math.isnan(fu.days_from_first()[1])
    assert fu.date_line(1) == "date unknown"


def test_by_date_false_keeps_the_order_given():
    a, b = film(D(2025, 1, 1)), film(D(2024, 1, 1))
    fu = compare_studies([a, b], by_date=False)
    assert fu.films == (a, b) and fu.notes[0] == "films in the order given"
    assert fu.interval(0, 1) is None  # the later film first: no negative interval


def test_the_landmark_files_date_wins_and_a_disagreeing_header_is_noted():
    f = film(D(2024, 1, 1), stated=D(2023, 12, 30))
    assert f.date() == (
        D(2023, 12, 30),
        "landmark file image.study_date",
        "film.dcm: the landmark file's image.study_date is 2 days before the DICOM Study Date (dates not "
        "shown); the landmark file's date is used",
    )
    assert film(None, stated=D(2023, 12, 30)).date() == (
        D(2023, 12, 30),
        "landmark file image.study_date",
        None,
    )


def test_acquisition_date_when_there_is_no_study_date():
    assert film(None, acquisition_date=D(2022, 5, 6)).date() == (
        D(2022, 5, 6),
        "DICOM Acquisition Date",
        None,
    )
    assert film(D(2022, 5, 7), acquisition_date=D(2022, 5, 6)).date().source == "DICOM Study Date"
    lm = ap_film(**THREE)
    assert Film(study_of(lm)).date() == (None, None, None)  # no header, no date in the file


# ----------------------------------------------------------------------------- one patient?


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        pytest.param({"patient_id": "P-1"}, {"patient_id": "P-2"}, "Patient ID", id="patient-id"),
        pytest.param({"sex": Sex.F}, {"sex": Sex.M}, "sex", id="sex"),
        pytest.param(
            {"birth_date": D(1951, 4, 2)}, {"birth_date": D(1951, 4, 3)}, "birth date", id="birth-date"
        ),
    ],
)
def test_films_of_different_patients_are_refused_unless_allowed(first, second, field):
    a, b = film(D(2024, 1, 1), **first), film(D(2025, 1, 1), **second)
    with pytest.raises(DifferentPatientsError) as e:
        compare_studies([a, b])
    message = str(e.value)
    assert f"{field} differs" in message and "allow_different_patients" in message and "\n" not in message
    assert e.value.argument == "allow_different_patients"
    for value in ("P-1", "P-2", "1951", "'F'", "'M'"):
        assert value not in message  # the message names the field, never the values
    fu = compare_studies([a, b], allow_different_patients=True)
    assert fu.different_patients_allowed and f"compared although {field} differs" in fu.notes
    assert fu.identity_line().startswith("Same patient? DIFFERENT PATIENTS compared on request:")
    assert f"{field}: differs (films 1 and 2)" in fu.identity_line()


def test_the_same_patient_passes_and_unknown_fields_are_not_checked():
    a = film(D(2024, 1, 1), sex=Sex.F, birth_date=D(1951, 4, 2))
    b = film(D(2025, 1, 1), sex=Sex.F, patient_id=None)
    fu = compare_studies([a, b])
    assert [(c.field, c.status) for c in fu.identity] == [
        ("Patient ID", "not checked"),
        ("sex", "same"),
        ("birth date", "not checked"),
    ]
    assert fu.identity_line() == (
        "Same patient? Patient ID: not checked (stated on film 1 only); sex: the same; "
        "birth date: not checked (stated on film 1 only)"
    )
    assert "1951" not in fu.identity_line()


def test_a_single_film_films_of_other_views_and_unreadable_films_are_refused():
    with pytest.raises(InvalidArgumentError, match="at least two films"):
        compare_studies([film(D(2024, 1, 1))])
    lateral = Film(study_of(LandmarkSet("lateral", {})), 0, header(D(2024, 2, 1)))
    with pytest.raises(InvalidLandmarksError, match="is an AP film but film 2 'film.dcm' is a lateral film"):
        compare_studies([film(D(2024, 1, 1)), lateral])


# ----------------------------------------------------------------------------- the series


def _scaled(factor: float) -> LandmarkSet:
    """The three-curve spine with every tilt multiplied: Cobb angles scale exactly (the apexes stay)."""
    return ap_film({k: v * factor for k, v in THREE["tilts"].items()}, THREE["bulges"])


def test_series_table_holds_every_parameter_and_each_curve_by_region():
    films = [
        film(D(2024, 1, 1), lm=_scaled(1.0)),
        film(D(2025, 1, 1), lm=_scaled(1.2)),
        film(D(2024, 6, 1), lm=_scaled(0.8)),
    ]
    table = series_table(compare_studies(films))
    assert [r.key for r in table.rows] == ["C7_CSVL", "Cobb_max", "PO", "PT", "MT", "TL/L"]
    mt = table.row("MT")
    assert mt.curve and mt.name == "main thoracic curve"
    # 35 deg scaled 1.0, 0.8, 1.2 in time order (2024-01, 2024-06, 2025-01)
    assert mt.values == pytest.approx([35.0, 28.0, 42.0], abs=1e-9)
    assert mt.details == ("T6-T11 apex T8",) * 3
    assert mt.change() == pytest.approx(7.0, abs=1e-9) and mt.change(0, 1) == pytest.approx(-7.0, abs=1e-9)
    assert table.row("PT").values == pytest.approx([25.0, 20.0, 30.0], abs=1e-9)
    assert table.row("TL/L").values == pytest.approx([30.0, 24.0, 36.0], abs=1e-9)
    cobb = table.row("Cobb_max")
    assert cobb.values == pytest.approx([35.0, 28.0, 42.0], abs=1e-9) and cobb.units == ("deg",) * 3
    c7 = table.row("C7_CSVL")  # no S1 on these films: not measured, with the reason
    assert np.isnan(c7.values).all() and all("missing landmarks" in d for d in c7.details)


def test_a_change_across_mm_and_px_is_not_computed():
    lat = dataclasses.replace(
        synthetic_lateral(mm_per_px=1.0).landmarks, calibration=Calibration.from_spacing([1, 1])
    )
    calibrated = Film(study_of(lat), 0, header(D(2024, 1, 1)))
    bare = Film(study_of(dataclasses.replace(lat, calibration=None)), 0, header(D(2025, 1, 1)))
    sva = series_table(compare_studies([calibrated, bare])).row("SVA")
    assert sva.units == ("mm", "px") and sva.unit == "mm/px" and sva.change() is None


def test_age_adjusted_targets_are_carried_per_film():
    lat = dataclasses.replace(synthetic_lateral(mm_per_px=1.0).landmarks, patient=PatientInfo(60.0, "test"))
    older = dataclasses.replace(lat, patient=PatientInfo(70.0, "test"))
    table = series_table(compare_studies([film(D(2014, 1, 1), lm=lat), film(D(2024, 1, 1), lm=older)]))
    # lafage2016-linear: PT target = (age - 55) / 3 + 20
    assert table.row("PT").targets == pytest.approx([(60 - 55) / 3 + 20, (70 - 55) / 3 + 20])
    assert np.isnan(table.row("PI").targets).all()


def test_thresholds_of_the_applied_criteria_by_parameter():
    lines = parameter_thresholds(study_of(ap_film(**THREE)).assessment)
    assert [t.value for t in lines["Cobb_max"]] == [30.0]
    lateral = parameter_thresholds(study_of(LandmarkSet("lateral", {})).assessment)
    assert [t.value for t in lateral["PT"]] == [20.0, 30.0]
    assert sorted({t.value for t in lateral["TPA"]}) == [10.0, 20.0, 30.0]
    assert all(t.status in ("V", "S", "S-") for ts in lateral.values() for t in ts)


# ----------------------------------------------------------------------------- pages and the command line


def test_two_film_page_shows_curve_changes_dates_and_the_patient_check():
    pre, post = film(D(2024, 1, 1), lm=_scaled(1.0)), film(D(2024, 7, 1), lm=_scaled(1.2))
    fu = compare_studies([post, pre])
    image = np.zeros((2000, 800), dtype=np.uint8)
    fig = comparison_figure(image, pre.study, image, post.study, followup=fu)
    curves = {c["pid"]: c for c in fig.spinecheck_curve_changes}
    assert list(curves) == ["PT", "MT", "TL/L"]
    assert curves["MT"]["change"] == pytest.approx(7.0, abs=1e-9)
    assert curves["PT"]["pre"] == pytest.approx(25.0) and curves["PT"]["post"] == pytest.approx(30.0)
    assert curves["TL/L"]["name"] == "TL/L curve  T11–L4 apex L2 → T11–L4 apex L2"
    text = "\n".join(t.get_text() for t in fig.texts)
    assert "2024-01-01 (DICOM Study Date)" in text and "Interval: 182 days (6 months)" in text
    assert "Same patient? Patient ID: the same" in text
    with pytest.raises(ValueError, match="other films"):
        comparison_figure(image, post.study, image, pre.study, followup=fu)


def test_series_pages_and_csv():
    films = [
        film(D(2024, 1, 1), lm=_scaled(1.0)),
        film(D(2025, 1, 1), lm=_scaled(1.2)),
        film(D(2024, 6, 1), lm=_scaled(0.8)),
    ]
    table = series_table(compare_studies(films))
    pages = series_figures([np.zeros((2000, 800), dtype=np.uint8)] * 3, table)
    assert len(pages) == 3 and pages[0].spinecheck_series is table
    texts = ["\n".join(t.get_text() for t in p.texts) for p in pages]
    assert "Film 3: film.dcm" in texts[0] and "day 366" in texts[1] and "T6-T11 apex T8" in texts[1]
    rows = list(csv.DictReader(io.StringIO(format_series_csv(table))))
    assert [(r["film"], r["date"], r["days_from_first"]) for r in rows] == [
        ("1", "2024-01-01", "0"),
        ("2", "2024-06-01", "152"),
        ("3", "2025-01-01", "366"),
    ]
    assert [float(r["mt_angle_deg"]) for r in rows] == pytest.approx([35.0, 28.0, 42.0], abs=1e-9)
    assert all(r["date_source"] == "DICOM Study Date" for r in rows)


def _dicom_film(folder: Path, name: str, *, date: str, seed: int = 0, **extra) -> tuple[Path, Path]:
    f = synthetic_ap(seed, mm_per_px=2.0)
    image = write_dicom(f, folder / f"{name}.dcm", extra={"StudyDate": date, **extra})
    points = folder / f"{name}.json"
    write_landmarks(f.landmarks, points)
    return image, points


def _pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def test_cli_series_of_three_films_pdf_and_table(tmp_path, capsys):
    a = _dicom_film(tmp_path, "a", date="20240701")
    b = _dicom_film(tmp_path, "b", date="20240101")
    c = _dicom_film(tmp_path, "c", date="20250115")
    out, table = tmp_path / "series.pdf", tmp_path / "series.csv"
    argv = ["compare", *map(str, (*a, *b, *c)), "-o", str(out), "--table", str(table)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "film 1: b.dcm, 2024-01-01 (DICOM Study Date)" in err
    assert _pages(out.read_bytes()) == 3
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["image"].rsplit("/", 1)[-1] for r in rows] == ["b.dcm", "a.dcm", "c.dcm"]
    assert [r["days_from_first"] for r in rows] == ["0", "182", "380"]
    png = tmp_path / "series.png"
    assert main(["compare", *map(str, (*a, *b, *c)), "-o", str(png)]) == 0
    assert png.exists() and (tmp_path / "series-2.png").exists() and (tmp_path / "series-3.png").exists()


def test_cli_refuses_another_patient_in_one_line_and_never_shows_the_birth_date(tmp_path, capsys):
    a = _dicom_film(tmp_path, "a", date="20240101", PatientBirthDate="19510402")
    b = _dicom_film(tmp_path, "b", date="20250101", PatientBirthDate="19520402")
    out = tmp_path / "c.pdf"
    assert main(["compare", *map(str, (*a, *b)), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "error: films 'a.dcm' and 'b.dcm' are of different patients"
    )
    assert "birth date differs" in err and "--allow-different-patients" in err and "1951" not in err
    assert not out.exists()
    assert main(["compare", *map(str, (*a, *b)), "-o", str(out), "--allow-different-patients"]) == 0
    assert "1951" not in capsys.readouterr().err and "19510402" not in out.read_bytes().decode("latin-1")


def test_cli_films_come_in_pairs(tmp_path, capsys):
    a = _dicom_film(tmp_path, "a", date="20240101")
    assert main(["compare", *map(str, a), str(a[0]), "-o", str(tmp_path / "c.pdf")]) == 2
    assert "IMAGE LANDMARKS pairs, two pairs or more; got 3 paths" in capsys.readouterr().err


def test_landmark_file_study_date_round_trip_and_bad_values(tmp_path):
    lm = dataclasses.replace(ap_film(**THREE), image=ImageRef("x.png", study_date=D(2023, 2, 28)))
    path = tmp_path / "x.json"
    write_landmarks(lm, path)
    doc = json.loads(path.read_text())
    assert doc["image"]["study_date"] == "2023-02-28"
    assert load_study(str(path)).table.study(0).image.study_date == D(2023, 2, 28)
    for bad, words in [
        ("2023-2-28", 'must be a date "YYYY-MM-DD"'),
        ("2023-02-30", 'must be a date "YYYY-MM-DD"'),
        (20230228, 'must be a date "YYYY-MM-DD"'),
        ("2999-01-01", "is in the future"),
    ]:
        doc["image"]["study_date"] = bad
        path.write_text(json.dumps(doc))
        with pytest.raises(InvalidLandmarksError, match=re.escape(words)) as e:
            load_study(str(path))
        assert '"image.study_date"' in str(e.value) and str(path) in str(e.value)


def test_the_interval_since_the_operation_a_film_records():
    from spinecheck.landmarks.points.operation import Operation

    operated = dataclasses.replace(
        ap_film(**THREE), operation=Operation.checked(date="2024-02-01", uiv="T10")
    )
    pre, post = film(D(2024, 1, 1)), film(D(2024, 8, 1), lm=operated)
    fu = compare_studies([post, pre])
    # 2024-02-01 to 2024-08-01: 29 + 31 + 30 + 31 + 30 + 31 days, six calendar months
    assert fu.since_operation(1) == Interval(182, 6) and fu.since_operation(0) is None
    assert fu.date_line(1).endswith("; 182 days (6 months) after the operation (2024-02-01)")
    image = np.zeros((2000, 800), dtype=np.uint8)
    fig = comparison_figure(image, pre.study, image, post.study, followup=fu)
    text = "\n".join(t.get_text() for t in fig.texts)
    assert "Interval: 213 days (7 months); post 182 days (6 months) after the operation" in text
    early = film(D(2024, 1, 15), lm=operated)  # a film dated before the operation it records
    assert (
        "film 2 'film.dcm' is dated before the operation it records (2024-02-01)"
        in compare_studies([early, pre]).notes
    )


def test_a_post_operative_series_measures_pja_at_the_operations_levels_and_marks_pjk(tmp_path):
    """PJA = θ(T10 inf) − θ(T8 sup) = 3 − t8_sup on each film (test_postop's frame): 4, 2.5, 12, 13.1 deg."""
    from spinecheck.alignment.render.figure import Verdict
    from spinecheck.alignment.render.series import _verdict
    from spinecheck.landmarks.points.operation import Operation
    from test_postop import endplate, junction_frame, lateral

    def dated(t8_sup: float, operation: Operation | None, day: datetime.date) -> Film:
        frame = junction_frame()
        endplate(frame, "T8", "sup", -100.0, t8_sup)
        return Film(study_of(lateral(frame, operation)), 0, header(day))

    t10 = Operation.checked(date="2023-03-01", uiv="T10")
    films = [
        dated(-10.1, Operation.checked(date="2023-03-01", uiv="T10", liv="S1"), D(2024, 3, 1)),
        dated(-1.0, None, D(2022, 1, 1)),
        dated(-9.0, t10, D(2023, 6, 1)),
        dated(0.5, None, D(2023, 1, 1)),
    ]
    fu = compare_studies(films)
    pja = series_table(fu).row("PJA")
    assert pja.name == "proximal junctional angle at T8–T10 (the operation of film 4)"
    assert pja.values == pytest.approx([4.0, 2.5, 12.0, 13.1], abs=1e-9)
    # PJK against the pre-operative film 2 (2.5 deg): +9.5 not flagged, +10.6 flagged; films 1-2 not judged
    verdicts = [_verdict(fu, pja, k) for k in range(4)]
    assert verdicts == [Verdict.NOT_APPLIED, Verdict.NOT_APPLIED, Verdict.WITHIN, Verdict.MARKED]
    assert fu.date_line(3).endswith("; 366 days (1 year) after the operation (2023-03-01)")
