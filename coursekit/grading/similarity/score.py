"""Pairs of students ranked by how many rare answers and notebook traces they share.

Each answer is its set of fingerprints (:mod:`.fingerprints`) less the base code (the released stub
and the instructor's solution: what every student may hold). Two answers are alike in proportion to
the fingerprints each holds that the other student has anywhere in their code (so that a helper moved
to another cell still counts): ``alike = (|A & B_all| + |B & A_all|) / (|A| + |B|)``. How telling it is
depends on how many students wrote that answer: ``n``, the students whose answer to the exercise is
nearly the same as either one's (:data:`NEAR` of their likeness), weighs ``w(n) = log(L/n) / log(L/2)``
with ``L = COMMON_SHARE * N + 1`` (at least 4) for a class of N: 1 when only the two wrote it, 0 when a
tenth of the class did (what much of the class writes is no evidence).

A pair's score is the sum over the exercises (and the code the students added) of ``alike * w(n)``,
plus the notebook traces the two share that few students hold (:data:`TRACES`). It reads as
"exercises' worth of rare code in common"; the threshold (``KitGrading.similarity_threshold``) is in
the same unit.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from coursekit.grading.similarity.read import ADDED, Work

COMMON_SHARE = 0.1        # an answer or trace held by this share of the class (or more) is no evidence
RING_SCORE = 1.0          # pairs at least this strong, counting answers up to RING_SHARE of the class as rare,
RING_SHARE = 0.3          # link a group (see pairs())
NEAR = 0.8                # an answer at least this part as alike as the pair's counts as the same answer
MIN_PRINTS = 3            # an answer counts fully from this many non-base fingerprints on each side
TRACES = {                # trace -> (points added to a pair's score, what the instructor reads)
    "cell_id": (3.0, "same id of a cell they added (Jupyter makes these at random: one file copied)"),
    "volatile": (2.0, "identical output that differs between runs"),
    "history": (2.0, "same history of execution counts"),
    "error": (0.5, "same error shown"),
    "wrong": (0.5, "same answer, and its visible tests fail in both"),
}
MAX_ERRORS = 2            # shared errors counted at most


@dataclass
class Share:
    key: str              # the exercise's grade_id, or ADDED
    share: float          # 0..1, see the module docstring
    lines_a: set[int] = field(default_factory=set)     # lines of a's code found in b's, and back
    lines_b: set[int] = field(default_factory=set)


@dataclass
class Pair:
    a: str
    b: str
    score: float
    shares: list[Share]
    evidence: list[str]

    def summary(self, limit: int = 4) -> str:
        top = sorted((s for s in self.shares if s.share >= 0.05), key=lambda s: -s.share)
        words = [f"{s.key} {s.share:.0%}" for s in top[:limit]]
        if len(top) > limit:
            words.append(f"+{len(top) - limit} more")
        return "; ".join(([", ".join(words)] if words else []) + self.evidence)


def weight(n: int, size: int, common_share: float = COMMON_SHARE) -> float:
    """How telling it is that ``n`` of ``size`` students hold the same thing (1 for two, 0 for many)."""
    limit = max(4.0, common_share * size + 1)
    if n >= limit:
        return 0.0
    return 1.0 if n <= 2 else math.log(limit / n) / math.log(limit / 2)


def _alike(a: set[int], b: set[int], a_all: set[int], b_all: set[int]) -> float:
    if not a or not b:
        return 0.0
    return (len(a & b_all) + len(b & a_all)) / (len(a) + len(b))


class _Answers:
    """Each student's answers (non-base fingerprint sets), and how many wrote nearly each one."""

    def __init__(self, works: dict[str, Work], keys: list[str], base: set[int]):
        self.sets = {s: {k: w.hashes(k) - base for k in keys} for s, w in works.items()}
        self.all = {s: set().union(*sets.values()) for s, sets in self.sets.items()}
        self.near: dict[str, dict[frozenset, list[frozenset]]] = {}
        self.holders: dict[str, dict[frozenset, list[str]]] = {}
        for k in keys:
            distinct: dict[frozenset, list[str]] = defaultdict(list)
            for student, sets in self.sets.items():
                if sets[k]:
                    distinct[frozenset(sets[k])].append(student)
            self.holders[k] = dict(distinct)
            items = list(distinct)
            self.near[k] = {x: [y for y in items if x & y] for x in items}

    def writers(self, key: str, a: frozenset, b: frozenset, alike: float) -> set[str]:
        """Students whose answer is nearly the same as ``a``'s or ``b``'s."""
        bar = NEAR * alike
        found = {y for x in (a, b) for y in self.near[key].get(x, ()) if _alike(x, y, x, y) >= bar}
        return {s for y in found for s in self.holders[key][y]}


def _trace_holders(works: dict[str, Work]) -> dict[str, dict[object, list[str]]]:
    out: dict[str, dict[object, list[str]]] = {k: defaultdict(list)
                                               for k in ("cell_id", "volatile", "history", "error")}
    for s, w in works.items():
        for cid in w.added_ids:
            out["cell_id"][cid].append(s)
        for d in w.volatile:
            out["volatile"][d].append(s)
        for d in w.errors:
            out["error"][d].append(s)
        if w.history is not None:
            out["history"][w.history].append(s)
    return out


def pairs(works: dict[str, Work], exercises: list[str], base_hashes: set[int],
          common_share: float = COMMON_SHARE) -> list[Pair]:
    """Every pair that shares rare code or a rare trace, best first."""
    n = len(works)
    keys = exercises + [ADDED]
    answers = _Answers(works, keys, base_hashes)
    rare_traces: dict[tuple[str, str], list[tuple[str, object]]] = defaultdict(list)
    for kind, index in _trace_holders(works).items():
        for key, ss in index.items():
            if len(ss) >= 2 and weight(len(ss), n, common_share) > 0:
                for p in combinations(sorted(ss), 2):
                    rare_traces[p].append((kind, key))
    first = {}
    for a, b in combinations(sorted(works), 2):
        p = _pair(works[a], works[b], answers, keys, rare_traces.get((a, b), []), n, common_share, set())
        loose = _pair(works[a], works[b], answers, keys, [], n, RING_SHARE, set()).score
        if p.score > 0 or loose >= RING_SCORE:
            first[a, b] = p, loose
    # a group that copied from one another makes its answers look less rare than they are: a third
    # student paired with both of a pair (answers written by up to RING_SHARE of the class counting
    # as rare) is left out of the count of who wrote the pair's answers
    linked = defaultdict(set)
    for (a, b), (p, loose) in first.items():
        if loose >= RING_SCORE:
            linked[a].add(b)
            linked[b].add(a)
    out = []
    for (a, b), (p, _) in first.items():
        group = (linked[a] & linked[b]) - {a, b}
        if group:
            p = _pair(works[a], works[b], answers, keys, rare_traces.get((a, b), []), n, common_share, group)
        if p.score > 0:
            out.append(p)
    return sorted(out, key=lambda p: (-p.score, p.a, p.b))


def _pair(wa: Work, wb: Work, answers: _Answers, keys: list[str], traces: list[tuple[str, object]], n: int,
          common_share: float, group: set[str]) -> Pair:
    shares, evidence, score = [], [], 0.0
    a_all, b_all = answers.all[wa.student], answers.all[wb.student]
    found = []
    for key in keys:
        ha, hb = answers.sets[wa.student][key], answers.sets[wb.student][key]
        alike = _alike(ha, hb, a_all, b_all)
        if alike > 0:
            found.append((key, ha, hb, alike, answers.writers(key, frozenset(ha), frozenset(hb), alike)))
    for key, ha, hb, alike, writers in found:
        size = min(1.0, min(len(ha), len(hb)) / MIN_PRINTS)
        n_writers = len((writers - group) | {wa.student, wb.student})
        share = alike * size * weight(n_writers, n, common_share)
        if share <= 0:
            continue
        in_b, in_a = ha & b_all, hb & a_all
        lines_a = {ln for f in wa.prints.get(key, ()) if f.hash in in_b for ln in range(f.first_line, f.last_line + 1)}
        lines_b = {ln for f in wb.prints.get(key, ()) if f.hash in in_a for ln in range(f.first_line, f.last_line + 1)}
        shares.append(Share(key, share, lines_a, lines_b))
        score += share
        if share >= 0.5 and key in wa.failed and key in wb.failed:
            score += TRACES["wrong"][0]
            evidence.append(f"{key}: {TRACES['wrong'][1]}")
    if group:
        others = ", ".join(sorted(group)[:5]) + (" ..." if len(group) > 5 else "")
        evidence.append(f"answers counted as rare without {others} (similar to both: one group)")
    kinds = defaultdict(list)
    for kind, key in traces:
        kinds[kind].append(key)
    for kind in ("cell_id", "volatile", "history", "error"):
        found = kinds.get(kind)
        if not found:
            continue
        points, words = TRACES[kind]
        score += points * (min(len(found), MAX_ERRORS) if kind == "error" else 1)
        evidence.append(f"{words}: {_shown(kind, found, wa)}")
    return Pair(wa.student, wb.student, round(score, 2), shares, evidence)


def _shown(kind: str, keys: list, work: Work) -> str:
    if kind == "cell_id":
        return ", ".join(f"{k!r} ({work.added_ids[k]})" for k in sorted(keys)[:3])
    if kind == "volatile":
        return " | ".join(work.volatile[k] for k in sorted(keys)[:2])
    if kind == "error":
        return " | ".join(work.errors[k] for k in sorted(keys)[:2])
    return " ".join("-" if c < 0 else str(c) for c in keys[0][:40]) + (" ..." if len(keys[0]) > 40 else "")


def clusters(found: list[Pair]) -> list[list[str]]:
    """Groups of students linked by pairs (union-find), largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in found:
        parent[root(p.a)] = root(p.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for s in parent:
        groups[root(s)].append(s)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
