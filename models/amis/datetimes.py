"""The ``isDateTime*`` rules: date comparisons as amis-core makes them with moment.

amis-core hands the raw value to ``moment(value)`` (whatever the field's
format), so the verdict depends on what moment can read:

* a number is milliseconds since the epoch; no value at all means "now";
* an ISO 8601 string: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, optionally with
  ``T``/space and ``HH``, ``HH:mm``, ``HH:mm:ss`` or ``HH:mm:ss.SSS`` and a
  ``Z``/``±HH:mm`` offset, and the basic forms without separators
  (``YYYYMMDD``, ``YYYYMMDDTHHmmss``); impossible dates are invalid;
* what the browser's ``Date`` reads from ``YYYY/MM/DD`` (optionally with
  ``HH:mm[:ss]``), where day overflow rolls into the next month;
* ``[year, month0, day, hour, minute, second, ms]`` arrays.

Anything else (``null``, ``""``, booleans, AMIS's default ``X`` timestamps as
strings, free text such as ``"Jan 2 2024"``) is an invalid date, and every
comparison with an invalid date fails, as in moment. Local times are taken in
UTC, and ``week`` starts on Sunday (moment's default locale).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from models.amis import jsvalues as js
from models.amis.idcard import browser_date
from models.amis.jsvalues import UNDEFINED

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_OFFSET = r"(?P<tz>Z|[+-]\d\d(?::?\d\d)?)?"
_EXTENDED = re.compile(
    r"\s*(?P<y>\d{4})(?:-(?P<m>\d\d)(?:-(?P<d>\d\d))?)?"
    r"(?:[T ](?P<H>\d\d)(?::(?P<M>\d\d)(?::(?P<S>\d\d)(?:[.,](?P<f>\d+))?)?)?" + _OFFSET + r")?\Z",
    re.ASCII)
_BASIC = re.compile(
    r"\s*(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)"
    r"(?:[T ](?P<H>\d\d)(?:(?P<M>\d\d)(?:(?P<S>\d\d)(?:[.,](?P<f>\d+))?)?)?" + _OFFSET + r")?\Z",
    re.ASCII)
_SLASHED = re.compile(r"(?P<a>\d{1,4})/(?P<b>\d{1,2})/(?P<c>\d{1,4})"
                      r"(?: (?P<H>\d{1,2}):(?P<M>\d\d)(?::(?P<S>\d\d))?)?\Z", re.ASCII)

_UNITS = {
    "y": "year", "year": "year", "years": "year",
    "q": "quarter", "quarter": "quarter", "quarters": "quarter",
    "M": "month", "month": "month", "months": "month",
    "w": "week", "week": "week", "weeks": "week",
    "W": "isoWeek", "isoweek": "isoWeek", "isoweeks": "isoWeek",
    "d": "day", "day": "day", "days": "day",
    "D": "date", "date": "date", "dates": "date",
    "h": "hour", "hour": "hour", "hours": "hour",
    "m": "minute", "minute": "minute", "minutes": "minute",
    "s": "second", "second": "second", "seconds": "second",
    "ms": "millisecond", "millisecond": "millisecond", "milliseconds": "millisecond",
}


def to_millis(value: Any) -> float | None:
    """Milliseconds since the epoch for what moment would read from ``value``; None if invalid."""
    if value is UNDEFINED:
        return float(time.time_ns() // 1_000_000)
    if js.is_number(value):
        x = js.as_double(value)
        return x if x == x and abs(x) <= 8.64e15 else None
    if isinstance(value, list):
        return _from_array(value)
    if not isinstance(value, str):
        return None
    for pattern in (_EXTENDED, _BASIC):
        match = pattern.match(value)
        if match:
            return _from_iso(match)
    match = _SLASHED.match(value.strip(js.JS_WHITESPACE))
    if match:
        return _from_slashed(match)
    return None


def _millis(moment: dt.datetime) -> float:
    return (moment - _EPOCH) / dt.timedelta(milliseconds=1)


def _from_iso(match: re.Match) -> float | None:
    parts = match.groupdict()
    year, month, day = int(parts["y"]), int(parts["m"] or 1), int(parts["d"] or 1)
    hour, minute, second = int(parts["H"] or 0), int(parts["M"] or 0), int(parts["S"] or 0)
    millis = int((parts["f"] or "0")[:3].ljust(3, "0"))
    end_of_day = hour == 24 and minute == second == millis == 0
    try:
        moment = dt.datetime(year, month, day, 0 if end_of_day else hour, minute, second,
                             millis * 1000, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    if end_of_day:
        moment += dt.timedelta(days=1)
    tz = parts["tz"]
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment -= sign * offset
    return _millis(moment)


def _from_slashed(match: re.Match) -> float | None:
    date = browser_date(int(match["a"]), int(match["b"]), int(match["c"]))
    hour, minute, second = int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0)
    if date is None or hour > 23 or minute > 59 or second > 59:
        return None
    moment = dt.datetime(date.year, date.month, date.day, hour, minute, second,
                         tzinfo=dt.timezone.utc)
    return _millis(moment)


def _from_array(parts: list) -> float | None:
    if not parts or len(parts) > 7:
        return None
    if not all(js.is_number(p) and float(p).is_integer() for p in parts):
        return None
    defaults = [0, 0, 1, 0, 0, 0, 0][len(parts):]
    year, month, day, hour, minute, second, millis = [int(p) for p in parts] + defaults
    try:
        moment = dt.datetime(year, month + 1, day, hour, minute, second, millis * 1000,
                             tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return _millis(moment)


def _unit(granularity: Any) -> str:
    if not isinstance(granularity, str):
        return "millisecond"
    return _UNITS.get(granularity) or _UNITS.get(granularity.lower()) or "millisecond"


def _start_of(millis: float, unit: str) -> float:
    moment = _EPOCH + dt.timedelta(milliseconds=millis)
    if unit == "year":
        moment = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "quarter":
        moment = moment.replace(month=(moment.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0,
                                second=0, microsecond=0)
    elif unit == "month":
        moment = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("week", "isoWeek"):
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        back = (moment.weekday() + 1) % 7 if unit == "week" else moment.weekday()
        moment -= dt.timedelta(days=back)
    elif unit in ("day", "date"):
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "hour":
        moment = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "minute":
        moment = moment.replace(second=0, microsecond=0)
    elif unit == "second":
        moment = moment.replace(microsecond=0)
    return _millis(moment)


def _end_of(millis: float, unit: str) -> float:
    start = _EPOCH + dt.timedelta(milliseconds=_start_of(millis, unit))
    if unit == "year":
        following = start.replace(year=start.year + 1)
    elif unit in ("quarter", "month"):
        months = start.month - 1 + (3 if unit == "quarter" else 1)
        following = start.replace(year=start.year + months // 12, month=months % 12 + 1)
    else:
        step = {"week": 7 * 86400e3, "isoWeek": 7 * 86400e3, "day": 86400e3, "date": 86400e3,
                "hour": 3600e3, "minute": 60e3, "second": 1e3}[unit]
        following = start + dt.timedelta(milliseconds=step)
    return _millis(following) - 1


def _is_after(a: float, b: float, unit: str) -> bool:
    return a > b if unit == "millisecond" else b < _start_of(a, unit)


def _is_before(a: float, b: float, unit: str) -> bool:
    return a < b if unit == "millisecond" else _end_of(a, unit) < b


def _is_same(a: float, b: float, unit: str) -> bool:
    return a == b if unit == "millisecond" else _start_of(a, unit) <= b <= _end_of(a, unit)


def _comparison(test):
    def rule(scope, value, target=UNDEFINED, granularity=UNDEFINED, *_) -> bool:
        a, b = to_millis(value), to_millis(target)
        if a is None or b is None:
            return False
        try:
            return test(a, b, _unit(granularity))
        except (OverflowError, ValueError):
            return False

    return rule


def is_between(scope, value, lower=UNDEFINED, upper=UNDEFINED, granularity=UNDEFINED,
               inclusivity=UNDEFINED, *_) -> bool:
    a, low, high = to_millis(value), to_millis(lower), to_millis(upper)
    if a is None or low is None or high is None:
        return False
    unit = _unit(granularity)
    bounds = inclusivity if isinstance(inclusivity, str) and inclusivity else "()"
    try:
        after_low = _is_after(a, low, unit) if bounds[:1] == "(" else not _is_before(a, low, unit)
        before_high = (_is_before(a, high, unit) if bounds[1:2] == ")"
                       else not _is_after(a, high, unit))
    except (OverflowError, ValueError):
        return False
    return after_low and before_high


DATE_RULES = {
    "isDateTimeSame": _comparison(_is_same),
    "isDateTimeBefore": _comparison(_is_before),
    "isDateTimeAfter": _comparison(_is_after),
    "isDateTimeSameOrBefore": _comparison(lambda a, b, u: _is_same(a, b, u) or _is_before(a, b, u)),
    "isDateTimeSameOrAfter": _comparison(lambda a, b, u: _is_same(a, b, u) or _is_after(a, b, u)),
    "isDateTimeBetween": is_between,
}
