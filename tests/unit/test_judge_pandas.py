"""pandas Series, DataFrames and Indexes cross between the student's kernel and the judge as data
(coursekit/judge/values.py: PDS, PDF, PDI, PRI), rebuilt exactly: the same class, dtypes, index, column names,
names (``assert_frame_equal``/``assert_series_equal`` pass, ``.equals`` is True), both ways; any other pandas
object (a MultiIndex, tz-aware or nullable dtypes, objects of other types, attrs) is a handle, never an error;
malformed data is a ProtocolError."""
from __future__ import annotations

import decimal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from coursekit.judge.proxies import Remote
from coursekit.judge.values import Decoder, Encoder
from coursekit.judge.wire import MAX_ITEMS, ProtocolError


def _round_trip(value):
    handles = []
    v = Encoder(lambda o: handles.append(o) or len(handles))(value)
    return v, Decoder(lambda h, info: ("proxy", h), lambda h: None)(v)


def _same(got, want):
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
        assert got.columns.dtype == want.columns.dtype and type(got.columns) is type(want.columns)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    else:
        pd.testing.assert_index_equal(got, want, exact=True)
        assert got.dtype == want.dtype
        if isinstance(want, (pd.DatetimeIndex, pd.TimedeltaIndex)):
            assert got.freq == want.freq
    idx = got if isinstance(got, pd.Index) else got.index
    assert type(idx) is type(want if isinstance(want, pd.Index) else want.index)
    assert got.equals(want)


_IDX = pd.Index(["r1", "r2", "r1"], name="row")
_COLUMNS = {
    "int8": np.array([1, -2, 3], dtype="i1"), "int16": np.array([1, -2, 3], dtype="i2"),
    "int32": np.array([1, -2, 3], dtype="i4"), "int64": np.array([1, -2, 2 ** 62], dtype="i8"),
    "uint8": np.array([1, 2, 255], dtype="u1"), "uint16": np.array([1, 2, 3], dtype="u2"),
    "uint32": np.array([1, 2, 3], dtype="u4"), "uint64": np.array([1, 2, 2 ** 64 - 1], dtype="u8"),
    "float32": np.array([1.5, np.nan, -np.inf], dtype="f4"), "float64": np.array([1.5, np.nan, 1e300]),
    "bool": np.array([True, False, True]), "complex64": np.array([1j, 2, np.nan], dtype="c8"),
    "complex128": np.array([1 + 2j, 0, -1j]),
    "str": pd.array(["a", None, "é€😀"], dtype="str"),
    "string-NA": pd.array(["a", None, "c"], dtype=pd.StringDtype("python", na_value=pd.NA)),
    "object": np.array(["a", 1, None], dtype=object),
    "object-mixed": np.array([True, 2.5, float("nan")], dtype=object),
    "datetime-ns": np.array(["2024-01-01", "NaT", "2024-03-01T12:00:00.000000001"], dtype="M8[ns]"),
    "datetime-us": np.array(["2024-01-01", "NaT", "1900-02-03"], dtype="M8[us]"),
    "timedelta-ns": pd.to_timedelta([1, None, -3], unit="ns").as_unit("ns").array,
    "timedelta-s": np.array([1, 2, 3], dtype="m8[s]"),
    "category-str": pd.Categorical(["x", "y", None], ordered=True),
    "category-int": pd.Categorical([3, 1, 3], categories=[3, 2, 1]),
}

SERIES = {f"series-{k}": pd.Series(v, index=_IDX, name=k) for k, v in _COLUMNS.items()}
INDEXES = {
    "range": pd.RangeIndex(2, 20, 3, name="q"), "range-empty": pd.RangeIndex(0),
    "index-str": pd.Index(["a", "b"], name="k"), "index-object": pd.Index(["a", 1], dtype=object),
    "index-int": pd.Index([5, 1, 5]), "index-uint8": pd.Index(np.array([1, 2], dtype="u1")),
    "index-float32": pd.Index(np.array([1.5, np.nan], dtype="f4")), "index-bool": pd.Index([True, False]),
    "index-complex": pd.Index([1j, 2]), "datetime": pd.DatetimeIndex(["2024-01-01", "2020-05-06"], name=3),
    "datetime-freq": pd.date_range("2024-01-01", periods=5, freq="2h", name="t"),
    "datetime-freq-month": pd.date_range("2024-01-31", periods=3, freq="ME"),
    "timedelta": pd.to_timedelta([1, 2], unit="D"), "timedelta-freq": pd.timedelta_range("1D", periods=3, freq="6h"),
    "categorical": pd.CategoricalIndex(["a", "b", "a"], categories=["b", "a"], ordered=True, name="c"),
}
FRAMES = {
    "frame-all": pd.DataFrame(dict(_COLUMNS), index=_IDX),
    "frame-range": pd.DataFrame({"x": range(4), "sq": [i * i for i in range(4)]}),
    "frame-empty": pd.DataFrame(),
    "frame-no-rows": pd.DataFrame({"a": pd.Series([], dtype="f4"), "b": pd.Series([], dtype="str")}),
    "frame-no-columns": pd.DataFrame(index=pd.Index([1, 2], name="i")),
    "frame-int-columns": pd.DataFrame(np.arange(6).reshape(2, 3)),
    "frame-duplicate-columns": pd.DataFrame([[1, "a", 2.0]], columns=["a", "b", "a"]),
    "frame-object-columns": pd.DataFrame({"a": [1]}).set_axis(pd.Index(["a"], dtype=object), axis=1),
    "frame-datetime-index": pd.DataFrame({"v": [1.0, 2, 3]}, index=pd.date_range("2024", periods=3, name="day")),
    "frame-category-columns": pd.DataFrame([[1, 2]], columns=pd.CategoricalIndex(["u", "v"])),
    "series-numpy-name": pd.DataFrame({"a": [1, 2]}).T.iloc[:, 0],
    "series-groupby": pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]}).groupby("k")["v"].sum(),
}
VALUES = {**SERIES, **INDEXES, **FRAMES}


@pytest.mark.parametrize("name", VALUES)
def test_each_pandas_value_crosses_as_data_and_is_rebuilt_exactly(name):
    value = VALUES[name]
    v, got = _round_trip(value)
    assert v[0] in ("PDS", "PDF", "PDI", "PRI"), v[0]
    _same(got, value)


def test_the_dtypes_of_a_frame_are_kept_column_by_column():
    df = FRAMES["frame-all"]
    got = _round_trip(df)[1]
    assert got.dtypes.tolist() == df.dtypes.tolist() and list(got.columns) == list(df.columns)
    assert got["category-str"].cat.ordered and list(got["category-int"].cat.categories) == [3, 2, 1]
    assert got["object"].tolist()[:2] == ["a", 1] and got["object"].tolist()[2] is None
    assert got.index.name == "row" and got.index.dtype == "str"
    got.loc["r2", "int8"] = 7                       # (the rebuilt frame is its own, writable)
    assert df.loc["r2", "int8"] == -2


def test_pandas_values_nested_in_containers_and_shared_objects():
    s, df, idx = SERIES["series-float64"], FRAMES["frame-range"], INDEXES["datetime-freq"]
    value = {"s": s, "frames": [df, (df, idx)], 1: s}
    v, got = _round_trip(value)
    _same(got["s"], s)
    _same(got["frames"][0], df)
    _same(got["frames"][1][1], idx)
    assert got["frames"][0] is got["frames"][1][0] and got["s"] is got[1]      # one object sent once


UNSUPPORTED = {
    "multiindex": pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
    "series-multiindex": pd.Series([1, 2], index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])),
    "frame-multi-columns": pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])),
    "tz-aware": pd.Series(pd.date_range("2024", periods=2, tz="UTC")),
    "tz-index": pd.date_range("2024", periods=2, tz="Europe/Paris"),
    "nullable-int": pd.Series([1, None], dtype="Int64"),
    "nullable-bool": pd.Series([True, None], dtype="boolean"),
    "period": pd.Series(pd.period_range("2024", periods=2, freq="M")),
    "period-index": pd.period_range("2024", periods=2, freq="M"),
    "interval-index": pd.interval_range(0, 2),
    "sparse": pd.Series(pd.arrays.SparseArray([0, 1, 0])),
    "object-decimal": pd.Series([decimal.Decimal(1)], dtype=object),
    "object-list": pd.Series([[1, 2]], dtype=object),
    "object-numpy-int": pd.Series([np.int64(1)], dtype=object),
    "float16": pd.Series(np.array([1], dtype="f2")),
    "tuple-name": pd.Series([1], name=("a", "b")),
    "timestamp-name": pd.Series([1], name=pd.Timestamp("2024-01-01")),
    "object-timestamp": pd.Series([pd.Timestamp("2024-01-01")], dtype=object),
    "categorical-object": pd.Series(pd.Categorical([decimal.Decimal(1)])),
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_other_pandas_values_are_handles_not_errors(name):
    value = UNSUPPORTED[name]
    v, got = _round_trip([value, 1])
    assert v[1][0][0] == "H", v[1][0][:2]
    assert got[0][0] == "proxy" and got[1] == 1


def test_attrs_flags_and_subclasses_make_a_handle():
    with_attrs = pd.DataFrame({"a": [1]})
    with_attrs.attrs["unit"] = "m"
    no_dups = pd.Series([1, 2]).set_flags(allows_duplicate_labels=False)

    class MySeries(pd.Series):
        pass
    for value in (with_attrs, no_dups, MySeries([1, 2]), pd.Series(["a"]).str):
        assert _round_trip(value)[0][0] == "H"


def test_sizes_over_the_caps_make_a_handle():
    wide = pd.DataFrame(np.zeros((1, 3)))
    import coursekit.judge.encode as encode
    old = encode.MAX_ITEMS
    encode.MAX_ITEMS = 2
    try:
        assert _round_trip(wide)[0][0] == "H"
        assert _round_trip(pd.Series([1, 2, 3]))[0][0] == "H"
    finally:
        encode.MAX_ITEMS = old


def test_pandas_is_not_imported_by_values_that_are_not_pandas_s():
    code = ("import sys\nfrom coursekit.judge.values import Decoder, Encoder\n"
            "v = Encoder(lambda o: 1)([1, 'x', {2: 3.0}, object()])\n"
            "Decoder(lambda h, i: None, lambda h: None)(['L', [['I', 1]], 0])\n"
            "assert 'pandas' not in sys.modules, 'imported by plain values'\n"
            "Decoder(lambda h, i: None, lambda h: None)(['PRI', 0, 3, 1, ['N'], 0])\n"
            "assert 'pandas' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


# -- through the protocol: a student function's result and a judge's argument ------------------------------
THROUGH = {k: VALUES[k] for k in ("series-str", "series-category-str", "series-datetime-ns", "series-object",
                                  "frame-all", "frame-range", "frame-duplicate-columns", "series-groupby",
                                  "datetime-freq", "range", "index-str", "categorical")}


@pytest.mark.parametrize("name", THROUGH)
def test_through_the_protocol_as_a_student_result_and_a_judge_argument(name, remote):
    want = THROUGH[name]

    def fn(x):
        try:
            _same(x, want)
            same = True
        except AssertionError:
            same = False
        return [same, x, want, {"k": [want]}]
    same, echoed, result, nested = remote(fn)(want)
    assert same is True
    for got in (echoed, result, nested["k"][0]):
        assert not isinstance(got, Remote)
        _same(got, want)


def test_the_tests_of_a_data_science_course_pass_on_the_judge_side(remote):
    def summary(rows):
        df = pd.DataFrame(rows, columns=["k", "v"])
        return df.groupby("k")["v"].sum()

    def frame(n):
        return pd.DataFrame({"x": range(n), "sq": [i * i for i in range(n)]})

    def add_total(df):
        return df.assign(total=df.sum(axis=1, numeric_only=True))
    s = remote(summary)([("a", 1), ("b", 2), ("a", 3)])
    assert isinstance(s, pd.Series) and s["a"] == 4 and s.loc["b"] == 2 and list(s.index) == ["a", "b"]
    pd.testing.assert_series_equal(s, pd.Series({"a": 4, "b": 2}, name="v").rename_axis("k"))
    df = remote(frame)(4)
    assert isinstance(df, pd.DataFrame) and (df["sq"] == df["x"] ** 2).all()
    assert df.equals(pd.DataFrame({"x": range(4), "sq": [0, 1, 4, 9]}))
    arg = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "name": ["u", "v"]})
    out = remote(add_total)(arg)
    pd.testing.assert_frame_equal(out, add_total(arg))
    assert remote(lambda d: d)(arg) is arg                   # the judge's own object comes back as itself


def test_a_frame_the_students_code_changes_in_place_is_changed_for_the_test(remote):
    """The judge's DataFrame or Series passed to the student's function that changes it in place (a column
    added or deleted, a value set) is changed in the test cell too, as in one kernel."""
    def add_column(df):
        df["c"] = df["a"] * 2

    def drop_first(df):
        del df["a"]

    def bump(s):
        s.iloc[0] = 100
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert remote(add_column)(frame) is None
    assert list(frame.columns) == ["a", "c"] and frame["c"].tolist() == [2, 4, 6]
    remote(drop_first)(frame)
    assert list(frame.columns) == ["c"] and frame["c"].tolist() == [2, 4, 6]
    series = pd.Series([1, 2], name="s")
    remote(bump)(series)
    assert series.tolist() == [100, 2]


def test_other_pandas_values_from_the_student_are_handles_the_test_can_use(remote):
    mi = UNSUPPORTED["series-multiindex"]
    got = remote(lambda: mi)()
    assert isinstance(got, Remote)
    assert remote(lambda s: int(s.sum()))(got) == 3


# -- malformed values --------------------------------------------------------------------------------------
_A3 = ["A", "<i8", b"\0" * 24]
_I3 = ["PRI", 0, 3, 1, ["N"]]


@pytest.mark.parametrize("value, words", [
    (["PDS", 3, _A3, _I3, ["N"]], "PDS value has 5 fields"),
    (["PDS", 3, ["A", "|O", b"\0" * 24], _I3, ["N"], 0], "not one that crosses as data"),
    (["PDS", 3, ["A", "<M8[D]", b"\0" * 24], _I3, ["N"], 0], "not one that crosses as data"),
    (["PDS", 3, ["A", ">i8", b"\0" * 24], _I3, ["N"], 0], "not one that crosses as data"),
    (["PDS", 3, ["A", "<i8", b"\0" * 23], _I3, ["N"], 0], "bytes do not match"),
    (["PDS", 2, _A3, _I3, ["N"], 0], "bytes do not match"),
    (["PDS", 3, _A3, ["PRI", 0, 4, 1, ["N"]], ["N"], 0], "another length than its index"),
    (["PDS", -1, _A3, _I3, ["N"], 0], "malformed pandas length"),
    (["PDS", MAX_ITEMS + 1, _A3, _I3, ["N"], 0], "malformed pandas length"),
    (["PDS", 3, _A3, _I3, ["L", [], 1], 0], "malformed pandas name"),
    (["PDS", 3, _A3, _I3, ["H", 1, ["x", "object", ""], 1], 0], "malformed pandas name"),
    (["PDS", 3, _A3, ["PRI", 0, 3, 0, ["N"]], ["N"], 0], "malformed RangeIndex"),
    (["PDS", 3, _A3, ["PRI", 0, 2 ** 70, 1, ["N"]], ["N"], 0], "malformed RangeIndex"),
    (["PDS", 3, _A3, ["L", [], 1], ["N"], 0], "malformed pandas index"),
    (["PDS", 3, ["X", 1], _I3, ["N"], 0], "pandas column kind"),
    (["PDS", 3, "A", _I3, ["N"], 0], "malformed pandas column"),
    (["PDS", 2, ["O", [["I", 1], ["L", [], 1]]], ["PRI", 0, 2, 1, ["N"]], ["N"], 0], "malformed item"),
    (["PDS", 2, ["O", [["I", 1], ["FN", "os", "system"]]], ["PRI", 0, 2, 1, ["N"]], ["N"], 0], "malformed item"),
    (["PDS", 2, ["O", [["I", 1]]], ["PRI", 0, 2, 1, ["N"]], ["N"], 0], "another length"),
    (["PDS", 1, ["STR", "python", True, [["I", 1]]], ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "malformed item"),
    (["PDS", 1, ["STR", "numpy", True, [["S", "a"]]], ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "column of str"),
    (["PDS", 1, ["STR", "python", 1, [["S", "a"]]], ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "column of str"),
    (["PDS", 1, ["CAT", True, ["PDI", 1, ["A", "<i8", b"\0" * 8], ["N"], ["N"]], "|i1", b"\x05"],
      ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "malformed value"),                        # (a code out of range)
    (["PDS", 1, ["CAT", True, ["PDI", 2, ["A", "<i8", b"\0" * 16], ["N"], ["N"]], "|i1", b"\x00"],
      ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "malformed value"),                        # (categories not unique)
    (["PDS", 1, ["CAT", "yes", ["PDI", 1, ["A", "<i8", b"\0" * 8], ["N"], ["N"]], "|i1", b"\x00"],
      ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "column of categories"),
    (["PDS", 1, ["CAT", True, ["PDI", 1, ["A", "<i8", b"\0" * 8], ["N"], ["N"]], "<f8", b"\0" * 8],
      ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "column of categories"),
    (["PDS", 1, ["CAT", True, ["PDI", 1, ["CAT", False, _I3, "|i1", b"\0"], ["N"], ["N"]], "|i1", b"\0"],
      ["PRI", 0, 1, 1, ["N"]], ["N"], 0], "pandas column kind"),                     # (categories of categories)
    (["PDI", 2, ["A", "<M8[ns]", b"\0" * 16], ["N"], ["S", "D"], 0], "malformed value"),   # (freq: not its values)
    (["PDI", 2, ["A", "<i8", b"\0" * 16], ["N"], ["S", "D"], 0], "malformed pandas index freq"),
    (["PDI", 2, ["A", "<M8[ns]", b"\0" * 16], ["N"], ["S", "__import__('os')"], 0], "malformed pandas index freq"),
    (["PDI", 2, ["A", "<M8[ns]", b"\0" * 16], ["N"], "D", 0], "malformed pandas index freq"),
    (["PDI", 2, ["A", "<i8", b"\0" * 16], ["N"], ["N"]], "PDI value has 5 fields"),
    (["PRI", 0, 3, 1.0, ["N"], 0], "malformed RangeIndex"),
    (["PDF", 3, [_A3], _I3, _I3, 0], "another shape"),
    (["PDF", 3, [_A3], ["PRI", 0, 1, 1, ["N"]], ["PRI", 0, 2, 1, ["N"]], 0], "another shape"),
    (["PDF", 3, [["A", "<i8", b"\0" * 16]], ["PRI", 0, 1, 1, ["N"]], _I3, 0], "bytes do not match"),
    (["PDF", 3, "cols", ["PRI", 0, 1, 1, ["N"]], _I3, 0], "malformed pandas DataFrame"),
    (["PDF", 2 ** 20, [_A3] * 4, ["PRI", 0, 4, 1, ["N"]], ["PRI", 0, 2 ** 20, 1, ["N"]], 0],
     "malformed pandas DataFrame"),
    (["PDF", 3, [_A3], ["PRI", 0, 1, 1, ["N"]], _I3], "PDF value has 5 fields"),
    (["PDS", 3, _A3, _I3, ["N"], -1], "malformed object index"),
])
def test_malformed_pandas_values_are_protocol_errors(value, words):
    with pytest.raises(ProtocolError, match=words):
        Decoder(lambda h, i: None, lambda h: None)(value)
    with pytest.raises(ProtocolError, match=words):            # (nested: the same check)
        Decoder(lambda h, i: None, lambda h: None)(["L", [["I", 1], value], 99])
