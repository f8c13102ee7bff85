"""Landmark files: the spinecheck-landmarks/1 JSON, the wide CSV, SpineWeb/AASCE .mat labels, 3D Slicer markups."""

from typing import TYPE_CHECKING

import lazy_loader

# Each format loads on first use: measuring one landmark JSON reads neither the wide CSV, nor
# 3D Slicer markups, nor SpineWeb/AASCE .mat labels (whose reader imports scipy.io).
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "atomic": ["write_bytes_atomic", "write_text_atomic"],
        "checks": ["check_endplates", "check_inside_image", "check_same_image"],
        "landmark_file": [
            "FORMAT",
            "PATIENT_SOURCE",
            "landmarks_to_json",
            "landmarks_to_text",
            "parse_landmarks",
            "read_landmark_json",
            "write_landmarks",
        ],
        "provenance": ["ModelInfo", "Provenance", "ProvenanceKind", "parse_provenance", "read_provenance"],
        "read": ["LANDMARK_SUFFIXES", "read_landmark_table", "read_landmarks", "write_landmark_file"],
        "slicer": [
            "SLICER_SCHEMA",
            "SLICER_SUFFIX",
            "is_slicer_markups",
            "parse_slicer_markups",
            "read_slicer_markups",
            "slicer_markups_to_json",
            "write_slicer_markups",
        ],
        "wide_csv": [
            "EXTENSION_COLUMNS",
            "TABLE_SOURCE",
            "landmark_table_to_csv",
            "read_wide_csv",
            "write_landmark_table",
        ],
        "aasce": ["AASCE_LEVELS", "AASCE_POINT_NAMES", "read_aasce_mat", "aasce_image_path"],
    },
)

if TYPE_CHECKING:
    from .aasce import AASCE_LEVELS, AASCE_POINT_NAMES, aasce_image_path, read_aasce_mat
    from .atomic import write_bytes_atomic, write_text_atomic
    from .checks import check_endplates, check_inside_image, check_same_image
    from .landmark_file import (
        FORMAT,
        PATIENT_SOURCE,
        landmarks_to_json,
        landmarks_to_text,
        parse_landmarks,
        read_landmark_json,
        write_landmarks,
    )
    from .provenance import ModelInfo, Provenance, ProvenanceKind, parse_provenance, read_provenance
    from .read import LANDMARK_SUFFIXES, read_landmark_table, read_landmarks, write_landmark_file
    from .slicer import (
        SLICER_SCHEMA,
        SLICER_SUFFIX,
        is_slicer_markups,
        parse_slicer_markups,
        read_slicer_markups,
        slicer_markups_to_json,
        write_slicer_markups,
    )
    from .wide_csv import (
        EXTENSION_COLUMNS,
        TABLE_SOURCE,
        landmark_table_to_csv,
        read_wide_csv,
        write_landmark_table,
    )

__all__ = [
    "LANDMARK_SUFFIXES",
    "read_landmarks",
    "read_landmark_table",
    "write_landmark_file",
    "FORMAT",
    "PATIENT_SOURCE",
    "read_landmark_json",
    "parse_landmarks",
    "landmarks_to_json",
    "landmarks_to_text",
    "write_landmarks",
    "write_text_atomic",
    "write_bytes_atomic",
    "ProvenanceKind",
    "ModelInfo",
    "Provenance",
    "parse_provenance",
    "read_provenance",
    "check_inside_image",
    "check_same_image",
    "check_endplates",
    "TABLE_SOURCE",
    "EXTENSION_COLUMNS",
    "read_wide_csv",
    "write_landmark_table",
    "landmark_table_to_csv",
    "AASCE_LEVELS",
    "AASCE_POINT_NAMES",
    "read_aasce_mat",
    "aasce_image_path",
    "SLICER_SUFFIX",
    "SLICER_SCHEMA",
    "is_slicer_markups",
    "read_slicer_markups",
    "parse_slicer_markups",
    "slicer_markups_to_json",
    "write_slicer_markups",
]
