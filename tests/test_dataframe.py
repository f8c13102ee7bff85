"""Results and batch tables as pandas DataFrames: one call, the batch table's columns, proper dtypes.

Known answers come from the synthetic films (their spine model fixes PI 55, PT 22, LL 40, SVA 45 mm
at age 67) and from tables written cell by cell here. The dtypes are checked column kind by column
kind, the categories against the criterion data, and the round trips (a study's frame, its CSV, the
batch CSV and its Parquet copy, ``measure --format csv``, a series table) against each other.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spinecheck
from spinecheck.alignment.batch.table import BatchOptions, batch_header, study_of
from spinecheck.alignment.render.text import table_columns, write_table_csv
from spinecheck.alignment.tables import (
    MissingPandasError,
    TableFileError,
    age_groups,
    batch_column_types,
    read_batch_table,
    to_dataframe,
)
from spinecheck.landmarks.errors import InvalidArgumentError
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable

pd = pytest.importorskip("pandas")

from batch_factory import write_study  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from spinecheck.alignment.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out)
    return out


@pytest.fixture(scope="module")
def studies(demo):
    lateral = spinecheck.load_study(str(demo / "lateral.landmarks.json"), image=str(demo / "lateral.dcm"))
    ap = spinecheck.load_study(str(demo / "ap.landmarks.json"), image=str(demo / "ap.dcm"))
    return lateral, ap


# ------------------------------------------------------------------------------ lazy, optional


def test_import_spinecheck_loads_no_pandas_until_a_frame_is_made():
    code = (
        "import sys, spinecheck; spinecheck.to_dataframe; spinecheck.read_batch_table; spinecheck.plot; "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_without_pandas_one_line_names_the_extra(studies, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a)
    )
    with pytest.raises(MissingPandasError) as e:
        studies[0].to_dataframe()
    assert (
        str(e.value) == "to_dataframe needs pandas, which is not installed: pip install 'spinecheck[pandas]'"
    )
    with pytest.raises(MissingPandasError, match=r"^read_batch_table needs pandas.*spinecheck\[pandas\]'$"):
        read_batch_table("t.csv")
    assert isinstance(e.value, ImportError)


# ------------------------------------------------------------------------------ a study's frame


def test_study_to_dataframe_has_the_batch_columns_and_the_known_values(studies):
    lateral, _ = studies
    df = lateral.to_dataframe()
    assert list(df.columns) == list(table_columns(lateral))
    assert df.shape == (1, len(table_columns(lateral)))
    row = df.iloc[0]
    assert row["PI_deg"] == pytest.approx(55.0, abs=1e-6)
    assert row["PT_deg"] == pytest.approx(22.0, abs=1e-6)
    assert row["SVA_mm"] == pytest.approx(45.0, abs=1e-6)
    assert row["age_years"] == 67.0
    assert row["status"] == "ok" and row["view"] == "lateral" and row["sex"] == "F"
    # SVA 45 mm: not flagged (>= 50), SRS-Schwab "+" (40-95); PI-LL 15: "+"
    assert row["sagittal_balance_sva"] is np.False_ or row["sagittal_balance_sva"] is False
    assert row["srs_schwab_sva"] == "+" and row["srs_schwab_pi_ll"] == "+"
    assert pd.isna(row["error"]) and pd.isna(row["C7_CSVL_mm"])


def test_dtypes_by_kind(studies):
    df = to_dataframe(list(studies))
    assert len(df) == 2 and df["view"].tolist() == ["lateral", "ap"]
    for name in ("PI_deg", "SVA_mm", "SVA_px", "mt_angle_deg", "age_years", "mm_per_px_row", "gap_total"):
        assert df[name].dtype == np.float64, name
    for name in ("sagittal_balance_sva", "balance_coronal", "age_adjusted_sva_flag", "pjk_glattes"):
        assert df[name].dtype == "boolean", name
    # a criterion of the other view is not applied: <NA>, never False
    assert pd.isna(df.loc[1, "sagittal_balance_sva"]) and pd.isna(df.loc[0, "balance_coronal"])
    assert df.loc[1, "balance_coronal"] == False  # noqa: E712 - C7-CSVL 18 mm, not > 40
    for name in ("image", "landmarks", "error", "warnings", "srs_schwab_pi_ll_reason", "sop_instance_uid"):
        assert df[name].dtype == "string", name
    assert str(df["operation_date"].dtype) == "datetime64[ns]"
    assert str(df["study_date"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("column", "categories", "ordered"),
    [
        pytest.param("srs_schwab_pi_ll", ["0", "+", "++"], True, id="srs-grade"),
        pytest.param("srs_schwab_sagittal_modifier", ["aligned", "moderate", "severe"], True, id="modifier"),
        pytest.param("tpa_category", ["<10", "10-20", "21-30", ">30"], True, id="tpa"),
        pytest.param(
            "gap",
            ["proportioned", "moderately disproportioned", "severely disproportioned"],
            True,
            id="gap",
        ),
        pytest.param("roussouly_type", ["1 or 2", "3", "4"], True, id="roussouly"),
        pytest.param("srs_schwab_curve_type", ["T", "L", "D", "N", "boundary"], False, id="curve-type"),
        pytest.param("status", ["ok", "error", "skipped"], False, id="status"),
        pytest.param("view", ["lateral", "ap"], False, id="view"),
        pytest.param("sex", ["F", "M", "O"], False, id="sex"),
        pytest.param("cobb_method", ["endplate", "midline"], False, id="cobb-method"),
    ],
)
def test_categories_come_from_the_data_in_their_order(studies, column, categories, ordered):
    df = to_dataframe(list(studies))
    assert isinstance(df[column].dtype, pd.CategoricalDtype)
    assert list(df[column].cat.categories) == categories
    assert df[column].cat.ordered is ordered


def test_levels_are_ordered_down_the_spine(studies):
    df = to_dataframe(studies[1])
    apex = df["tll_apex"]
    assert apex.cat.categories[0] == "C2" and apex.cat.categories[-1] == "S1"
    assert list(apex.cat.categories).index("T13") == list(apex.cat.categories).index("T12") + 1
    # the demo AP film: MT T5-T11 apex T8, TL/L T11-L4 apex L2
    assert (df["mt_apex"].iloc[0], df["tll_apex"].iloc[0]) == ("T8", "L2")
    # compared as levels (L2 is below T12), not as text
    assert bool((df["tll_apex"] > "T12").iloc[0]) and bool((df["mt_apex"] < "T12").iloc[0])
    assert df["uiv"].cat.ordered


def test_grades_compare_in_their_order(studies):
    df = to_dataframe(studies[0])
    grade = df["srs_schwab_pi_ll"]
    assert bool((grade > "0").iloc[0]) and bool((grade < "++").iloc[0]) and grade.max() == "+"


def test_categories_of_a_set_read_from_a_file(tmp_path, demo):
    """A user's criterion set gives its own categories, in its bands' order (not alphabetical)."""
    set_file = tmp_path / "pt-bands.json"
    set_file.write_text(
        json.dumps(
            {
                "format": "spinecheck-criteria/1",
                "kind": "criteria",
                "name": "site-pt",
                "title": "Site PT bands",
                "status": "S",
                "sources": [{"authors": "Site protocol", "year": 2024, "journal": "internal"}],
                "criteria": [
                    {
                        "id": "site.pt",
                        "name": "Site PT",
                        "kind": "category",
                        "parameter": "PT",
                        "bands": [
                            {"result": "low", "interval": "(-inf, 15)"},
                            {"result": "high", "interval": "[15, 25]"},
                            {"result": "extreme", "interval": "(25, inf)"},
                        ],
                    }
                ],
            }
        )
    )
    study = spinecheck.load_study(str(demo / "lateral.landmarks.json"), criteria=[set_file])
    df = study.to_dataframe()
    assert list(df["site_pt"].cat.categories) == ["low", "high", "extreme"]
    assert df["site_pt"].cat.ordered and df["site_pt"].iloc[0] == "high"  # PT 22


def test_studies_with_different_columns_share_one_frame(demo, studies):
    other = spinecheck.load_study(
        str(demo / "lateral.landmarks.json"),
        image=str(demo / "lateral.dcm"),
        criteria=["balance"],
        age_set=None,
    )
    df = to_dataframe([studies[0], other])
    assert "srs_schwab_pi_ll" in df.columns and len(df) == 2
    assert df.loc[0, "srs_schwab_pi_ll"] == "+" and pd.isna(df.loc[1, "srs_schwab_pi_ll"])
    assert df["sagittal_balance_sva"].tolist() == [False, False]


# ------------------------------------------------------------------------------ reading tables back


def test_a_written_table_reads_back_equal_to_the_studies_frame(studies, tmp_path):
    path = tmp_path / "t.csv"
    write_table_csv(list(studies), path)
    pd.testing.assert_frame_equal(read_batch_table(path), to_dataframe(list(studies)))


def test_measure_format_csv_reads_back_equal(demo, studies, capsys):
    from spinecheck.cli import main

    assert (
        main(
            [
                "measure",
                str(demo / "lateral.landmarks.json"),
                "--image",
                str(demo / "lateral.dcm"),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    path = demo / "measured.csv"
    path.write_text(text)
    try:
        pd.testing.assert_frame_equal(read_batch_table(path), studies[0].to_dataframe())
    finally:
        path.unlink()


def test_the_batch_csv_and_its_parquet_copy_read_the_same(tmp_path):
    root = tmp_path / "archive"
    write_study(root, "a.dcm", seed=1)
    write_study(root, "b.dcm", view="ap", seed=2)
    write_study(root, "c.dcm", seed=3, landmarks=None)  # skipped: no landmarks
    spinecheck.run_batch(root, tmp_path / "t.csv", jobs=1, progress=False, stderr=io.StringIO())
    from_csv = read_batch_table(tmp_path / "t.csv")
    from_parquet = read_batch_table(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    # a.dcm and b.dcm measured; c.dcm has no landmarks: a skipped row, kept
    assert from_csv["status"].astype(str).tolist() == ["ok", "ok", "skipped"]
    assert from_csv["PI_deg"].dtype == np.float64 and from_csv["srs_schwab_pt"].dtype == "category"
    ok = from_csv["status"] == "ok"
    assert from_csv.loc[ok, "image"].tolist() == ["a.dcm", "b.dcm"]
    assert from_csv.loc[ok, "age_years"].tolist() == [61.0, 62.0]


def test_a_series_table_reads_with_its_dates(demo, tmp_path):
    from spinecheck.alignment.followup import Film, compare_studies, series_table
    from spinecheck.alignment.render.series import write_series_csv

    films = []
    for k, day in enumerate(("2023-01-10", "2023-07-10", "2024-01-10")):
        data = json.loads((demo / "lateral.landmarks.json").read_text())
        data["image"] = {"path": f"f{k}.png", "study_date": day}
        p = tmp_path / f"f{k}.json"
        p.write_text(json.dumps(data))
        films.append(Film(spinecheck.load_study(str(p)), 0))
    path = tmp_path / "series.csv"
    write_series_csv(series_table(compare_studies(films)), path)
    df = read_batch_table(path)
    assert df["date"].tolist() == [pd.Timestamp(d) for d in ("2023-01-10", "2023-07-10", "2024-01-10")]
    assert df["days_from_first"].tolist() == [0.0, 181.0, 365.0]
    assert df["film"].dtype == np.float64 and df["PI_deg"].dtype == np.float64


def _table(tmp_path: Path, **cells: str) -> Path:
    """A one-row batch table of the default header, with *cells* set."""
    header = batch_header()
    row = dict.fromkeys(header, "")
    row.update({"image": "a.dcm", "landmarks": "a.json", "status": "ok", **cells})
    path = tmp_path / "t.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerow([row[h] for h in header])
    path.write_text(buf.getvalue())
    return path


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        pytest.param({"sagittal_balance_sva": "true"}, True, id="true"),
        pytest.param({"sagittal_balance_sva": "false"}, False, id="false"),
        pytest.param({"sagittal_balance_sva": ""}, None, id="not-applied"),
    ],
)
def test_flags_read_as_nullable_booleans(tmp_path, cells, expected):
    value = read_batch_table(_table(tmp_path, **cells)).loc[0, "sagittal_balance_sva"]
    assert pd.isna(value) if expected is None else value == expected


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        pytest.param({"SVA_mm": "abc"}, "column 'SVA_mm', row 1 must be a number; got 'abc'", id="number"),
        pytest.param(
            {"srs_schwab_pi_ll": "+++"},
            "column 'srs_schwab_pi_ll', row 1 must be one of '0', '+', '++'; got '+++'",
            id="grade",
        ),
        pytest.param(
            {"sagittal_balance_sva": "yes"},
            "column 'sagittal_balance_sva', row 1 must be true, false or empty (not applied); got 'yes'",
            id="flag",
        ),
        pytest.param(
            {"operation_date": "2024/03/01"},
            "column 'operation_date', row 1 must be a date YYYY-MM-DD; got '2024/03/01'",
            id="date",
        ),
        pytest.param({"mt_apex": "T22"}, "column 'mt_apex', row 1 must be one of 'C2', 'C3'", id="level"),
        pytest.param(
            {"status": "done"},
            "column 'status', row 1 must be one of 'ok', 'error', 'skipped'; got 'done'",
            id="status",
        ),
    ],
)
def test_a_cell_that_does_not_fit_is_one_line(tmp_path, cells, message):
    path = _table(tmp_path, **cells)
    with pytest.raises(TableFileError) as e:
        read_batch_table(path)
    text = str(e.value)
    assert text.startswith(f"batch table '{path}': {message}") and "\n" not in text


def test_unknown_columns_pass_as_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("image,landmarks,status,error,site_id,score\na.dcm,a.json,ok,,007,12\n")
    df = read_batch_table(path)
    assert df["site_id"].dtype == "string" and df.loc[0, "site_id"] == "007"  # never 7
    assert df["score"].dtype == "string"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"name,age\nx,3\n",
            "not a spinecheck batch table (no column 'image'; a batch table begins with the columns "
            "image, landmarks, status, error)",
            id="other-csv",
        ),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"image,landmarks\n\xff\xfe\n", "not a CSV table in UTF-8", id="not-utf8"),
    ],
)
def test_a_file_that_is_not_a_batch_table_is_one_line(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(TableFileError) as e:
        read_batch_table(path)
    assert str(e.value).startswith(f"batch table '{path}': {message}") and "\n" not in str(e.value)


def test_a_missing_file_and_a_bad_parquet_are_one_line(tmp_path):
    with pytest.raises(TableFileError, match=r"^batch table '.*nope\.csv': no such file$"):
        read_batch_table(tmp_path / "nope.csv")
    bad = tmp_path / "t.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(TableFileError, match=r"^batch table '.*t\.parquet': not a Parquet file \(") as e:
        read_batch_table(bad)
    assert "\n" not in str(e.value)


def test_every_shipped_set_column_has_a_type():
    types = batch_column_types()
    for name in ("hasegawa2016_ll_flag", "normative_pi_age_2025_tpa_target_deg", "schwab2013_odi40_sva_flag"):
        assert name in types, name
    assert types["normative_pi_age_2025_tpa_target_deg"].kind.value == "number"
    assert types["age_adjusted_ll_flag"].kind.value == "flag"  # hasegawa2016 as the age set


def test_a_template_study_frame_has_no_row_left_out():
    study = study_of(LandmarkTable.from_sets([LandmarkSet("lateral", {})] * 3), [None] * 3, BatchOptions())
    df = study.to_dataframe()
    assert len(df) == 3 and df["PI_deg"].isna().all()


# ------------------------------------------------------------------------------ age groups


@pytest.mark.parametrize(
    ("age", "group"),
    [
        pytest.param(44.9, "< 45", id="below-45"),
        pytest.param(45.0, "45 to < 65", id="at-45"),
        pytest.param(64.9, "45 to < 65", id="below-65"),
        pytest.param(65.0, "≥ 65", id="at-65"),
        pytest.param(90.0, "≥ 65", id="old"),
    ],
)
def test_age_groups_at_their_edges(age, group):
    assert age_groups([age], (45, 65)).tolist() == [group]


def test_age_groups_keep_unknown_ages_and_the_index():
    ages = pd.Series([30.0, np.nan, 70.0], index=[10, 11, 12], dtype="Float64")
    g = age_groups(ages, (45, 65))
    assert g.index.tolist() == [10, 11, 12] and pd.isna(g.iloc[1])
    assert g.cat.ordered and list(g.cat.categories) == ["< 45", "45 to < 65", "≥ 65"]


@pytest.mark.parametrize("edges", [(), (65, 45), (45, float("inf"))], ids=["empty", "decreasing", "infinite"])
def test_age_groups_refuse_bad_edges(edges):
    with pytest.raises(InvalidArgumentError) as e:
        age_groups([50.0], edges)
    assert e.value.argument == "edges" and str(e.value).startswith("edges: must be increasing finite ages")
