"""Seat maps as a venue gives them (JSON or CSV) and as we give them back. No database:
``occupied_conflicts`` gets a ``SeatMap`` built in memory and never saved."""

from __future__ import annotations

import pytest

from meeteasy.errors import ValidationFailed
from models.seatmap_files import MAX_ERRORS, export_csv, export_json, parse_csv, parse_map
from models.seatmaps import (DEFAULT_CATEGORIES, MAX_SEATS, SeatMap, occupied_conflicts,
                             packed_sections, unpack)

HEADER = "section,row,seat,x,y,category,attributes"


def csv_of(*lines: str, header: str = HEADER) -> str:
    return "\n".join((header, *lines)) + "\n"


def fields_of(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    return caught.value.details["fields"]


def seats_of(spec) -> dict[str, tuple]:
    return {sid: (seat.x, seat.y, seat.category, seat.attributes, seat.rank)
            for sid, _, _, seat in spec.seats()}


def labels_in_row(spec, section: str, row: str) -> list[str]:
    found = next(r for s in spec.sections if s.name == section for r in s.rows if r.label == row)
    return [seat.label for seat in found.seats]


def seat(label, x, y=0, category="standard", attributes=(), rank=None) -> dict:
    return {"label": label, "x": x, "y": y, "category": category,
            "attributes": list(attributes), "rank": rank}


def map_json(*rows: dict, section: str = "Stalls", **top) -> dict:
    return {"sections": [{"name": section, "rows": list(rows)}], **top}


def row(label, *seats: dict, **extra) -> dict:
    return {"label": label, "seats": list(seats), **extra}


def big_csv(n: int) -> str:
    # 100 seats a row, 50 rows a section: the shape of a large arena.
    return csv_of(*(f"S{i // 5000},{i // 100 % 50},{i % 100},{i % 100},{i // 100 % 50},,"
                    for i in range(n)))


# --- CSV: what a venue's file looks like -------------------------------------------------


def test_csv_seats_land_in_sections_and_rows():
    spec = parse_csv(csv_of("Stalls,A,1,0,0,vip,aisle",
                            "Stalls,A,2,1.5,0,,",
                            "Balcony,A,1,0,10,press,accessible blocked"))

    assert [s.name for s in spec.sections] == ["Stalls", "Balcony"]
    assert spec.seat_count == 3
    assert spec.categories == list(DEFAULT_CATEGORIES)
    assert seats_of(spec) == {
        "Stalls/A/1": (0.0, 0.0, "vip", ("aisle",), None),
        "Stalls/A/2": (1.5, 0.0, "standard", (), None),  # no category: standard
        "Balcony/A/1": (0.0, 10.0, "press", ("accessible", "blocked"), None),
    }


def test_csv_header_columns_in_any_order_and_case():
    spec = parse_csv(csv_of("vip,1,0,A,Stalls,7,", header=" Category ,SEAT,Y,Row,section,X,attributes"))

    assert seats_of(spec) == {"Stalls/A/1": (7.0, 0.0, "vip", (), None)}


def test_csv_duplicate_seat_names_both_lines():
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,,",
                                         "Stalls,A,2,1,0,,",
                                         "Stalls,B,1,0,1,,",
                                         "Stalls,A,1,5,0,,"))

    assert list(fields) == ["line 5"]
    assert "line 2" in fields["line 5"][0] and "'1'" in fields["line 5"][0]


def test_csv_same_seat_label_in_other_rows_is_fine():
    spec = parse_csv(csv_of("Stalls,A,1,0,0,,", "Stalls,B,1,0,1,,", "Balcony,A,1,0,9,,"))

    assert spec.seat_count == 3


def test_csv_unknown_category_lists_the_maps_categories():
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,gold,", "Stalls,A,2,1,0,vip,"),
                       categories=["standard", "premium"])

    assert list(fields) == ["line 2", "line 3"]
    assert "'gold'" in fields["line 2"][0]
    assert "standard, premium" in fields["line 2"][0]


def test_csv_category_is_case_insensitive():
    spec = parse_csv(csv_of("Stalls,A,1,0,0, VIP ,"))

    assert seats_of(spec)["Stalls/A/1"][2] == "vip"


@pytest.mark.parametrize("line, found", [("Stalls,A,1,0,0,", 6), ("Stalls,A,1,0,0,,,", 8)])
def test_csv_wrong_number_of_values(line, found):
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,,", line))

    assert fields == {"line 3": [f"Expected 7 values, found {found}."]}


@pytest.mark.parametrize("x", ["left", "", "1.2.3", "nan", "inf", "1e400"])
def test_csv_x_not_a_number(x):
    fields = fields_of(parse_csv, csv_of(f"Stalls,A,1,{x},0,,"))

    assert list(fields) == ["line 2"]
    assert fields["line 2"][0].startswith("x is not a number")


def test_csv_every_problem_of_a_line_is_reported():
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,a,b,,wheelchair"))

    messages = " ".join(fields["line 2"])
    assert "x is not a number" in messages and "y is not a number" in messages
    assert "'wheelchair'" in messages


@pytest.mark.parametrize("header, expected", [
    ("section,row,seat,x,y,category", "missing column(s): attributes"),
    ("section,row,seat,x,y,category,attributes,colour", "unknown column(s): colour"),
    ("section,row,seat,x,x,y,category,attributes", "a column is named twice"),
    ("Block,Row,Seat,X,Y,Category,Attributes", "missing column(s): section"),
])
def test_csv_bad_header(header, expected):
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,,", header=header))

    assert list(fields) == ["line 1"]
    assert expected in fields["line 1"][0]


@pytest.mark.parametrize("text", ["", "\n\nsection,row,seat,x,y,category,attributes\n"])
def test_csv_header_must_come_first(text):
    assert list(fields_of(parse_csv, text)) == ["line 1"]


def test_csv_with_semicolons_reads_decimal_commas():
    text = csv_of("Stalls;A;1;1,5;-0,25;vip;aisle", header=HEADER.replace(",", ";"))

    assert seats_of(parse_csv(text)) == {"Stalls/A/1": (1.5, -0.25, "vip", ("aisle",), None)}


def test_csv_with_commas_refuses_a_decimal_comma_that_may_be_thousands():
    # "1,500" quoted in a comma-separated file is as likely 1500 as 1.5: ask, don't guess.
    fields = fields_of(parse_csv, csv_of('Stalls,A,1,"1,500",0,,'))

    assert "'1,500'" in fields["line 2"][0] and "';'" in fields["line 2"][0]


def test_csv_utf8_byte_order_mark_is_ignored():
    spec = parse_csv("\ufeff" + csv_of("Parterre,Reihe 1,Platz 1,0,0,,"))

    assert list(seats_of(spec)) == ["Parterre/Reihe 1/Platz 1"]


def test_csv_blank_lines_are_skipped_but_counted_in_line_numbers():
    text = csv_of("", "Stalls,A,1,0,0,,", "   ", ",,,,,,", "Stalls,A,1,1,0,,")

    fields = fields_of(parse_csv, text)

    assert list(fields) == ["line 6"]
    assert "line 3" in fields["line 6"][0]
    assert parse_csv(csv_of("", "Stalls,A,1,0,0,,", "", "")).seat_count == 1


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_csv_windows_and_old_mac_line_endings(newline):
    text = newline.join([HEADER, "Stalls,A,1,0,0,,", "Stalls,A,1,1,0,,", ""])

    assert list(fields_of(parse_csv, text)) == ["line 3"]


@pytest.mark.parametrize("attributes", ["aisle;accessible", "aisle|accessible", "aisle accessible",
                                        " Accessible  |  AISLE ", "accessible; aisle"])
def test_csv_attribute_separators(attributes):
    spec = parse_csv(csv_of(f'Stalls,A,1,0,0,,"{attributes}"'))

    assert seats_of(spec)["Stalls/A/1"][3] == ("accessible", "aisle")


def test_csv_unknown_attribute_lists_the_known_ones():
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,,aisle;wheelchair"))

    assert fields == {"line 2": ["Unknown attribute 'wheelchair'; known: accessible, aisle, blocked."]}


@pytest.mark.parametrize("line", ["Stalls/Left,A,1,0,0,,", "Stalls,A/B,1,0,0,,", "Stalls,A,1/2,0,0,,",
                                  "Stalls, ,1,0,0,,", "Stalls,A," + "9" * 41 + ",0,0,,"])
def test_csv_bad_labels(line):
    fields = fields_of(parse_csv, csv_of(line))

    assert list(fields) == ["line 2"]
    assert "without '/'" in fields["line 2"][0]


def test_csv_rows_are_sorted_left_to_right_whatever_the_input_order():
    spec = parse_csv(csv_of("Stalls,A,3,20,0,,", "Stalls,B,1,0,1,,", "Stalls,A,1,-5,0,,",
                            "Stalls,A,2,7.5,0,,", "Stalls,A,10,100,0,,"))

    assert labels_in_row(spec, "Stalls", "A") == ["1", "2", "3", "10"]


def test_csv_rank_column_is_optional_and_may_be_blank():
    spec = parse_csv(csv_of("Stalls,A,1,0,0,,,2", "Stalls,A,2,1,0,,,", header=HEADER + ",rank"))

    assert seats_of(spec)["Stalls/A/1"][4] == 2.0
    assert seats_of(spec)["Stalls/A/2"][4] is None
    fields = fields_of(parse_csv, csv_of("Stalls,A,1,0,0,,,best", header=HEADER + ",rank"))
    assert fields["line 2"][0].startswith("rank is not a number")


def test_csv_more_errors_than_reported_are_counted():
    lines = [f"Stalls,A,{i},left,0,," for i in range(MAX_ERRORS + 30)]

    with pytest.raises(ValidationFailed) as caught:
        parse_csv(csv_of(*lines))

    assert len(caught.value.details["fields"]) == MAX_ERRORS
    assert "line 2" in caught.value.details["fields"]
    assert caught.value.details["more_errors"] == 30


def test_csv_no_more_errors_key_when_all_are_reported():
    with pytest.raises(ValidationFailed) as caught:
        parse_csv(csv_of("Stalls,A,1,left,0,,"))

    assert "more_errors" not in caught.value.details


def test_csv_of_50000_seats_is_read():
    spec = parse_csv(big_csv(MAX_SEATS))

    assert spec.seat_count == MAX_SEATS
    assert len(spec.sections) == 10


def test_csv_of_50001_seats_is_refused_at_the_seat_too_many():
    fields = fields_of(parse_csv, big_csv(MAX_SEATS + 1))

    assert fields == {f"line {MAX_SEATS + 2}": ["A map holds at most 50,000 seats."]}


def test_the_seat_limit_is_reported_even_past_the_error_limit():
    bad = [f"Bad,A,{i},left,0,," for i in range(MAX_ERRORS + 5)]
    text = csv_of(*bad) + big_csv(MAX_SEATS).split("\n", 1)[1]

    fields = fields_of(parse_csv, text)

    assert "A map holds at most 50,000 seats." in fields[f"line {MAX_SEATS + 2}"]


# --- JSON: strict, problems named by path --------------------------------------------------


def test_json_map_is_read_with_rows_sorted_left_to_right():
    spec = parse_map(map_json(row("A", seat("2", 1), seat("1", 0, category="vip", rank=3),
                                  seat("3", 2, attributes=["aisle"])),
                              stage_x=4, categories=["standard", "vip"]))

    assert spec.stage_x == 4.0
    assert spec.categories == ["standard", "vip"]
    assert labels_in_row(spec, "Stalls", "A") == ["1", "2", "3"]
    assert seats_of(spec)["Stalls/A/1"] == (0.0, 0.0, "vip", (), 3.0)
    assert seats_of(spec)["Stalls/A/3"][3] == ("aisle",)


def test_json_categories_default_and_a_seat_without_one_is_standard():
    spec = parse_map(map_json(row("A", {"label": "1", "x": 0, "y": 0})))

    assert spec.categories == list(DEFAULT_CATEGORIES)
    assert seats_of(spec)["Stalls/A/1"] == (0.0, 0.0, "standard", (), None)


def test_json_duplicate_seat_names_both_places():
    fields = fields_of(parse_map, map_json(row("A", seat("1", 0), seat("2", 1), seat("1", 2))))

    assert list(fields) == ["sections.0.rows.0.seats.2.label"]
    assert "sections.0.rows.0.seats.0" in fields["sections.0.rows.0.seats.2.label"][0]


def test_json_duplicate_rows_and_sections():
    twice_row = fields_of(parse_map, map_json(row("A", seat("1", 0)), row("A", seat("2", 1))))
    twice_section = fields_of(parse_map, {"sections": [
        {"name": "Stalls", "rows": [row("A", seat("1", 0))]},
        {"name": "Stalls", "rows": [row("B", seat("1", 0))]}]})

    assert list(twice_row) == ["sections.0.rows.1.label"]
    assert list(twice_section) == ["sections.1.name"]


def test_json_unknown_category_is_named_at_the_seat_category_and_lists_the_categories():
    fields = fields_of(parse_map, map_json(row("A", seat("1", 0), seat("2", 1, category="gold")),
                                           categories=["standard", "premium"]))

    assert list(fields) == ["sections.0.rows.0.seats.1.category"]
    assert "'gold'" in fields["sections.0.rows.0.seats.1.category"][0]
    assert "standard, premium" in fields["sections.0.rows.0.seats.1.category"][0]


def test_json_seat_needs_a_category_when_the_map_has_no_standard():
    fields = fields_of(parse_map, map_json(row("A", {"label": "1", "x": 0, "y": 0}),
                                           categories=["premium"]))

    assert list(fields) == ["sections.0.rows.0.seats.0.category"]


@pytest.mark.parametrize("categories", [[], "vip", ["VIP"], ["vip", "vip"], [3]])
def test_json_bad_categories(categories):
    fields = fields_of(parse_map, {"categories": categories, "sections": []})

    assert all(key.startswith("categories") for key in fields)


def test_json_breaks_after_names_seats_of_the_row():
    spec = parse_map(map_json(row("A", seat("1", 0), seat("2", 1), seat("3", 5),
                                  breaks_after=["2"])))
    fields = fields_of(parse_map, map_json(row("A", seat("1", 0), seat("2", 1),
                                               breaks_after=["2", "9"])))

    assert spec.sections[0].rows[0].breaks_after == ["2"]
    assert list(fields) == ["sections.0.rows.0.breaks_after.1"]
    assert "'9'" in fields["sections.0.rows.0.breaks_after.1"][0]


def test_json_breaks_after_is_not_blamed_for_another_error_of_its_seat():
    fields = fields_of(parse_map, map_json(row("A", seat("1", "0"), seat("2", 1),
                                               breaks_after=["1"])))

    assert list(fields) == ["sections.0.rows.0.seats.0.x"]


@pytest.mark.parametrize("data, where", [
    ({"sections": [], "venue": "x"}, "venue"),
    ({"sections": [{"name": "S", "rows": [], "colour": "red"}]}, "sections.0.colour"),
    (map_json(row("A", seat("1", 0), note="front")), "sections.0.rows.0.note"),
    (map_json(row("A", {**seat("1", 0), "price": 10})), "sections.0.rows.0.seats.0.price"),
])
def test_json_unknown_fields_are_refused(data, where):
    assert fields_of(parse_map, data) == {where: ["Unknown field."]}


@pytest.mark.parametrize("x", ["1", "1.5", True, None, float("nan"), float("inf"),
                               pytest.param(10 ** 400, id="int-beyond-float")])
def test_json_x_must_be_a_json_number(x):
    # JSON is strict: strings are not read as numbers there, unlike CSV.
    fields = fields_of(parse_map, map_json(row("A", seat("1", x))))

    assert fields == {"sections.0.rows.0.seats.0.x": ["Must be a number."]}


def test_json_rank_must_be_a_number():
    fields = fields_of(parse_map, map_json(row("A", seat("1", 0, rank="1"))))

    assert fields == {"sections.0.rows.0.seats.0.rank": ["Must be a number or null."]}


@pytest.mark.parametrize("stage_x", ["3", False])
def test_json_stage_x_must_be_a_number(stage_x):
    fields = fields_of(parse_map, map_json(row("A", seat("1", 0)), stage_x=stage_x))

    assert fields == {"stage_x": ["Must be a number or null."]}


def test_json_unknown_attribute_and_label_with_slash():
    fields = fields_of(parse_map, map_json(row("A/B", seat("1/2", 0, attributes=["aisle", "vip"]))))

    assert set(fields) == {"sections.0.rows.0.label", "sections.0.rows.0.seats.0.label",
                           "sections.0.rows.0.seats.0.attributes"}
    assert "'vip'" in fields["sections.0.rows.0.seats.0.attributes"][0]


@pytest.mark.parametrize("data", [[], "map", {"sections": {}}, {"sections": [{"name": "S"}]},
                                  map_json({"label": "A"}), map_json(row("A", "1"))])
def test_json_wrong_shapes(data):
    assert fields_of(parse_map, data)


def test_json_of_50001_seats_is_refused():
    seats = [seat(str(i), i) for i in range(MAX_SEATS + 1)]

    fields = fields_of(parse_map, map_json(row("A", *seats)))

    assert fields == {f"sections.0.rows.0.seats.{MAX_SEATS}": ["A map holds at most 50,000 seats."]}


# --- export and round trips -----------------------------------------------------------------


def test_json_round_trip():
    data = {"categories": ["standard", "vip", "box"], "stage_x": -2.5, "sections": [
        {"name": "Stalls", "rows": [
            row("A", seat("3", 2.25, 1, "vip", ["aisle"]), seat("1", 0, 1, rank=1),
                seat("2", 1, 1, "box", ["blocked", "accessible"], rank=0.5), breaks_after=["2"]),
            row("B", seat("1", 0, 2))]},
        {"name": "Balcony", "rows": [row("1", seat("Ä 1", 0.1 + 0.2, 9))]}]}
    spec = parse_map(data)

    again = parse_map(export_json(spec))

    assert again == spec
    assert export_json(again) == export_json(spec)


def test_export_json_with_occupancy_names_ids_and_occupants_and_reads_back():
    spec = parse_map(map_json(row("A", seat("1", 0), seat("2", 1))))

    exported = export_json(spec, {"Stalls/A/2": {"registration_id": "r1"}})

    seats = exported["sections"][0]["rows"][0]["seats"]
    assert [(s["id"], s["occupant"]) for s in seats] == [
        ("Stalls/A/1", None), ("Stalls/A/2", {"registration_id": "r1"})]
    assert parse_map(exported) == spec  # a downloaded map can be uploaded again
    assert "id" not in export_json(spec)["sections"][0]["rows"][0]["seats"][0]


def test_csv_round_trip_with_rank():
    text = csv_of('Stalls,A,2,1.5,0,vip,"aisle|accessible",',
                  "Stalls,A,1,0,0,,,1",
                  '"Upper, east","Row ""B""",1,0.1,-3.25,box,blocked,0.75',
                  header=HEADER + ",rank")
    spec = parse_csv(text, categories=["standard", "vip", "box"])

    exported = export_csv(spec)

    assert exported.splitlines()[0] == HEADER + ",rank"
    assert parse_csv(exported, categories=["standard", "vip", "box"]) == spec


def test_csv_round_trip_without_rank_has_no_rank_column():
    spec = parse_csv(csv_of("Stalls,A,1,0,0,,", "Stalls,A,2,1e-7,0,press,aisle"))

    exported = export_csv(spec)

    assert exported.splitlines()[0] == HEADER
    assert parse_csv(exported) == spec


def test_csv_of_50000_seats_round_trips():
    spec = parse_csv(big_csv(MAX_SEATS))

    assert parse_csv(export_csv(spec)) == spec


def test_stored_map_unpacks_to_the_same_spec():
    spec = parse_map(map_json(row("A", seat("1", 0, rank=2, attributes=["aisle"]), seat("2", 1),
                                  breaks_after=["1"]), stage_x=1, categories=["standard", "vip"]))
    document = SeatMap(tenant_id="t", conference_id="c", categories=spec.categories,
                       open_categories=spec.open_categories, stage_x=spec.stage_x,
                       sections=packed_sections(spec), updated_by="u")

    assert spec.open_categories == ["standard"]
    assert unpack(document) == spec
    assert unpack({"categories": spec.categories, "open_categories": ["standard"], "stage_x": 1.0,
                   "sections": packed_sections(spec)}) == spec


def test_open_categories_are_categories_of_the_map():
    spec = parse_map(map_json(row("A", seat("1", 0)), categories=["standard", "vip", "press"],
                              open_categories=["standard", "press"]))
    assert spec.open_categories == ["standard", "press"]
    with pytest.raises(ValidationFailed) as caught:
        parse_map(map_json(row("A", seat("1", 0)), open_categories=["balcony"]))
    assert "balcony" in caught.value.details["fields"]["open_categories"][0]


# --- occupied seats -------------------------------------------------------------------------

BEFORE = csv_of("Stalls,A,1,0,0,,", "Stalls,A,2,1,0,,", "Stalls,A,3,2,0,vip,",
                "Stalls,A,4,3,0,,", "Stalls,A,5,4,0,,")


def stored(text: str) -> SeatMap:
    spec = parse_csv(text)
    return SeatMap(tenant_id="t", conference_id="c", categories=spec.categories,
                   sections=packed_sections(spec), updated_by="u")


def test_occupied_seats_removed_recategorised_or_blocked_are_reported():
    after = parse_csv(csv_of("Stalls,A,2,1,0,press,", "Stalls,A,3,2,0,vip,blocked",
                             "Stalls,A,4,3,0,,", "Stalls,A,5,4,0,,"))
    occupied = {"Stalls/A/1": "r1", "Stalls/A/2": "r2", "Stalls/A/3": "r3", "Stalls/A/4": "r4"}

    conflicts = occupied_conflicts(stored(BEFORE), after, occupied)

    assert conflicts == [
        {"seat": "Stalls/A/1", "registration_id": "r1", "problem": "removed"},
        {"seat": "Stalls/A/2", "registration_id": "r2", "problem": "category standard → press"},
        {"seat": "Stalls/A/3", "registration_id": "r3", "problem": "blocked"},
    ]


def test_free_seats_may_move_change_or_go_and_occupied_ones_may_move():
    after = parse_csv(csv_of("Stalls,A,1,0.5,1,,accessible", "Stalls,A,3,2,0,press,blocked",
                             "Stalls,A,6,9,0,,"))

    assert occupied_conflicts(stored(BEFORE), after, {"Stalls/A/1": "r1"}) == []


def test_no_conflicts_without_a_stored_map_or_occupants():
    empty = parse_csv(csv_of())

    assert occupied_conflicts(None, empty, {"Stalls/A/1": "r1"}) == []
    assert occupied_conflicts(stored(BEFORE), empty, {}) == []
