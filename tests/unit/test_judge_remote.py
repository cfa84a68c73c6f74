"""A handle (coursekit/judge/proxies.Remote) behaves as the object it stands for: a test cell's operators,
introspection, attribute writes and isinstance on the student's objects and classes run the student's own
code where it lives, with Python's own fallbacks (NotImplemented), as in one kernel; but an operator between
a student's object and a value of the test is not run (the test's values never reach the student's operator
methods: an object that claims to equal anything gains nothing). Each cell runs twice,
in-process (the student's namespace itself) and through the protocol, and must observe the same. And the
judge's own objects that reach the student's code (a test's visitor, a random generator) answer their plain
attributes and a few special methods, never the judge's namespace, modules or frames."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit.judge.namespace import JudgeNamespace

STUDENT = '''
import functools


def area(w, h=1, *rest, scale: float = 2.0, **opts) -> float:
    """Return the area of a w-by-h rectangle."""
    return w * h


class Money:
    """An amount of money."""
    def __init__(self, cents):
        self.cents = cents

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return self.cents == other.cents

    def __hash__(self):
        return hash(self.cents)

    def __lt__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return self.cents < other.cents

    def __le__(self, other):
        return self == other or self < other

    def __add__(self, other):
        if isinstance(other, int):
            return Money(self.cents + other)
        if isinstance(other, Money):
            return Money(self.cents + other.cents)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other):
        return Money(self.cents - (other.cents if isinstance(other, Money) else other))

    def __rsub__(self, other):
        return Money(other - self.cents)

    def __mul__(self, k):
        return Money(self.cents * k) if isinstance(k, int) else NotImplemented

    def __rmul__(self, k):
        return self * k

    def __truediv__(self, k):
        return self.cents / k

    def __floordiv__(self, k):
        return Money(self.cents // k)

    def __mod__(self, k):
        return Money(self.cents % k)

    def __pow__(self, k):
        return self.cents ** k

    def __neg__(self):
        return Money(-self.cents)

    def __pos__(self):
        return self

    def __abs__(self):
        return Money(abs(self.cents))

    def __invert__(self):
        return ~self.cents

    def __float__(self):
        return self.cents / 100

    def __int__(self):
        return self.cents // 100

    def __index__(self):
        return self.cents

    def __round__(self, n=None):
        return round(self.cents / 100, n)

    def __and__(self, o):
        return self.cents & o

    def __or__(self, o):
        return self.cents | o

    def __xor__(self, o):
        return self.cents ^ o

    def __matmul__(self, o):
        return ("matmul", self.cents, o)

    def __rmatmul__(self, o):
        return ("rmatmul", o, self.cents)

    def __repr__(self):
        return f"Money({self.cents})"


class Liar:
    """Claims to equal anything and to be 0 away from anything (the classic attack on `==` tests)."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__


class Plain:
    """Compares by identity only, no __bool__ or __len__: always true."""


class Unhashable:
    def __eq__(self, other):
        return isinstance(other, Unhashable)


class Bag:
    def __init__(self):
        self.items = {}
        self.log = []

    def __setitem__(self, key, value):
        self.items[key] = value

    def __getitem__(self, key):
        return self.items[key]

    def __delitem__(self, key):
        del self.items[key]

    def __len__(self):
        return len(self.items)

    def __reversed__(self):
        return iter(sorted(self.items, reverse=True))

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit" if exc[0] is None else "exit " + exc[0].__name__)
        return True


class Empty:
    def __len__(self):
        return 0


class Box:
    def __init__(self):
        self.v = 1

    def get(self):
        return self.v

    def has(self, name):
        return hasattr(self, name)


class Animal:
    def __init__(self, name):
        self.name = name


class Dog(Animal):
    pass


@functools.wraps(area)
def wrapped(*args, **kwargs):
    return area(*args, **kwargs)


def make_money(c):
    return Money(c)


def walk(tree, visitor):
    visitor.enter(tree["name"])
    for child in tree.get("children", []):
        walk(child, visitor)
    visitor.leave(tree["name"])
    return visitor.count


def draw(rng, n):
    return [float(x) for x in rng.normal(size=n)]


def use(x):
    return (len(x), bool(x), x == x, 3 in x, x[0], list(iter(x)), repr(x))
'''

CELLS = {
    "== with the student's __eq__, hash": "a, b = Money(5), Money(5)\n"
                                         "result = (a == b, a != b, b == a, hash(a) == hash(5), len({a, b}))",
    "NotImplemented falls back to identity": "m = Money(5)\nresult = (m == 5, 5 == m, m != 5, m == 'x', m == m,"
                                             " bool(m == 5), type(m == 5).__name__, m == Money(5))",
    "identity only": "p = Plain()\nq = Plain()\nresult = (p == q, p == p, p != q, bool(p), [p].count(p))",
    "ordering": "a, b = Money(3), Money(7)\nresult = (a < b, b > a, a <= b, b >= a, a <= a, sorted([b, a])[0] == a)",
    "ordering refused": "try:\n    Money(3) < 4\n    result = 'no error'\nexcept TypeError:\n"
                        "    result = ('TypeError', Money(3) < Money(4))",
    "arithmetic between the student's objects": "a, b = Money(250), Money(3)\nresult = [repr(x) for x in (a + b,"
                                                " b + a, a - b, -a, +a, abs(Money(-3)), ~a)]",
    "sum of the student's objects": "result = repr(Money(1) + Money(2) + Money(3))",
    "unsupported operand": "try:\n    Money(1) * 'x'\n    result = 'no error'\nexcept TypeError:\n    result = 'TypeError'",
    "numbers": "m = Money(250)\nresult = (float(m), int(m), round(m), round(m, 1), [10, 20][Money(1)],"
               " list(range(Money(3))), f'{m!r}')",
    "unhashable": "try:\n    hash(Unhashable())\n    result = 'hashed'\nexcept TypeError:\n    result = 'TypeError'",
    "bool from __len__": "result = (bool(Empty()), not Empty(), bool(Plain()))",
    "setitem, delitem, reversed": "b = Bag()\nb['x'] = 1\nb['y'] = 2\nb['z'] = 3\ndel b['y']\n"
                                  "result = (len(b), b['x'], list(reversed(b)))",
    "with": "b = Bag()\nwith b as inner:\n    inner['k'] = 1\nwith b:\n    raise ValueError('x')\n"
            "result = (b.log, len(b))",
    "docstring, name, signature": "import inspect\nsig = inspect.signature(area)\n"
                                  "result = (area.__doc__, area.__name__, area.__qualname__, area.__module__,"
                                  " list(sig.parameters), sig.parameters['h'].default,"
                                  " [p.kind.name for p in sig.parameters.values()],"
                                  " sig.parameters['scale'].default, Money.__doc__, callable(area))",
    "signature through functools.wraps": "import inspect\n"
                                         "result = (list(inspect.signature(wrapped).parameters), wrapped.__name__,"
                                         " inspect.signature(wrapped).parameters['h'].default)",
    "signature of a class": "import inspect\nresult = list(inspect.signature(Money).parameters)",
    "setattr reaches the student's object": "b = Box()\nb.v = 7\nb.w = 'new'\nresult = (b.get(), b.v, b.w,"
                                            " b.has('w'))",
    "delattr": "b = Box()\nb.x = 1\ndel b.x\ndel b.v\nresult = (b.has('x'), hasattr(b, 'x'), b.has('v'))",
    "isinstance with the student's class": "d = Dog('rex')\nresult = (isinstance(d, Dog), isinstance(d, Animal),"
                                           " isinstance(Money(1), Animal), isinstance(3, Animal),"
                                           " isinstance([1], (Animal, list)), issubclass(Dog, Animal),"
                                           " issubclass(Animal, Dog), isinstance(make_money(2), Money))",
    "the type's name": "result = (type(Money(1)).__name__, type(make_money(2)).__name__, type(Bag()).__qualname__)",
    "isinstance of the student's object and the judge's classes": "m = Money(1)\n"
                                                                  "result = (isinstance(m, (int, list, dict)), isinstance(m, (int, Money)))",
    "the judge's visitor called by the student's code":
        "class Recorder:\n    def __init__(self):\n        self.log = []\n        self.count = 0\n"
        "    def enter(self, n):\n        self.log.append('+' + n)\n        self.count += 1\n"
        "    def leave(self, n):\n        self.log.append('-' + n)\n"
        "r = Recorder()\nn = walk({'name': 'a', 'children': [{'name': 'b'}]}, r)\nresult = (r.log, n)",
    "the judge's random generator used by the student's code":
        "rng = np.random.default_rng(7)\nresult = draw(rng, 3)",
    "the judge's object's special methods":
        "class Seq:\n    def __len__(self):\n        return 2\n    def __getitem__(self, i):\n"
        "        if i >= 2:\n            raise IndexError(i)\n        return i * 10\n"
        "    def __contains__(self, x):\n        return x == 3\n    def __repr__(self):\n        return 'Seq()'\n"
        "result = use(Seq())",
}


def _in_process(cell: str):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    ns.update(np=np, torch=torch)
    exec(cell, ns)                  # (one kernel: the cell runs in the student's own namespace)
    return ns["result"]


def _judged(peer_pair, cell: str):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    judge, _ = peer_pair(ns)
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns.update(torch=torch, np=np)            # (the instructor's imports)
    exec(cell, jns)
    result = dict.__getitem__(jns, "result")
    jns.end_cell()
    return result


@pytest.mark.parametrize("cell", list(CELLS), ids=list(CELLS))
def test_a_handle_behaves_as_the_students_object(cell, peer_pair):
    expected = _in_process(CELLS[cell])
    got = _judged(peer_pair, CELLS[cell])
    assert got == expected


# Operators between the student's object and a value of the test cell: not run (the test's values never reach the
# student's operator methods). Each pair: the cell, and what it gives through the judge.
NOT_RUN = {
    "arithmetic with the test's numbers": ("m = Money(250)\nresult = []\nfor op in (lambda: m + 5, lambda: 5 + m, "
                                           "lambda: m - 50, lambda: 300 - m, lambda: m * 2, lambda: 2 * m, "
                                           "lambda: m / 2):\n    try:\n        op()\n        result.append('ran')\n"
                                           "    except TypeError:\n        result.append('TypeError')",
                                           ["TypeError"] * 7),
    "in-place with the test's number": ("m = Money(1)\ntry:\n    m += 4\n    result = 'ran'\nexcept TypeError:\n"
                                        "    result = 'TypeError'", "TypeError"),
    "an object equal to anything": ("e = Liar()\nresult = (e == 42, 42 == e, e == [1, 2], e != 42, e == e)",
                                    (False, False, False, True, True)),
    "an object at no distance from anything": ("e = Liar()\ntry:\n    result = abs(e - 3.5) < 1e-9\n"
                                               "except TypeError:\n    result = 'TypeError'", "TypeError"),
}


@pytest.mark.parametrize("cell", list(NOT_RUN), ids=list(NOT_RUN))
def test_an_operator_with_the_tests_value_is_not_run_by_the_students_code(cell, peer_pair):
    """``f(x) == expected`` with a handle: the expected value never reaches the student's ``__eq__`` (identity, as
    for any object that does not define it), nor ``__sub__`` (``abs(f(x) - expected) < tol``): an object that
    claims to equal anything scores nothing. (In one kernel each of these runs the student's method.)"""
    source, expected = NOT_RUN[cell]
    assert _judged(peer_pair, source) == expected
    assert _in_process(source) != expected


def test_an_operator_result_keeps_pythons_types(peer_pair):
    got = _judged(peer_pair, "m = Money(5)\nresult = [type(v).__name__ for v in (m == 5, m == Money(5), bool(m),"
                             " hash(m), len(Bag()), float(m))]")
    assert got == ["bool", "bool", "bool", "int", "int", "float"]


ATTACKS = {     # (student code given the judge's `callback` or its visitor `v`: each must be refused)
    "a dunder of the judge's function": "cb.__globals__",
    "the judge's function's globals through getattr": "cb._peer.request('getattr', target=cb._hid,"
                                                      " name='__globals__')",
    "a private attribute of the judge's object": "v._peer.request('getattr', target=v._hid, name='_secret')",
    "the class of the judge's object": "v._peer.request('getattr', target=v._hid, name='__class__')",
    "a method's __func__": "(lambda m: m._peer.request('getattr', target=m._hid, name='__func__'))(v.enter)",
    "a public attribute of a bound method": "(lambda m: m._peer.request('getattr', target=m._hid,"
                                            " name='im_func'))(v.enter)",
    "the judge's class's attributes": "(lambda c: c._peer.request('getattr', target=c._hid, name='enter'))(v.kind)",
    "the judge's module": "(lambda m: m._peer.request('getattr', target=m._hid, name='path'))(v.mod)",
    "the judge's module's repr": "(lambda m: m._peer.request('special', target=m._hid, name='__repr__',"
                                 " args=[]))(v.mod)",
    "a frame of the judge's generator": "(lambda g: g._peer.request('getattr', target=g._hid,"
                                        " name='gi_frame'))(v.gen)",
    "a special method not on the list": "v._peer.request('special', target=v._hid, name='__setitem__',"
                                        " args=[['I', 1], ['I', 2]])",
    "foreign pointers of a generator": "(lambda b: b._peer.request('getattr', target=b._hid,"
                                       " name='ctypes'))(v.rng.bit_generator)",
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_the_students_code_reaches_nothing_of_the_judge_but_plain_attributes(attack, peer_pair):
    ns: dict = {}
    exec("def attack(cb, v):\n    ok = v.enter('ok')\n    try:\n        return ok, " + ATTACKS[attack] + "\n"
         "    except Exception as exc:\n        return ok, {'op': 'error', 'raised': type(exc).__name__}", ns)
    judge, _ = peer_pair(ns)
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns.update(np=np)
    exec("import types\n_secret = 'the expected answer'\n"
         "class Visitor:\n    def __init__(self):\n        self._secret = _secret\n        self.kind = Visitor\n"
         "        self.mod = types\n        self.gen = (i for i in [1])\n        self.rng = np.random.default_rng(1)\n"
         "        self.items = {}\n    def enter(self, n):\n        return n\n    def __setitem__(self, k, v):\n"
         "        self.items[k] = v\n"
         "def callback(x):\n    return x\n"
         "v = Visitor()\n"
         "result = attack(callback, v)", jns)
    allowed, reply = dict.__getitem__(jns, "result")
    assert allowed == "ok"            # (its plain attributes are served: the student's code may call v.enter)
    assert isinstance(reply, dict) and reply["op"] == "error", reply
    assert "the expected answer" not in repr(reply) and dict.__getitem__(jns, "v").items == {}


def test_the_student_reads_the_judges_objects_plain_attributes(peer_pair):
    ns: dict = {}
    exec("def read(v):\n    return (v.name, v.items, v.rng.random() < 1, v.count + 1)", ns)
    judge, _ = peer_pair(ns)
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns.update(np=np)
    exec("class V:\n    def __init__(self):\n        self.name = 'v'\n        self.items = [1]\n"
         "        self.rng = np.random.default_rng(0)\n        self.count = 1\n"
         "result = read(V())", jns)
    assert dict.__getitem__(jns, "result") == ("v", [1], True, 2)
