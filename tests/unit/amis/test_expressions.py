"""The visibility expression evaluator: both AMIS styles, and nothing beyond its subset.

Agreement with amis-core over a large table is in test_golden.py; these rows
show the behaviour a form author relies on.
"""

from __future__ import annotations

import pytest

from models.amis import ExpressionError, parse_expression
from models.amis.scope import Scope

DATA = {
    "age": 20,
    "country": "FR",
    "person": {"name": "Ann", "tags": ["a", "b"]},
    "empty": "",
    "zero": 0,
    "none": None,
    "flag": True,
}

CASES = [
    ("age >= 18", True),
    ("age > 20", False),
    ("age <= 20", True),
    ("age < '3'", False),
    ("age == '20'", True),
    ("age === '20'", False),
    ("age != 20", False),
    ("age !== '20'", True),
    ("country == 'FR' && age >= 18", True),
    ("country == 'DE' || age >= 18", True),
    ("!flag", False),
    ("!(age < 18)", True),
    ("this.age == 20", True),
    ("this.person.name == 'Ann'", True),
    ("person.tags.length == 2", True),
    ("person.tags[1] == 'b'", True),
    ('person["name"] == "Ann"', True),
    ("data.age == 20", True),
    ("none == null", True),
    ("none === undefined", False),
    ("zero == false", True),
    ("empty", False),
    ("-age < 0", True),
    ("missing == 1", False),
    ("!missing", False),
    ("none.x == 1", False),
    ("age.__class__ == undefined", True),
    ("${age >= 18}", True),
    ("${country}", True),
    ("${empty}", False),
    ("${missing}", False),
    ("${!missing}", True),
    ("${this.age == 20}", False),
    ("${person.name == 'Ann'}", True),
    ("${none.x.y == undefined}", True),
    ("${age == TRUE}", False),
    ("${ flag }", True),
    ("${country}${empty}", True),
    ("${empty}${empty}", False),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_evaluate(text, expected):
    assert parse_expression(text).evaluate(DATA) is expected


def test_a_combo_row_reads_its_own_data_before_the_forms():
    row = Scope({"age": 5}, Scope(DATA))
    assert parse_expression("age < 18 && country == 'FR'").evaluate(row) is True
    assert parse_expression("${this.age}").evaluate(row) is False  # "this" is a plain name in ${}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "age +",
        "age = 1",
        "age + 1 > 2",
        "a ? b : c",
        "f(x)",
        "age; 1",
        "a => b",
        "`${age}`",
        "${age} > 1",
        "${",
        "'unterminated",
        "age == 1 1",
        "x.",
        "a[1",
        "${age + 1}",
        "__import__('os')",
        "1abc == 1",
        "age == 0x",
        "'\\q'",
    ],
)
def test_what_the_evaluator_refuses(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_unknown_names_never_reach_python():
    # Names are only ever looked up as data keys, never as Python attributes or builtins.
    assert (
        parse_expression("__class__ == undefined").evaluate({}) is False
    )  # legacy: unknown name throws
    assert parse_expression("${__class__ == undefined}").evaluate({}) is True
    assert parse_expression("${person.__dict__}").evaluate(DATA) is False
