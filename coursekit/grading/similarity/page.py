"""``similarity_<topic>.html``: each pair's evidence and answers side by side, for the instructor.

Everything on the page that a student chose (ids, code, outputs, errors) is text escaped by Jinja2's
autoescape; the page has no script at all, and its Content-Security-Policy allows none (and nothing
loaded from anywhere: the only style is the page's own).
"""
from __future__ import annotations

from pathlib import Path

import jinja2

from coursekit.grading import safeio
from coursekit.grading.similarity.read import ADDED

MAX_PAIRS = 300            # pairs on the page (the best)
MAX_LINES = 200            # lines of one answer shown

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>Similarity: {{ r.topic }}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
td, th { border: 1px solid #ccc; vertical-align: top; padding: 4px; text-align: left; }
th.ex { width: 11em; }
pre { margin: 0; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
mark { background: #ffe08a; }
.score { font-weight: bold; }
section { margin-bottom: 2.5em; }
.muted { color: #777; }
</style></head><body>
<h1>Similarity report: {{ r.topic }}</h1>
<p>{{ r.students|length }} students; {{ r.pairs|length }} pair(s) at or above the threshold {{ r.threshold }}
({{ r.below }} weaker pair(s) not shown). The score is the number of exercises' worth of rare code two students
share (an answer shared whole that no other student wrote counts 1; code much of the class wrote, the released stub
and the instructor's solution count 0), plus the notebook traces they share. It is evidence for a human to read,
not a verdict: students who worked together as allowed, or who started from the same public example, also
score. Highlighted lines are those the other student's code also holds.</p>
{% if r.problems %}<h2>Notebooks not read ({{ r.problems|length }})</h2>
<ul>{% for p in r.problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}
{% if r.clusters %}<h2>Groups</h2>
<ul>{% for g in r.clusters %}<li>{{ g|join(", ") }}</li>{% endfor %}</ul>{% endif %}
{% for p in pairs %}<section>
<h2>{{ loop.index }}. {{ p.a }} ~ {{ p.b }}: <span class="score">{{ "%.1f"|format(p.score) }}</span></h2>
{% if p.evidence %}<ul>{% for e in p.evidence %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
<table><tr><th class="ex">exercise (shared)</th><th>{{ p.a }}</th><th>{{ p.b }}</th></tr>
{% for row in p.rows %}<tr><td>{{ row.key }}<br><span class="muted">{{ "%.0f"|format(row.share * 100) }}%</span></td>
{% for side in (row.left, row.right) %}<td><pre>{% for marked, text in side %}{% if marked %}<mark>{{ text }}</mark>
{%- else %}{{ text }}{% endif %}
{% endfor %}</pre></td>{% endfor %}</tr>
{% endfor %}</table></section>
{% endfor %}
{% if r.pairs|length > pairs|length %}<p>... and {{ r.pairs|length - pairs|length }} more pair(s).</p>{% endif %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _lines(code: str, marked: set[int]) -> list[tuple[bool, str]]:
    lines = code.split("\n")
    out = [(i in marked and bool(line.strip()) and not line.lstrip().startswith("#"), line)
           for i, line in enumerate(lines[:MAX_LINES], 1)]
    if len(lines) > MAX_LINES:
        out.append((False, f"... {len(lines) - MAX_LINES} more lines"))
    return out


def render(report) -> str:
    pairs = []
    for p in report.pairs[:MAX_PAIRS]:
        rows = []
        for s in sorted(p.shares, key=lambda s: (s.key == ADDED, -s.share)):
            left = report.code.get(p.a, {}).get(s.key, "")
            right = report.code.get(p.b, {}).get(s.key, "")
            rows.append({"key": s.key, "share": s.share, "left": _lines(left, s.lines_a),
                         "right": _lines(right, s.lines_b)})
        pairs.append({"a": p.a, "b": p.b, "score": p.score, "evidence": p.evidence, "rows": rows})
    return _ENV.from_string(_TEMPLATE).render(r=report, pairs=pairs)


def write(report, path: Path) -> Path:
    safeio.write_atomic(path, render(report).encode("utf-8", "backslashreplace"))
    return path
