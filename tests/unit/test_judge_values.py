"""Values of Python's and NumPy's common immutable types cross between the student's kernel and the judge as
data (coursekit/judge/values.py), rebuilt exactly: the same type, equal, hashing the same, both ways (a student
function's result, a judge's argument), nested in containers; malformed data for them is a ProtocolError; a
value that cannot cross as data (a NumPy scalar of a structured dtype, a datetime with a zoneinfo) is a handle,
never an error out of the encoder."""
from __future__ import annotations

import collections
import datetime as dt
import decimal
import fractions
import typing

import numpy as np
import pytest

from coursekit.judge.proxies import Remote
from coursekit.judge.values import Decoder, Encoder
from coursekit.judge.wire import MAX_TEXT, ProtocolError

Point = collections.namedtuple("Point", "x y")


class Pair(typing.NamedTuple):
    a: int
    b: str = "z"


class WithMethod(typing.NamedTuple):
    a: int

    def twice(self):
        return 2 * self.a


class Sub(Point):
    def norm(self):
        return abs(self.x) + abs(self.y)


_TZ = dt.timezone(dt.timedelta(hours=-5, minutes=-30), "Somewhere")

VALUES = {
    "decimal": decimal.Decimal("0.30"),
    "decimal-exp": decimal.Decimal("-1.20E+400"),
    "decimal-zero": decimal.Decimal("-0.000"),
    "decimal-inf": decimal.Decimal("-Infinity"),
    "decimal-many-digits": decimal.Decimal("3." + "14159" * 40),
    "fraction": fractions.Fraction(11, 6),
    "fraction-big": fractions.Fraction(-3 ** 100, 2 ** 90),
    "fraction-int": fractions.Fraction(4),
    "date": dt.date(2024, 1, 8),
    "datetime": dt.datetime(2024, 1, 8, 3, 4, 5, 678),
    "datetime-utc": dt.datetime(2024, 1, 8, 12, tzinfo=dt.timezone.utc),
    "datetime-offset-fold": dt.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=_TZ),
    "time": dt.time(23, 59, 59, 999_999),
    "time-tz": dt.time(1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "timedelta": dt.timedelta(days=-3, seconds=5, microseconds=7),
    "timezone": _TZ,
    "utc": dt.timezone.utc,
    "range": range(3),
    "range-step": range(10, -20, -3),
    "range-big": range(2 ** 70, 2 ** 71, 2 ** 65),
    "np-str": np.str_("ann"),
    "np-bytes": np.bytes_(b"x\x00y"),
}


def _round_trip(value):
    handles = []
    v = Encoder(lambda o: handles.append(o) or len(handles))(value)
    return v, Decoder(lambda h, info: ("proxy", h), lambda h: None)(v)


def _same(got, want):
    assert type(got) is type(want), (type(got), type(want))
    assert got == want and hash(got) == hash(want)
    assert repr(got) == repr(want)


@pytest.mark.parametrize("name", VALUES)
def test_each_value_crosses_as_data_and_is_rebuilt_exactly(name):
    value = VALUES[name]
    v, got = _round_trip(value)
    assert v[0] != "H"
    _same(got, value)
    if isinstance(value, dt.datetime):
        assert got.fold == value.fold and got.tzinfo == value.tzinfo and type(got.tzinfo) is type(value.tzinfo)
        assert got.tzname() == value.tzname()


def test_decimal_specials_keep_their_sign_payload_and_exponent_whatever_the_context():
    values = [decimal.Decimal(t) for t in ("NaN", "-NaN", "sNaN12", "Infinity", "-0", "1E+3", "1000", "0.10")]
    with decimal.localcontext() as ctx:
        ctx.capitals = 0                      # (str() writes 'e' then: read back all the same)
        ctx.prec = 3
        ctx.traps[decimal.InvalidOperation] = False
        got = [_round_trip(x)[1] for x in values]
    for x, y in zip(values, got):
        assert type(y) is decimal.Decimal and x.as_tuple() == y.as_tuple()


def test_fraction_of_ints_larger_than_64_bits_and_sizes_the_encoder_cannot_send():
    f = fractions.Fraction(7 ** 400, 3 ** 500)
    v, got = _round_trip(f)
    assert v[0] == "FR" and v[1][0] == "BI" and v[2][0] == "BI"
    _same(got, f)
    huge = fractions.Fraction(10 ** 5000 + 1, 3)          # over Python's cap on an int's digits: a handle
    assert _round_trip(huge)[0][0] == "H"
    assert _round_trip(10 ** 5000)[0][0] == "H"           # (a plain int that large: a handle too, no error)


def test_namedtuples_are_rebuilt_as_one_class_per_class_with_the_same_fields():
    for value in (Point(1, 2.5), Pair(3), Point(Point(1, 2), [3, {"k": Pair(1, "b")}])):
        v, got = _round_trip(value)
        assert v[0] == "NT"
        cls = type(got)
        assert issubclass(cls, tuple) and cls.__name__ == type(value).__name__ and cls._fields == value._fields
        assert cls.__qualname__ == type(value).__qualname__ and cls.__module__ == type(value).__module__
        assert got == value and got == tuple(value) and got._asdict() == value._asdict()
        assert type(_round_trip(value)[1]) is cls              # the same class for every value of one class
    a, b = _round_trip(Point(1, 2))[1], _round_trip(Point(1, 2))[1]
    assert type(a) is type(b) and a == b and hash(a) == hash(b) and a.y == 2 and a[0] == 1
    assert type(_round_trip(Pair(1))[1]) is not type(a)
    # a class with anything of its own (a method, another base) is the student's code: a handle
    assert _round_trip(WithMethod(1))[0][0] == "H"
    assert _round_trip(Sub(1, 2))[0][0] == "H"


def test_values_nested_in_containers_and_shared_objects():
    value = {"d": [VALUES["decimal"], VALUES["fraction"]], "when": (VALUES["date"], VALUES["datetime-utc"]),
             VALUES["date"]: {VALUES["range"], VALUES["fraction"]}, "p": Point(VALUES["timedelta"], np.str_("u"))}
    v, got = _round_trip(value)
    assert got == value
    assert type(got["d"][0]) is decimal.Decimal and type(got["when"][1]) is dt.datetime
    assert type(next(iter(got[VALUES["date"]] - {range(3)}))) is fractions.Fraction
    assert type(got["p"].x) is dt.timedelta and type(got["p"].y) is np.str_


def test_numpy_text_arrays_and_dtypes_cross_as_data_with_their_dtype():
    for a in (np.array(["ann", "bob"]), np.array([b"a", b"bcd"]), np.array([["x", "yz"], ["", "w"]]).T,
              np.array("one"), np.array([], dtype="U4"), np.array(["é€😀"]).astype(">U3")):
        v, got = _round_trip(a)
        assert v[0] == "ND" and type(got) is np.ndarray and got.dtype == a.dtype and got.shape == a.shape
        assert (got == a).all()
    for d in (np.dtype("<U7"), np.dtype("S3")):
        v, got = _round_trip(d)
        assert v[0] == "NDT" and got == d


def test_structured_arrays_cross_as_data_with_their_dtype_offsets_and_alignment():
    people = np.array([("ann", 31, 1.6), ("bob", 25, 1.8)], dtype=[("name", "U10"), ("age", "i4"), ("h", "f8")])
    aligned = np.dtype({"names": ["x", "y"], "formats": ["u1", "f8"], "aligned": True})
    for a in (people, np.zeros((2, 3), dtype=[("s", "U2", (2,)), ("sub", [("a", "u1"), ("b", ">f4", (2,))])]),
              np.ones(3, dtype=aligned), np.ones(2, dtype={"names": ["x", "y"], "formats": ["u1", "f8"],
                                                            "offsets": [8, 0], "itemsize": 24})):
        v, got = _round_trip(a)
        assert v[0] == "NDS" and type(got) is np.ndarray and got.dtype == a.dtype and got.shape == a.shape
        assert got.dtype.isalignedstruct == a.dtype.isalignedstruct and (got == a).all()
    got = _round_trip(people)[1]
    assert np.sort(got, order="age")[0]["name"] == "bob" and got.dtype.names == ("name", "age", "h")
    for a in (np.zeros(2, dtype=[("o", "O")]), np.zeros(2, dtype=[(("T", "t"), "i4")]),
              np.zeros(2, dtype=[("d", "M8[D]")])):
        assert _round_trip(a)[0][0] == "H"            # objects, titles, datetimes: a handle


def test_numpy_scalars_and_dtypes_that_are_not_data_are_handles_not_errors():
    """Before: ``NotData: NumPy scalar of dtype ...`` out of the encoder (a RemoteError in the test cell)."""
    people = np.array([("ann", 31, 1.6), ("bob", 25, 1.8)], dtype=[("name", "U10"), ("age", "i4"), ("h", "f8")])
    for value in (people[0], people.dtype, np.datetime64("2024-01-02"), np.timedelta64(3, "D"), [people[1], 1]):
        v, got = _round_trip(value)
        inner = v[1][0] if v[0] == "L" else v
        assert inner[0] == "H", v


def test_only_a_fixed_offset_crosses_as_data_a_tzinfo_of_rules_makes_a_handle():
    class Zone(dt.tzinfo):
        def utcoffset(self, d):
            return dt.timedelta(hours=1)

        def dst(self, d):
            return dt.timedelta(0)
    for value in (dt.datetime(2024, 1, 1, tzinfo=Zone()), dt.time(1, tzinfo=Zone())):
        assert _round_trip(value)[0][0] == "H"
    fixed = dt.timezone(dt.timedelta(hours=1))
    for value in (dt.datetime(2024, 1, 1, tzinfo=fixed), dt.time(1, tzinfo=fixed)):
        v, got = _round_trip(value)
        assert v[0] in ("DTM", "TIME") and got.tzinfo == fixed
        _same(got, value)


STUDENT_RESULTS = dict(VALUES, point=Point(1, 2.5), pair=Pair(2, "q"), np_text=np.array(["ann", "bob"]),
                       np_struct=np.array([("ann", 31), ("bob", 25)], dtype=[("name", "U10"), ("age", "i4")]))


@pytest.mark.parametrize("name", STUDENT_RESULTS)
def test_through_the_protocol_as_a_student_result_and_a_judge_argument(name, remote):
    """``fn(value)`` in a test cell: the argument is rebuilt in the student's kernel, the student's result in
    the judge; the student's own check of what it was given comes back too."""
    want = STUDENT_RESULTS[name]

    def fn(x):
        if isinstance(want, np.ndarray):
            same = type(x) is np.ndarray and x.dtype == want.dtype and bool((x == want).all())
        else:
            same = type(x).__name__ == type(want).__name__ and x == want and hash(x) == hash(want)
        return [same, x, want, [want]]
    same, echoed, result, nested = remote(fn)(want)
    assert same is True
    for got in (echoed, result, nested[0]):
        assert not isinstance(got, Remote)
        if isinstance(want, np.ndarray):
            assert type(got) is np.ndarray and got.dtype == want.dtype and (got == want).all()
        elif isinstance(want, tuple) and type(want) is not tuple:
            assert type(got).__name__ == type(want).__name__ and got._fields == want._fields and got == want
        else:
            _same(got, want)


def test_a_structured_numpy_scalar_from_the_student_is_a_handle_the_test_can_use(remote):
    people = np.array([("ann", 31), ("bob", 25)], dtype=[("name", "U10"), ("age", "i4")])
    first = remote(lambda i: people[i])(0)
    assert isinstance(first, Remote)
    assert remote(lambda p: str(p["name"]))(first) == "ann"
    name = remote(lambda i: people[i]["name"])(1)
    assert type(name) is np.str_ and name == "bob"
    assert remote(lambda: people.dtype)().names == ("name", "age")


@pytest.mark.parametrize("value, words", [
    (["DEC", "1.2.3"], "malformed Decimal"),
    (["DEC", "__import__('os')"], "malformed Decimal"),
    (["DEC", 1.5], "malformed Decimal"),
    (["DEC", "1" * (MAX_TEXT + 1)], "malformed Decimal"),
    (["DEC", "1E+999999999999999999999"], "malformed Decimal"),
    (["DEC"], "DEC value has 1 fields"),
    (["FR", ["I", 1]], "FR value has 2 fields"),
    (["FR", ["I", 1], ["I", 0]], "malformed Fraction"),
    (["FR", ["I", 2], ["I", 4]], "malformed Fraction"),
    (["FR", ["I", 1], ["I", -3]], "malformed Fraction"),
    (["FR", 1, 3], "malformed int"),
    (["FR", ["F", 1.0], ["I", 3]], "malformed int"),
    (["FR", ["BI", "9" * 6000], ["I", 3]], "malformed int"),
    (["RG", ["I", 0], ["I", 3], ["I", 0]], "malformed range"),
    (["RG", ["I", 0], ["I", 3]], "RG value has 3 fields"),
    (["RG", ["S", "0"], ["I", 3], ["I", 1]], "malformed int"),
    (["DATE", 2024, 2, 30], "malformed date"),
    (["DATE", 2024, 2], "DATE value has 3 fields"),
    (["DATE", 2024, 2, "1"], "malformed DATE"),
    (["DATE", True, 2, 1], "malformed DATE"),
    (["DTM", 2024, 1, 1, 25, 0, 0, 0, 0, ["N"]], "malformed datetime"),
    (["DTM", 2024, 1, 1, 0, 0, 0, 0, 2, ["N"]], "malformed datetime"),
    (["DTM", 2024, 1, 1, 0, 0, 0, 0, 0], "DTM value has 9 fields"),
    (["DTM", 2024, 1, 1, 0, 0, 0, 0.5, 0, ["N"]], "malformed DTM"),
    (["DTM", 2024, 1, 1, 0, 0, 0, 0, 0, ["H", 1, ["x", "object", ""], 0]], "malformed tzinfo"),
    (["TIME", 1, 2, 3, 4, 0, ["TZ", ["TD", 1, 0, 0], ["N"]]], "malformed timezone"),
    (["TIME", 1, 2, 3, 4, 0], "TIME value has 6 fields"),
    (["TIME", 1, 60, 3, 4, 0, ["N"]], "malformed time"),
    (["TD", 0, 86400, 0], "malformed timedelta"),
    (["TD", 0, 0, -1], "malformed timedelta"),
    (["TD", 10 ** 10, 0, 0], "malformed timedelta"),
    (["TD", 0, 0], "TD value has 3 fields"),
    (["TD", 0, 0, 1.0], "malformed TD"),
    (["TZ", ["TD", 0, 0, 0], ["S", "x" * 501]], "malformed timezone"),
    (["TZ", ["TD", 0, 0, 0], "UTC"], "malformed timezone"),
    (["TZ", ["I", 0], ["N"]], "malformed timezone"),
    (["TZ", ["TD", 0, 0, 0]], "TZ value has 2 fields"),
    (["NU", b"x"], "malformed NumPy str"),
    (["NU"], "NU value has 1 fields"),
    (["NB", "x"], "malformed NumPy bytes"),
    (["NT", "P", ["x"], "m", "P", [["I", 1]]], "NT value has 6 fields"),
    (["NT", "P", ["x", "y"], "m", "P", [["I", 1]], 0], "another number of items"),
    (["NT", "P", ["x", "x"], "m", "P", [["I", 1], ["I", 2]], 0], "malformed namedtuple class"),
    (["NT", "P", ["_x"], "m", "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P", ["class"], "m", "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P; import os", ["x"], "m", "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P", ["x=os.system('x')"], "m", "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P", "x y", "m", "P", [["I", 1], ["I", 2]], 0], "malformed namedtuple class"),
    (["NT", "P", ["x"], "m" * 501, "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P", ["x"], 1, "P", [["I", 1]], 0], "malformed namedtuple class"),
    (["NT", "P", [f"f{i}" for i in range(1001)], "m", "P", [["I", 1]] * 1001, 0], "malformed namedtuple class"),
    (["ND", "<U2", [1], b"\xff\xff\xff\xff\0\0\0\0", 0], "out of Unicode's range"),
    (["ND", "<U2", [2], b"a\0\0\0" * 2, 0], "bytes do not match"),
    (["NDS", [[["a", "<i4", [], 0]], 4, False], [1], b"\0" * 4], "NDS value has 4 fields"),
    (["NDS", [[["a", "<i4", [], 0]], 4, False], [2], b"\0" * 4, 0], "bytes do not match"),
    (["NDS", [[["a", "|O", [], 0]], 8, False], [1], b"\0" * 8, 0], "not a numeric one"),
    (["NDS", [[["a", "<i4", [], 0], ["a", "<i4", [], 4]], 8, False], [1], b"\0" * 8, 0], "malformed structured"),
    (["NDS", [[["a", "<i4", [], 6]], 8, False], [1], b"\0" * 8, 0], "malformed structured"),
    (["NDS", [[["a", "<i4", [], 0]], 1 << 30, False], [1], b"\0" * 8, 0], "malformed structured"),
    (["NDS", [[], 4, False], [1], b"\0" * 4, 0], "malformed structured"),
    (["NDS", [[["a", "<i4", [], 0]], 4, 1], [1], b"\0" * 4, 0], "malformed structured"),
    (["NDS", [[["a", "<U1", [2], 0]], 8, False], [1], b"\xff" * 8, 0], "out of Unicode's range"),
])
def test_malformed_values_of_the_new_tags_are_protocol_errors(value, words):
    with pytest.raises(ProtocolError, match=words):
        Decoder(lambda h, i: None, lambda h: None)(value)
    with pytest.raises(ProtocolError, match=words):            # (nested: the same check)
        Decoder(lambda h, i: None, lambda h: None)(["L", [["I", 1], value], 0])
