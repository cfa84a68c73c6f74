"""Winnowing fingerprints of Python code, normalised so that renaming, reformatting and commenting
do not change them (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003: the algorithm of MOSS).

The code is parsed with :mod:`ast` and written again by ``ast.unparse`` (one layout: no comments,
blank lines or redundant brackets), then read with :mod:`tokenize` (never run, never imported); code
that does not parse is tokenized as it is, up to where it stops. Every name the code
itself binds (assigned, a parameter, a loop target, a function, class or import alias) becomes ``V``,
unless it is the name of a stub's function (the instructor's);
strings become ``S``; keywords, operators, numbers, attribute names (``.zero_grad``) and the names the
code uses without binding them (``torch``, ``len``, ``DataLoader``) stay. A line starting with ``%`` or
``!`` (an IPython magic) is left out.

Fingerprints are hashes of K consecutive tokens (:data:`K`); of every window of :data:`WINDOW`
consecutive hashes the rightmost smallest is kept, so that any run of ``K + WINDOW - 1`` shared
tokens is always found, whatever surrounds it. Hashes are stable across processes (BLAKE2b).
"""
from __future__ import annotations

import ast
import copy
import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass

K = 5                     # tokens per k-gram
WINDOW = 4                # winnowing window (hashes)
MAX_CHARS = 100_000       # code read from one cell; the rest is not fingerprinted

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_SOFT_KEYWORDS = {"match", "case", "_", "type"}


@dataclass(frozen=True)
class Fingerprint:
    hash: int
    first_line: int       # 1-based lines of the cell the k-gram spans
    last_line: int


def bound_names(code: str) -> set[str] | None:
    """Names the code binds itself, or None when it does not parse (then every unknown name counts)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound: set[str] = set()
    try:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.alias) and node.asname:
                bound.add(node.asname)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                bound.update(node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
    except RecursionError:
        return None
    return bound


def _without_magics(code: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n"))


def _raw(code: str, line: int | None = None):
    """(type, text, line) of the tokens of ``code``, up to where it stops tokenizing; with ``line``
    every token is said to be on that line."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in _SKIP:
                yield tok.type, tok.string, line or tok.start[0]
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return


_BLOCKS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While, ast.If,
           ast.With, ast.AsyncWith)


def _canonical(body: list, out: list) -> None:
    """The tokens of parsed code as ``ast.unparse`` writes it (one layout, no comments, no redundant
    brackets), each on the line its statement starts on in the cell."""
    for node in body:
        if isinstance(node, _BLOCKS):
            header = copy.copy(node)
            header.body = [ast.Pass()]
            if hasattr(header, "orelse"):
                header.orelse = []
            out.extend(_raw(ast.unparse(header).rsplit("\n", 1)[0], node.lineno))
            out.append((tokenize.INDENT, "", node.lineno))
            _canonical(node.body, out)
            out.append((tokenize.DEDENT, "", node.end_lineno or node.lineno))
            if getattr(node, "orelse", None):
                at = node.orelse[0].lineno
                out.extend([(tokenize.NAME, "else", at), (tokenize.OP, ":", at), (tokenize.NEWLINE, "", at),
                            (tokenize.INDENT, "", at)])
                _canonical(node.orelse, out)
                out.append((tokenize.DEDENT, "", node.end_lineno or node.lineno))
        else:
            out.extend(_raw(ast.unparse(node), node.lineno))


def tokens(code: str, keep: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """The normalised tokens of ``code`` with the (1-based) line each starts on; the names in ``keep``
    (the stubs' function names) stay as they are."""
    code = _without_magics(code[:MAX_CHARS])
    bound = bound_names(code)
    raw: list = []
    if bound is not None:
        try:
            _canonical(ast.parse(code).body, raw)
        except (RecursionError, ValueError, SyntaxError, AttributeError, TypeError):
            raw = []
    if not raw:
        raw = list(_raw(code))
    out: list[tuple[str, int]] = []
    after_dot = False
    for kind, text, line in raw:
        if kind == tokenize.NAME:
            if after_dot or keyword.iskeyword(text) or text in keep:
                word = text
            elif bound is None:
                word = text if text in _BUILTINS else "V"
            else:
                word = "V" if text in bound else text
        elif kind == tokenize.STRING or kind in _FSTRING:
            word = "S"
            if out and out[-1][0] == "S":          # "a" "b", and an f-string's parts, are one string
                continue
        elif kind == tokenize.NEWLINE or (kind == tokenize.OP and text == ";"):
            word = ";"
        elif kind == tokenize.INDENT:
            word = "{"
        elif kind == tokenize.DEDENT:
            word = "}"
        else:
            word = text
        after_dot = kind == tokenize.OP and text == "."
        out.append((word, line))
    return out


_FSTRING = {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
_BUILTINS = set(dir(__import__("builtins"))) - _SOFT_KEYWORDS


def _hash(words: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(words).encode("utf-8", "replace"), digest_size=8).digest(), "big")


def fingerprints(code: str, keep: frozenset[str] = frozenset(), k: int = K, window: int = WINDOW) -> list[Fingerprint]:
    """The winnowed fingerprints of ``code`` (a short cell with fewer than ``k`` tokens has one, of all
    of it; an empty one has none)."""
    toks = tokens(code, keep)
    if not toks:
        return []
    if len(toks) < k:
        return [Fingerprint(_hash(tuple(w for w, _ in toks)), toks[0][1], toks[-1][1])]
    grams = [Fingerprint(_hash(tuple(w for w, _ in toks[i:i + k])), toks[i][1], toks[i + k - 1][1])
             for i in range(len(toks) - k + 1)]
    if window <= 1 or len(grams) <= window:           # tiny code: every k-gram
        return grams
    picked: list[int] = []
    for start in range(len(grams) - window + 1):
        i = _rightmost_min(grams, start, start + window)
        if not picked or picked[-1] != i:
            picked.append(i)
    return [grams[i] for i in picked]


def _rightmost_min(grams: list[Fingerprint], start: int, end: int) -> int:
    best = start
    for i in range(start, end):
        if grams[i].hash <= grams[best].hash:
            best = i
    return best


def hashes(code: str, keep: frozenset[str] = frozenset()) -> set[int]:
    return {f.hash for f in fingerprints(code, keep)}
