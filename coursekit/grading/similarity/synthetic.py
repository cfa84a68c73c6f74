"""A synthetic class with planted copies, to measure the similarity report (benchmarks/similarity.py)
and to test it (tests/grading/test_similarity.py).

Honest students each draw, per exercise and independently, the instructor's answer, a right answer
written in another style or a wrong answer (a wrong-answers file's ``RIGHT`` and ``WRONG``), or leave
the stub; half the time they then change it as people who write their own code do (a named result,
``x.shape[0]`` for ``len(x)``, keyword order, a print). Their notebooks carry their own traces: cells
they added (random ids, a random tensor printed), errors under the tests of wrong answers, and their
own history of execution counts. A copier takes another student's answers and disguises them
(:data:`DISGUISES`): renamed variables, reformatted (layout and comments), reordered (independent
statements swapped, imports and helpers moved), or only some exercises copied; a copier who copied
the file keeps its traces, one who retyped it has their own.
"""
from __future__ import annotations

import ast
import copy
import io
import random
import re
import tokenize
import uuid
from dataclasses import dataclass, field

import nbformat

from coursekit import notebook
from coursekit.grading.similarity.fingerprints import bound_names

DISGUISES = ("renamed", "reformatted", "reordered", "partial")
_WORDS = ["tmp", "val", "res", "out", "acc", "buf", "data", "item", "thing", "stuff", "xx", "yy", "arr", "q"]


# ------------------------------------------------------------------------------------------
# Answers: honest variation and disguises
# ------------------------------------------------------------------------------------------
def _parses(src: str) -> bool:
    try:
        ast.parse(src)
        return True
    except SyntaxError:
        return False


def rename(src: str, rng: random.Random, keep: str = "") -> str:
    """Names the code binds renamed (not those in ``keep``: the stub's signature), layout kept."""
    bound = (bound_names(src) or set()) - set(re.findall(r"\w+", keep))
    mapping = {name: f"{rng.choice(_WORDS)}_{name[:2]}{rng.randrange(100)}" for name in sorted(bound)}
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, SyntaxError):
        return src
    lines = src.split("\n")
    depth, edits = 0, []
    for i, tok in enumerate(toks):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.NAME and tok.string in mapping:
            after = toks[i + 1].string if i + 1 < len(toks) else ""
            before = toks[i - 1].string if i else ""
            if before != "." and not (depth > 0 and after == "="):       # not an attribute or a keyword
                edits.append((tok.start, tok.end, mapping[tok.string]))
    for (row, col), (_, end), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    out = "\n".join(lines)
    return out if _parses(out) else src


def reformat(src: str, rng: random.Random) -> str:
    """The same code laid out again (ast.unparse), indented by 2, with comments and blank lines."""
    try:
        text = ast.unparse(ast.parse(src))
    except (SyntaxError, ValueError):
        return src
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indent = "  " * ((len(line) - len(stripped)) // 4)
        if rng.random() < 0.3:
            lines.append(f"{indent}# {rng.choice(['step', 'here we go', 'compute it', 'TODO check'])}")
        lines.append(indent + stripped.replace(", ", ",") + ("  # ok" if rng.random() < 0.2 else ""))
        if rng.random() < 0.2:
            lines.append("")
    return "\n".join(lines)


def _names(node) -> tuple[set[str], set[str]]:
    written, read = set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (written if isinstance(n.ctx, ast.Store) else read).add(n.id)
    return written, read


def _swappable(s1, s2) -> bool:
    simple = (ast.Assign, ast.AugAssign, ast.Expr, ast.AnnAssign)
    if not isinstance(s1, simple) or not isinstance(s2, simple):
        return False
    w1, r1 = _names(s1)
    w2, r2 = _names(s2)
    calls = sum(any(isinstance(n, ast.Call) for n in ast.walk(s)) for s in (s1, s2))
    return not (w1 & (r2 | w2) or w2 & r1) and calls < 2


def _reorder_body(body: list, rng: random.Random) -> None:
    for i in range(len(body) - 1):
        if _swappable(body[i], body[i + 1]) and rng.random() < 0.8:
            body[i], body[i + 1] = body[i + 1], body[i]
    for stmt in body:
        for attr in ("body", "orelse"):
            inner = getattr(stmt, attr, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _reorder_body(inner, rng)


def reorder(src: str, rng: random.Random) -> str:
    """Independent statements swapped, imports moved below the functions and functions reversed."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    defs = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    if imports and defs and len(imports) + len(defs) == len(tree.body):
        tree.body = defs[::-1] + imports
    elif len(defs) == len(tree.body) > 1:
        tree.body = defs[::-1]
    _reorder_body(tree.body, rng)
    return ast.unparse(tree)


def _named_result(src: str) -> str:
    return re.sub(r"^(\s*)return (.+)$", lambda m: f"{m.group(1)}result = {m.group(2)}\n{m.group(1)}return result",
                  src, count=1, flags=re.M)


def _print_argument(src: str) -> str:
    def add(m):
        return f"{m.group(0)}{m.group(1)}    print('{m.group(2)}:', {m.group(2)})\n"
    return re.sub(r"^(\s*)def \w+\((\w+).*:\n", add, src, count=1, flags=re.M)


#: Changes an honest student may make to an answer, each on their own: the same meaning, other code.
VARIATIONS = (
    _named_result,
    lambda s: re.sub(r"\blen\((\w+)\)", r"\1.shape[0]", s),
    lambda s: re.sub(r"\((\w+)=([^,()]+), (\w+)=([^,()]+)\)", r"(\3=\4, \1=\2)", s),
    _print_argument,
    lambda s: s.replace(".item()", ".detach().item()"),
    lambda s: re.sub(r"\(dim=(-?\d)\)", r"(\1)", s),
    lambda s: s.replace("torch.float32", "torch.float"),
    lambda s: re.sub(r"\brange\((\w+)\)", r"range(0, \1)", s),
    lambda s: re.sub(r"\(([^()]+)\) \*\* 2", r"torch.square(\1)", s),
    lambda s: "import torch\n" + s if "import torch" not in s else s,
    lambda s: re.sub(r"(\w+) \+= (.+)", r"\1 = \1 + \2", s),
    lambda s: re.sub(r"\.float\(\)", ".to(torch.float32)", s),
)


def vary(src: str, rng: random.Random, p: float = 0.25) -> str:
    """What an honest student may write instead: each of :data:`VARIATIONS` applied with probability p."""
    out = src
    for change in VARIATIONS:
        if rng.random() < p:
            new = change(out)
            out = new if _parses(new) else out
    return out


# ------------------------------------------------------------------------------------------
# The class
# ------------------------------------------------------------------------------------------
@dataclass
class Student:
    name: str
    answers: dict[str, str | None]
    wrong: dict[str, str] = field(default_factory=dict)        # grade_id -> the wrong answer's description
    added: list[tuple[str, str, str]] = field(default_factory=list)    # (id, source, output)
    history: list[int | None] | None = None                    # None: Run All


@dataclass
class SyntheticClass:
    students: list[Student]
    planted: set[frozenset]                  # pairs of names that copied (directly or through one source)
    kinds: dict[frozenset, str]              # planted pair -> how


def honest(name: str, exercises, right: dict, wrong: dict, rng: random.Random, variation: float = 0.25) -> Student:
    st = Student(name, {})
    for ex in exercises:
        r = rng.random()
        wrongs = wrong.get(ex.grade_id, [])
        if r < 0.3 or (r < 0.6 and not right.get(ex.grade_id)):
            src = ex.answer
        elif r < 0.6:
            src = rng.choice(right[ex.grade_id])[1]
        elif r < 0.92 and wrongs:
            weights = [1 / (i + 1) for i in range(len(wrongs))]      # a few common mistakes, many rare ones
            entry = rng.choices(wrongs, weights)[0]
            src = entry[1]
            st.wrong[ex.grade_id] = entry[0]
        else:
            st.answers[ex.grade_id] = None
            continue
        st.answers[ex.grade_id] = vary(src.strip("\n"), rng, variation)
    for _ in range(rng.choice([0, 0, 1, 2])):
        values = ", ".join(f"{rng.gauss(0, 1):.4f}" for _ in range(3))
        st.added.append((uuid.UUID(int=rng.getrandbits(128)).hex[:8],
                         rng.choice(["torch.randn(3)", "x = torch.rand(3)\nx"]), f"tensor([{values}])"))
    if rng.random() < 0.4:
        st.history, c = [], 0
        for _ in range(40):
            c += rng.choice([1, 1, 2, 3])
            st.history.append(None if rng.random() < 0.1 else c)
    return st


def disguise(src: str | None, how: str, rng: random.Random, stub: str) -> str | None:
    if src is None:
        return None
    if how == "renamed":
        return rename(src, rng, stub)
    if how == "reformatted":
        return reformat(src, rng)
    if how == "reordered":
        return reorder(src, rng)
    return src


def copier(name: str, source: Student, how: str, exercises, stubs: dict[str, str], rng: random.Random,
           own: Student, file_copied: bool) -> Student:
    """``own`` (an honest draw) with answers copied from ``source``, disguised ``how``."""
    st = copy.deepcopy(own)
    st.name = name
    gids = [ex.grade_id for ex in exercises]
    if how == "partial":
        take = set(rng.sample(gids, max(2, len(gids) // 2)))
        how = rng.choice(DISGUISES[:3])
    else:
        take = set(gids)
    for gid in take:
        st.answers[gid] = disguise(source.answers.get(gid), how, rng, stubs.get(gid, ""))
        if gid in source.wrong:
            st.wrong[gid] = source.wrong[gid]
        else:
            st.wrong.pop(gid, None)
    if file_copied:
        st.added, st.history = list(source.added), source.history
    return st


def build_class(exercises, right: dict, wrong: dict, stubs: dict[str, str], n: int = 40, seed: int = 0,
                variation: float = 0.25) -> SyntheticClass:
    """``n`` students: honest ones, 6 planted pairs (each disguise, some files copied) and a group of 3."""
    rng = random.Random(seed)
    plan = [("renamed", True), ("reformatted", False), ("reordered", True), ("partial", False),
            ("partial", True), ("renamed", False)]
    n_honest = n - len(plan) - 2
    students = [honest(f"s{i:03d}", exercises, right, wrong, rng, variation) for i in range(n_honest)]
    planted, kinds = set(), {}
    sources = rng.sample(students, len(plan) + 1)
    for i, ((how, copied), src) in enumerate(zip(plan, sources)):
        own = honest("x", exercises, right, wrong, rng, variation)
        c = copier(f"s{n_honest + i:03d}", src, how, exercises, stubs, rng, own, copied)
        students.append(c)
        pair = frozenset((src.name, c.name))
        planted.add(pair)
        kinds[pair] = how + (", file copied" if copied else ", retyped")
    src = sources[-1]
    group = [src]
    for j, how in enumerate(("reformatted", "renamed")):
        own = honest("x", exercises, right, wrong, rng, variation)
        c = copier(f"s{n_honest + len(plan) + j:03d}", src, how, exercises, stubs, rng, own, j == 0)
        students.append(c)
        group.append(c)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        pair = frozenset((group[a].name, group[b].name))
        planted.add(pair)
        kinds[pair] = "group of 3"
    rng.shuffle(students)
    return SyntheticClass(students, planted, kinds)


def notebook_of(st: Student, student_nb, wrong_message: str = "AssertionError") -> nbformat.NotebookNode:
    """The student version (a NotebookNode) filled with the student's answers and traces."""
    nb = copy.deepcopy(student_nb)
    current = None
    for cell in nb.cells:
        gid = notebook.grade_id(cell)
        if notebook.is_answer_cell(cell):
            current = gid
            if st.answers.get(gid) is not None:
                cell.source = st.answers[gid]
        elif notebook.is_test_cell(cell) and current in st.wrong:
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                                   evalue=f"{wrong_message}: {st.wrong[current]}", traceback=[])]
    for k, (cid, src, out) in enumerate(st.added):
        cell = nbformat.v4.new_code_cell(src)
        cell.id = cid
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": out}, execution_count=None)]
        nb.cells.insert(min(len(nb.cells), 3 + 4 * k), cell)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        cell.execution_count = (st.history[i % len(st.history)] if st.history else i + 1)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                out["execution_count"] = cell.execution_count
    return nb
