"""minigrad.viz: the graph drawn is the graph backward() walks."""
import matplotlib
import numpy as np
import pytest

import minigrad as mg
from lessons import autograd as lesson
from minigrad import nn, viz

matplotlib.use("Agg")


def first_lines(nodes, kind):
    return sorted(label.split("\n")[0] for label, k in nodes.values() if k == kind)


def test_the_worked_example_names_leaves_constants_and_ops():
    loss, names = lesson.named_graph()
    nodes, edges = viz.graph_of(loss, names)
    assert first_lines(nodes, "leaf") == ["W1", "W2", "b1", "b2"]
    assert {"x", "t", "2", "0.5"} <= set(first_lines(nodes, "constant"))
    ops = first_lines(nodes, "op")
    assert "h = Tanh" in ops and any(op.startswith("loss = ") for op in ops)
    assert all(source in nodes and target in nodes for source, target in edges)
    assert "h = Tanh\n3 float64" in [label for label, _ in nodes.values()]  # shape and dtype
    assert isinstance(viz.draw_graph(loss, names), matplotlib.figure.Figure)


def test_a_reused_node_and_a_diamond_are_one_node_with_two_edges():
    a = mg.tensor([2.0], requires_grad=True)
    b = a + a          # a reused node: two edges from a into one Add
    c = b * b          # a diamond on top: two edges from b's Add into one Mul
    nodes, edges = viz.graph_of(c, {"a": a, "b": b, "c": c})
    assert len(nodes) == 3
    assert edges.count((a, b.grad_fn)) == 2 and edges.count((b.grad_fn, c.grad_fn)) == 2


def test_a_leaf_shows_its_grad_once_it_has_one():
    w = mg.tensor([[1.0, 2.0]], requires_grad=True)
    (w * 3).sum().backward(retain_graph=True)
    loss = (w * 3).sum()
    (label, kind), = [v for k, v in viz.graph_of(loss, {"w": w})[0].items() if k is w]
    assert kind == "leaf" and label == "w\n1×2 float32\ngrad 1×2"


def test_a_deep_mlp_is_summarised_layer_by_layer():
    mg.manual_seed(0)
    layers = [m for _ in range(6) for m in (nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU())]
    model = nn.Sequential(*layers, nn.Linear(8, 3))
    loss = nn.functional.cross_entropy(model(mg.randn(16, 8)), mg.tensor(np.arange(16) % 3))
    nodes, edges = viz.summarised(*viz.graph_of(loss, dict(model.named_parameters())))
    ops = [label for label, kind in nodes.values() if kind == "op"]
    assert len(ops) == 7  # one box per Linear layer, the last with the loss
    assert sum(label.startswith("Linear\nFusedBatchNorm\nReLU (3 ops)") for label in ops) == 6
    assert len(first_lines(nodes, "leaf")) == 6 * 4 + 2  # every parameter still drawn


def test_a_ten_thousand_op_chain_needs_no_recursion():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    nodes, edges = viz.summarised(*viz.graph_of(y))
    assert [label for label, kind in nodes.values() if kind == "op"] == \
        ["Mul\nMul\n…\nMul (10000 ops)\n1 float32"]


def test_a_freed_graph_or_a_leaf_is_refused_with_the_reason():
    x = mg.tensor([1.0], requires_grad=True)
    y = x * 2
    y.backward()
    with pytest.raises(RuntimeError, match="freed by backward"):
        viz.draw_graph(y)
    with pytest.raises(ValueError, match="a leaf has no graph"):
        viz.draw_graph(x)


def test_dot_text_has_a_node_per_box_and_an_edge_per_arrow():
    loss, names = lesson.named_graph()
    nodes, edges = viz.graph_of(loss, names)
    dot = viz.to_dot(loss, names)
    assert dot.startswith("digraph minigrad {") and dot.count("->") == len(edges)
    assert dot.count("[label=") == len(nodes) and 'label="W1\\n3×2 float64"' in dot
