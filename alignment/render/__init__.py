"""Where results are shown: the report JSON, text and CSV, live lines, annotated figures and PDF pages."""

from typing import TYPE_CHECKING

import lazy_loader

# Each part loads on first use: the text report does not import the figures (matplotlib), the
# instability report or the follow-up series, and a live line does not import the text report.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "live": ["live_parameters"],
        "text": [
            "REPORT_FORMAT",
            "format_csv",
            "format_table",
            "parameter_ids",
            "study_report",
            "study_warnings",
            "table_columns",
            "tool_version",
            "write_table_csv",
        ],
        "figure": [
            "OKABE_ITO",
            "Verdict",
            "verdict_of",
            "Drawing",
            "draw_study",
            "figure_for",
            "display_image",
            "DEFAULT_MAX_DISPLAY_ROWS",
        ],
        "pages": ["A4_LANDSCAPE_IN", "report_figure"],
        "comparison": ["comparison_figure"],
        "instability_report": [
            "INSTABILITY_FORMAT",
            "instability_report",
            "format_instability_table",
            "format_instability_csv",
        ],
        "instability_page": ["instability_figure"],
        "series": ["series_figures", "save_pages", "format_series_csv", "write_series_csv"],
    },
)

if TYPE_CHECKING:
    from .comparison import comparison_figure
    from .figure import (
        DEFAULT_MAX_DISPLAY_ROWS,
        OKABE_ITO,
        Drawing,
        Verdict,
        display_image,
        draw_study,
        figure_for,
        verdict_of,
    )
    from .instability_page import instability_figure
    from .instability_report import (
        INSTABILITY_FORMAT,
        format_instability_csv,
        format_instability_table,
        instability_report,
    )
    from .live import live_parameters
    from .pages import A4_LANDSCAPE_IN, report_figure
    from .series import format_series_csv, save_pages, series_figures, write_series_csv
    from .text import (
        REPORT_FORMAT,
        format_csv,
        format_table,
        parameter_ids,
        study_report,
        study_warnings,
        table_columns,
        tool_version,
        write_table_csv,
    )

__all__ = [
    "REPORT_FORMAT",
    "tool_version",
    "study_report",
    "parameter_ids",
    "study_warnings",
    "format_table",
    "table_columns",
    "write_table_csv",
    "format_csv",
    "live_parameters",
    "OKABE_ITO",
    "Verdict",
    "verdict_of",
    "Drawing",
    "draw_study",
    "figure_for",
    "A4_LANDSCAPE_IN",
    "report_figure",
    "comparison_figure",
    "series_figures",
    "save_pages",
    "format_series_csv",
    "write_series_csv",
    "display_image",
    "DEFAULT_MAX_DISPLAY_ROWS",
    "INSTABILITY_FORMAT",
    "instability_report",
    "format_instability_table",
    "format_instability_csv",
    "instability_figure",
]
