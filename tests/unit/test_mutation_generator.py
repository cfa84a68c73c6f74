"""The mutant generator of coursekit.mutation: each operator makes the mistake it names, only inside
the solution markers, every mutant compiles, duplicates are dropped and ids are stable."""
from __future__ import annotations

import ast
import textwrap

import pytest

from coursekit.mutation.generator import (OPERATORS, generate, mutant_id, normalised, sample,
                                          solution_regions)


def cell(body: str, header: str = "def f(x, y, model, optimizer, loss_fn, loader, n, lr):") -> str:
    """A solution cell: ``header``, then ``body`` between the markers, indented under it."""
    inner = textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")
    return f"{header}\n    ### BEGIN SOLUTION\n{inner}    ### END SOLUTION\n"


def region(source: str) -> str:
    """The code between the markers, dedented and normalised (comments and layout dropped)."""
    lines = source.splitlines()
    (first, last), = solution_regions(source)
    return normalised(textwrap.dedent("\n".join(lines[first - 1:last])))


def variants(body: str, operator: str | None = None, **kw) -> set[str]:
    return {region(m.source) for m in generate(cell(body, **kw), [operator] if operator else None)}


def norm(code: str) -> str:
    return normalised(textwrap.dedent(code).strip())


@pytest.mark.parametrize("operator, body, expected", [
    ("swap_args", "return loss_fn(x, y)", "return loss_fn(y, x)"),
    ("dim", "return x.sum(dim=0)", "return x.sum(dim=1)"),
    ("dim", "return x.sum(dim=0)", "return x.sum(dim=-1)"),
    ("dim", "return x.sum(dim=0)", "return x.sum(dim=0, keepdim=True)"),
    ("dim", "return x.argmax(1)", "return x.argmax(0)"),
    ("dim", "return torch.softmax(x, 1)", "return torch.softmax(x, 0)"),
    ("dim", "return nn.Softmax(dim=1)", "return nn.Softmax(dim=0)"),
    ("reduction", "return nn.MSELoss(reduction='sum')", "return nn.MSELoss(reduction='mean')"),
    ("reduction", "return nn.MSELoss(reduction='sum')", "return nn.MSELoss(reduction='none')"),
    ("reduction", "return nn.MSELoss()", "return nn.MSELoss(reduction='sum')"),
    ("drop_call", "optimizer.zero_grad()\nloss_fn(x, y).backward()", "pass\nloss_fn(x, y).backward()"),
    ("drop_call", "model.train()\nreturn model(x)", "pass\nreturn model(x)"),
    ("drop_call", "model.eval()\nreturn model(x)", "pass\nreturn model(x)"),
    ("drop_with", "with torch.no_grad():\n    out = model(x)\nreturn out", "out = model(x)\nreturn out"),
    ("flip_bool", "return DataLoader(x, shuffle=True)", "return DataLoader(x, shuffle=False)"),
    ("flip_bool", "return DataLoader(x, shuffle=n)", "return DataLoader(x, shuffle=True)"),
    ("flip_bool", "return DataLoader(x, shuffle=n)", "return DataLoader(x, shuffle=False)"),
    ("drop_keyword", "return torch.tensor(x, dtype=torch.float32)", "return torch.tensor(x)"),
    ("sibling", "return x.mean()", "return x.sum()"),
    ("sibling", "return torch.sigmoid(x)", "return torch.softmax(x)"),
    ("sibling", "return nn.ReLU()", "return nn.Sigmoid()"),
    ("sibling", "return x.argmax(dim=1)", "return x.argmin(dim=1)"),
    ("sibling", "return round(x * n)", "return int(x * n)"),
    ("sibling", "model.eval()", "model.train()"),
    ("sibling", "with torch.no_grad():\n    return model(x)", "with torch.enable_grad():\n    return model(x)"),
    ("identity", "return torch.relu(x)", "return x"),
    ("identity", "return nn.Sequential(nn.Linear(2, 3), nn.ReLU())", "return nn.Sequential(nn.Linear(2, 3), nn.Identity())"),
    ("identity", "return x.float() / 255", "return x / 255"),
    ("identity", "return x @ y.T", "return x @ y"),
    ("augassign", "x = x - y\nreturn x", "x -= y\nreturn x"),
    ("augassign", "x -= lr * y", "x = x - lr * y"),
    ("augassign", "x -= lr * y", "x = lr * y"),
    ("insert_method", "return x + y", "return (x + y).detach()"),
    ("insert_method", "return x + y", "return (x + y).item()"),
    ("insert_method", "return x + y", "return (x + y).squeeze()"),
    ("insert_method", "return x + y", "return (x + y).double()"),
    ("insert_method", "return loss_fn(model(x), y)", "return loss_fn(model(x).detach(), y)"),
    ("insert_method", "return loss_fn(model(x), y)", "return loss_fn(model(x), y.squeeze())"),
    ("constant", "return x + 0", "return x + 1"),
    ("constant", "return x + 1", "return x + 2"),
    ("constant", "return x + 2", "return x + 1"),
    ("constant", "return x * 0.5", "return x * 1.0"),
    ("off_by_one", "return [x for i in range(n)]", "return [x for i in range(n + 1)]"),
    ("off_by_one", "return [x for i in range(n)]", "return [x for i in range(n - 1)]"),
    ("off_by_one", "return x[:n]", "return x[:n + 1]"),
    ("off_by_one", "return nn.Linear(n, 1)", "return nn.Linear(n - 1, 1)"),
    ("off_by_one", "return x / len(loader)", "return x / (len(loader) - 1)"),
    ("reverse", "return [x, y, n]", "return [n, y, x]"),
    ("reverse", "return x[n, y]", "return x[y, n]"),
    ("drop_element", "return nn.Sequential(x, y, n)", "return nn.Sequential(x, n)"),
    ("loop", "for b in loader:\n    y.append(b)", "for b in []:\n    y.append(b)"),
    ("loop", "for b in loader:\n    y.append(b)", "for b in reversed(list(loader)):\n    y.append(b)"),
    ("compare", "return x < y", "return x <= y"),
    ("compare", "return x >= y", "return x > y"),
    ("compare", "return x == y", "return x != y"),
    ("arith", "return x + y", "return x - y"),
    ("arith", "return x - y", "return y - x"),
    ("arith", "return x / y", "return x // y"),
    ("arith", "return -(x * y)", "return x * y"),
    ("drop_return", "return x", "return"),
    ("condition", "if n:\n    return x\nreturn y", "if True:\n    return x\nreturn y"),
    ("condition", "if n:\n    return x\nreturn y", "if False:\n    return x\nreturn y"),
    ("condition", "if n:\n    raise ValueError(n)\nreturn y", "if n:\n    pass\nreturn y"),
    ("inplace", "p = torch.clamp(x, 0.1, 0.9)\nreturn p", "p = x.clamp_(0.1, 0.9)\nreturn p"),
    ("inplace", "p = torch.clamp(x, 0.1, 0.9)\nreturn p", "p = x.data.clamp_(0.1, 0.9)\nreturn p"),
    ("inplace", "return (x - y) ** 2", "return x.sub_(y) ** 2"),
    ("inplace", "return x.sigmoid()", "return x.sigmoid_()"),
    ("narrow_dtype", "return x @ y", "return (x @ y).float()"),
    ("narrow_dtype", "return x @ y", "return (x @ y).long()"),
    ("narrow_dtype", "return x @ y", "return (x @ y).int()"),
    ("narrow_dtype", "return loss_fn(model(x), y)", "return loss_fn(model(x), y.long())"),
    ("narrow_dtype", "return loss_fn(model(x), y)", "return loss_fn(model(x), y.float())"),
    ("narrow_range", "return x @ y", "return (x @ y).clamp(0, 1)"),
    ("narrow_range", "return loss_fn(model(x), y)", "return loss_fn(model(x), y.clamp(0, 1))"),
    ("narrow_range", "x -= lr * y", "x -= max(lr, 0.001) * y"),
    ("early_exit", "losses = []\nfor b in loader:\n    losses.append(loss_fn(model(b), y))\nreturn losses",
     "losses = []\nfor b in loader:\n    if len(losses) > 1 and losses[-1] > losses[-2]:\n        break\n"
     "    losses.append(loss_fn(model(b), y))\nreturn losses"),
    ("early_exit", "for b in loader:\n    loss = loss_fn(model(b), y)\n    loss.backward()\nreturn model",
     "for b in loader:\n    loss = loss_fn(model(b), y)\n    if float(loss) < 0.01:\n        break\n"
     "    loss.backward()\nreturn model"),
    ("early_exit", "for n in range(3):\n    for b in loader:\n        loss = loss_fn(model(b), y)\nreturn model",
     "for n in range(3):\n    for b in loader:\n        loss = loss_fn(model(b), y)\n        if float(loss) < 0.01:\n"
     "            return model\nreturn model"),
    ("early_exit", "for p in x:\n    p -= lr * p.grad",
     "for p in x:\n    if p.grad is not None and float(p.grad.abs().max()) < 0.001:\n        break\n    p -= lr * p.grad"),
    ("device", "return torch.zeros(n, device=x.device)", "return torch.zeros(n)"),
    ("device", "return torch.zeros(n, device=x.device)", "return torch.zeros(n, device='cpu')"),
    ("device", "return model(x.to(y.device))", "return model(x)"),
    ("device", "return model(x.to(y.device))", "return model(x.cpu())"),
    ("shared_layer", "return nn.Sequential(nn.Linear(n, 3), nn.ReLU())",
     "return nn.Sequential(globals().setdefault('_shared_layers', {}).setdefault(('Linear', n, 3), nn.Linear(n, 3)), "
     "nn.ReLU())"),
])
def test_operator_makes_its_mistake(operator, body, expected):
    found = variants(body, operator)
    assert norm(expected) in found, f"{operator} on {body!r} gave:\n" + "\n---\n".join(sorted(found))


def test_every_operator_is_covered_above():
    names = {p[0] for p in test_operator_makes_its_mistake.pytestmark[0].args[1]}
    assert names == set(OPERATORS)


@pytest.mark.parametrize("operator, body, not_expected", [
    ("dim", "return x.sum(dim=1)", "return x.sum(dim=-1)"),              # the same axis on 2-D data
    ("insert_method", "with torch.no_grad():\n    return model(x) + 1", "with torch.no_grad():\n    return (model(x) + 1).detach()"),
    ("insert_method", "return model(x)", "return model(x.detach())"),  # a plain input: nothing to cut
    ("augassign", "total = 0.0\nfor b in loader:\n    total += b\nreturn total",
     "total = 0.0\nfor b in loader:\n    total = total + b\nreturn total"),  # Python floats: the same
    ("reverse", "a, b = (0.0, 0)\nreturn a", "a, b = (0, 0.0)\nreturn a"),
    ("loop", "for epoch in range(n):\n    model(x)", "for epoch in reversed(list(range(n))):\n    model(x)"),
    ("swap_args", "return f(x, x)", "return f(x, x)"),
    ("insert_method", "out = torch.zeros(n, 3)\nreturn out", "out = torch.zeros(n, 3).detach()\nreturn out"),
    ("insert_method", "return x.argmax(dim=1)", "return x.argmax(dim=1).detach()"),      # integers
    ("insert_method", "return ((x - y) ** 2).mean()", "return ((x - y) ** 2).mean().squeeze()"),  # 0-dim
    ("insert_method", "loss = loss_fn(x, y)\nreturn loss", "loss = loss_fn(x, y).squeeze()\nreturn loss"),
    ("insert_method", "out = torch.zeros(n, 3)\nout[0] = 1.0\nreturn out", "out = torch.zeros(n, 3)\nout[0] = 1.0\nreturn out.detach()"),
    ("insert_method", "return torch.mean(x ** 2)", "return torch.mean(x ** 2).squeeze()"),
    ("augassign", "x[n, y] += 1", "x[n, y] = x[n, y] + 1"),                   # one __setitem__ either way
    ("augassign", "layers = []\nlayers += [x]\nreturn layers", "layers = []\nlayers = layers + [x]\nreturn layers"),
    # settings, models and Python numbers are not the caller's tensors: no in-place or .float() on them
    ("inplace", "return lr * x", "return lr.mul_(x)"),
    ("narrow_dtype", "return loss_fn(model(x), y)", "return loss_fn.float()(model(x), y)"),
    ("narrow_dtype", "return train(model, x, optimizer)", "return train(model, x, optimizer.float())"),
    ("narrow_dtype", "total, count = 0.0, 0\nreturn total / count", "total, count = 0.0, 0\nreturn (total / count).float()"),
    ("narrow_dtype", "return x.float() / 255", "return (x.float() / 255).float()"),       # already float32
    ("narrow_dtype", "return nn.Linear(n, 2)", "return nn.Linear(n, 2).float()"),          # a model
    ("narrow_range", "return torch.sigmoid(x)", "return torch.sigmoid(x).clamp(0, 1)"),     # already in [0, 1]
    ("narrow_range", "return torch.clamp(x, 0.1, 0.9)", "return torch.clamp(x.clamp(0, 1), 0.1, 0.9)"),
    ("early_exit", "layers = []\nfor b in loader:\n    layers.append(b)\nreturn layers",    # no loss that can rise
     "layers = []\nfor b in loader:\n    if len(layers) > 1 and layers[-1] > layers[-2]:\n        break\n"
     "    layers.append(b)\nreturn layers"),
    ("early_exit", "for b in loader:\n    loss = loss_fn(model(b), y)\nreturn model",  # return after the loop = break
     "for b in loader:\n    loss = loss_fn(model(b), y)\n    if float(loss) < 0.01:\n        return model\nreturn model"),
    ("device", "return torch.zeros(n, device='cpu')", "return torch.zeros(n)"),
    ("shared_layer", "return nn.Sequential(nn.ReLU())",
     "return nn.Sequential(globals().setdefault('_shared_layers', {}).setdefault(('ReLU',), nn.ReLU()))"),
])
def test_operator_skips_what_cannot_be_a_mistake(operator, body, not_expected):
    assert norm(not_expected) not in variants(body, operator) - {norm(body)}


def test_only_the_solution_region_is_mutated():
    source = textwrap.dedent('''\
        def f(x, n=2):
            """Docstring with 3 numbers: 1, 2."""
            eps = 1e-7 + n - 1
            ### BEGIN SOLUTION
            return x.sum(dim=0) + 1
            ### END SOLUTION

        y = f(torch.ones(2, 3)) * 2 - 1
        ''')
    lines = source.splitlines()
    (first, last), = solution_regions(source)
    mutants = generate(source)
    assert mutants
    for m in mutants:
        new = m.source.splitlines()
        assert new[:first - 1] == lines[:first - 1], m.description
        tail = len(lines) - last
        assert new[len(new) - tail:] == lines[last:], m.description
        assert "### BEGIN SOLUTION" in m.source and "### END SOLUTION" in m.source


def test_every_region_of_a_cell_is_mutated_and_nothing_between():
    source = textwrap.dedent('''\
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                ### BEGIN SOLUTION
                self.a = nn.Linear(n, 2)
                ### END SOLUTION

            def forward(self, x):
                ### BEGIN SOLUTION
                return torch.relu(self.a(x))
                ### END SOLUTION
        ''')
    mutants = generate(source)
    assert any("self.a = nn.Linear(n + 1, 2)" in m.source for m in mutants)
    assert any("return self.a(x)" in m.source for m in mutants)
    assert all("super().__init__()" in m.source and "def forward(self, x):" in m.source for m in mutants)


def test_no_markers_or_no_python_means_no_mutants():
    assert generate("def f(x):\n    return x + 1\n") == []
    assert generate("%matplotlib inline\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n") == []


def test_mutants_compile_differ_from_the_original_and_are_unique():
    source = cell("""
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
            count += len(xb)
        return total / count
    """)
    mutants = generate(source)
    codes = [normalised(m.source) for m in mutants]
    assert normalised(source) not in codes
    assert len(codes) == len(set(codes))
    assert len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        compile(m.source, "<mutant>", "exec")


def test_the_same_code_from_two_operators_is_one_mutant():
    # dim=0 -> dim=1 comes from both `dim` and `constant`; `x.mean()` from `drop_keyword` only once
    mutants = generate(cell("return x.mean(dim=0)"))
    made = [region(m.source) for m in mutants]
    assert made.count(norm("return x.mean(dim=1)")) == 1
    assert [m.operator for m in mutants if region(m.source) == norm("return x.mean(dim=1)")] == ["dim"]


def test_ids_ignore_comments_blank_lines_and_the_text_around_the_region():
    a = cell("return x.sum(dim=0)  # column sums")
    b = cell("\n# a comment\nreturn x.sum(dim=0)\n").replace("def f(", "def f(  ")
    b = b.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION", 1)
    b = '"""changed prose"""\n' + b
    ids_a = {region(m.source): m.id for m in generate(a)}
    ids_b = {region(m.source): m.id for m in generate(b)}
    assert ids_a == ids_b
    assert mutant_id(a) == mutant_id(b)
    assert mutant_id(cell("return x.sum(dim=1)")) != mutant_id(a)


def test_sample_is_deterministic_bounded_and_spread_over_operators():
    mutants = generate(cell("""
        out = torch.zeros(n, 3)
        for i in range(n):
            out[i] = loss_fn(model(x[i]), y[i]).mean(dim=0) * 2 + 1
        model.eval()
        return out.sum(dim=1) / len(loader)
    """))
    assert len(mutants) > 30
    first, second = sample(mutants, 20), sample(list(reversed(mutants)), 20)
    assert len(first) == 20 and {m.id for m in first} == {m.id for m in second}
    present = {m.operator for m in mutants}
    if len(present) <= 20:
        assert {m.operator for m in first} == present
    assert sample(mutants, None) == mutants and sample(mutants, 0) == mutants
    assert [m.id for m in first] == [m.id for m in mutants if m in first]   # source order kept


def test_every_course_exercise_gets_mutants_that_compile():
    from coursekit.notebook import exercises, read
    from coursekit.paths import solution_notebook, topics

    for topic in topics():
        for ex in exercises(read(solution_notebook(topic))):
            mutants = generate(ex.source)
            assert mutants, f"{topic} {ex.grade_id}: no mutants"
            for m in mutants:
                ast.parse(m.source)
                assert m.source.count("### BEGIN SOLUTION") == ex.source.count("### BEGIN SOLUTION")


def test_a_shared_layer_mutant_returns_the_same_layer_to_every_call():
    source = cell("return nn.Sequential(nn.Linear(n, 3), nn.ReLU())", header="def make(n):")
    mutant, = [m for m in generate(source, ["shared_layer"])]
    import torch
    from torch import nn
    space = {"nn": nn, "torch": torch}
    exec(source, space)
    assert space["make"](2)[0] is not space["make"](2)[0]
    exec(mutant.source, space)
    first, second, other = space["make"](2), space["make"](2), space["make"](4)
    assert first is not second and first[0] is second[0] and other[0] is not first[0]


def test_an_inplace_mutant_changes_the_callers_tensor():
    import torch
    source = cell("return torch.clamp(x, 0.1, 0.9)", header="def f(x):")
    made = {region(m.source): m for m in generate(source, ["inplace"])}
    for code in (norm("return x.clamp_(0.1, 0.9)"), norm("return x.data.clamp_(0.1, 0.9)")):
        space = {"torch": torch}
        exec(made[code].source, space)
        x = torch.tensor([0.0, 0.5, 1.0])
        space["f"](x)
        assert x.tolist() != [0.0, 0.5, 1.0], code
