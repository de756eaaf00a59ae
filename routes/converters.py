"""URL converters shared by every blueprint."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from services.ids import MAX_ID


def at_most(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to ``limit`` (leading zeros allowed)."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            options.append(digits[:i] + f"[0-{int(digit) - 1}]" + rf"\d{{{len(digits) - i - 1}}}")
    return "(?:" + "|".join(options + [digits]) + ")"


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` limited to what a database id can be (``services.ids.MAX_ID``: PostgreSQL's INTEGER).
    A larger number in a URL names nothing: the rule does not match, so it is a 404, never an OverflowError in
    the driver (a 500). The limit is in the pattern, not in ``max``: a value refused after matching would turn
    into a 405 wherever the same path has a rule for another method."""

    regex = at_most(MAX_ID)


def register_converters(app: Flask) -> None:
    """Replace Flask's ``int`` converter before any blueprint adds its rules."""
    app.url_map.converters["int"] = DatabaseIdConverter
