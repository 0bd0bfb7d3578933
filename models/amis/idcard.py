"""Mainland China resident identity card numbers, as AMIS's ``isId`` rule checks them.

An 18-character number is 6 region digits, an 8-digit birth date, a 3-digit
sequence and a check character (ISO 7064 MOD 11-2, ``X`` for 10); the old
15-digit form has a 6-digit birth date and no check character. Only the
province code and the shape of the city/county digits are checked, and the
birth date must lie after 1850-01-01 and no later than today.

The birth date is read the way the browser's ``new Date("YYYY/MM/DD")`` reads
it, quirks included (two-digit years, a first number up to 31 taken as a month,
day overflow into the next month), so both sides agree on the odd cases. Dates
are taken in UTC; a browser far from UTC may disagree for a birth date of
today.
"""

from __future__ import annotations

import datetime as dt
import re

# Province-level administrative division codes accepted by the rule.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "91",
})
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_EARLIEST = dt.date(1850, 1, 1)


def is_id(text: str, *, today: dt.date | None = None) -> bool:
    """True for a valid 18- or 15-character identity card number."""
    return is_id18(text, today=today) or is_id15(text, today=today)


def is_id18(text: str, *, today: dt.date | None = None) -> bool:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", text):
        return False
    return (_region_ok(text[0:2], text[2:4], text[4:6])
            and _birthday_ok(text[6:10], text[10:12], text[12:14], today)
            and _check_char(text) == text[17])


def is_id15(text: str, *, today: dt.date | None = None) -> bool:
    if not re.fullmatch(r"[0-9]{15}", text):
        return False
    return (_region_ok(text[0:2], text[2:4], text[4:6])
            and _birthday_ok(text[6:8], text[8:10], text[10:12], today))


def _region_ok(province: str, city: str, county: str) -> bool:
    return province in PROVINCES and re.fullmatch(r"[0-6][0-9]|70|90", city) is not None


def _check_char(text: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(text[:17], _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def _birthday_ok(year: str, month: str, day: str, today: dt.date | None) -> bool:
    birthday = browser_date(int(year), int(month), int(day))
    if birthday is None:
        return False
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return _EARLIEST < birthday <= today


def browser_date(first: int, second: int, third: int) -> dt.date | None:
    """The date a browser makes of ``"first/second/third"`` (all numbers), or None if invalid."""
    if 1 <= first <= 31:
        month, day, year = first, second, third  # read as month/day/year
    else:
        year, month, day = first, second, third
    if 0 <= year <= 49:
        year += 2000
    elif 50 <= year <= 99:
        year += 1900
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    try:
        return dt.date(year, month, 1) + dt.timedelta(days=day - 1)
    except (ValueError, OverflowError):
        return None
