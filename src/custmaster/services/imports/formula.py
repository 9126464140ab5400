"""Spreadsheet formula injection (CSV injection) defence for exported cells.

A spreadsheet program evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, a leading tab or carriage return) as a formula. Exports therefore
prefix such cells with a single quote, which spreadsheets show as text and never evaluate
(OWASP "CSV Injection"). :func:`unneutralise_cell` undoes it when a custmaster export is
imported again.
"""

from __future__ import annotations

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """Make a cell value safe to open in a spreadsheet.

    Example:
        >>> neutralise_cell("=HYPERLINK(\\"http://evil\\")")
        '\\'=HYPERLINK("http://evil")'
        >>> neutralise_cell("+1 415 555 0100")
        "'+1 415 555 0100"
        >>> neutralise_cell("Acme")
        'Acme'
    """
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise_cell(value: str) -> str:
    """Inverse of :func:`neutralise_cell`: ``"'+1 415"`` -> ``"+1 415"``; other text unchanged."""
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value
