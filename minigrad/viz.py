"""The graph that `backward()` will walk, drawn (micrograd's `draw_dot`, with matplotlib only).

    fig = minigrad.viz.draw_graph(loss, names={"W1": W1, "x": x})   # before loss.backward()
    print(minigrad.viz.to_dot(loss))                              # for Graphviz, if you have it

One box per node: an op (orange) with its output's shape and dtype, a leaf that requires grad
(blue: a parameter, with its .grad's shape once there is one) or a constant (grey: backward
skips it). Arrows run from inputs to the op that uses them, so the loss sits at the right.
Draw before `backward()` (or call it with retain_graph=True): the sweep frees each node's links.

A big graph (more than `max_ops` ops) is summarised layer by layer: a chain of ops that each
feed only the next is drawn as one box listing them, and a new box starts wherever a weight
(a leaf with two or more dimensions that requires grad) comes in.
"""
from .autograd import Function, Tensor

COLORS = {"op": "#fde0c5", "leaf": "#dbe9f6", "constant": "#eeeeee"}


def _shape(shape):
    return "×".join(map(str, shape)) or "scalar"


def graph_of(root, names=None):
    """({node: (label, kind)}, [(input, op)]) for the graph behind the tensor `root`.

    Nodes are ops (`Function` instances) and the leaf tensors they read; kind is "op", "leaf"
    (requires grad) or "constant". `names` maps labels to tensors: a named leaf shows its name,
    and the op that made a named tensor is called "name = Op". Walks `grad_fn.inputs` with a
    stack, as backward() does, so a 10,000-op chain is fine.
    """
    if not isinstance(root, Tensor) or root.grad_fn is None:
        raise ValueError("draw_graph needs a tensor made by ops on tensors that require grad "
                         "(a leaf has no graph)")
    if root.grad_fn.released:
        raise RuntimeError("this graph was freed by backward(); draw it before, or call "
                           "backward(retain_graph=True)")
    labels = {id(tensor): name for name, tensor in (names or {}).items()}
    nodes, edges, stack = {}, [], [root.grad_fn]
    while stack:
        op = stack.pop()
        if op in nodes:
            continue
        nodes[op] = f"{type(op).__name__}\n{_shape(op.output_shape)} {op.output_dtype}", "op"
        for link in op.inputs:  # the op that made an input, or a leaf tensor itself
            if isinstance(link, Tensor):
                nodes[link] = _leaf_label(link, labels.get(id(link)))
                edges.append((link, op))
            elif isinstance(link, Function):
                stack.append(link)
                edges.append((link, op))
    for name, tensor in (names or {}).items():
        if tensor.grad_fn in nodes:
            label, kind = nodes[tensor.grad_fn]
            nodes[tensor.grad_fn] = f"{name} = {label}", kind
    return nodes, edges


def _leaf_label(tensor, name):
    if not tensor.requires_grad:
        if name is None:  # an unnamed constant, such as the 2 in x ** 2
            name = f"{tensor.item():g}" if tensor.numel() == 1 else "const"
        return f"{name}\n{_shape(tensor.shape)}" if tensor.numel() > 1 else name, "constant"
    grad = "" if tensor.grad is None else f"\ngrad {_shape(tensor.grad.shape)}"
    return f"{name or 'param'}\n{_shape(tensor.shape)} {tensor.dtype}{grad}", "leaf"


def summarised(nodes, edges):
    """Merge each chain of ops in which an op's output goes only to the next op, that op reads
    no other op and no weight; the chain's last op stands for it, labelled with its ops."""
    consumers, op_inputs, reads_weight = {}, {}, set()
    for source, target in edges:
        consumers.setdefault(source, []).append(target)
        if nodes[source][1] == "op":
            op_inputs.setdefault(target, []).append(source)
        elif nodes[source][1] == "leaf" and source.ndim >= 2:
            reads_weight.add(target)

    def links_on(op):
        following = consumers.get(op, [])
        return (len(following) == 1 and op_inputs.get(following[0]) == [op]
                and following[0] not in reads_weight)

    stands_for, merged = {}, dict(nodes)
    for op in [n for n, (_, kind) in nodes.items() if kind == "op"]:
        if op in stands_for:
            continue
        start = op
        while len(op_inputs.get(start, [])) == 1 and links_on(op_inputs[start][0]):
            start = op_inputs[start][0]
        chain = [start]
        while links_on(chain[-1]):
            chain.append(consumers[chain[-1]][0])
        for member in chain:
            stands_for[member] = chain[-1]
            if member is not chain[-1]:
                del merged[member]
        names = [nodes[member][0].split("\n")[0] for member in chain]
        if len(names) > 4:
            names = names[:2] + ["…"] + names[-1:]
        count = f" ({len(chain)} ops)" if len(chain) > 1 else ""
        output = nodes[chain[-1]][0].split("\n", 1)[1]
        one_per_line = "\n".join(names)
        merged[chain[-1]] = f"{one_per_line}{count}\n{output}", "op"
    kept = {(stands_for.get(s, s), stands_for.get(t, t)) for s, t in edges}
    return merged, [(s, t) for s, t in kept if s is not t]


def _columns(nodes, edges):
    """Ops in columns by their longest distance from the inputs; a leaf one column left of the
    first op that reads it."""
    op_inputs, consumers = {}, {}
    for source, target in edges:
        consumers.setdefault(source, []).append(target)
        if nodes[source][1] == "op":
            op_inputs.setdefault(target, []).append(source)
    column = {}
    for op in [n for n, (_, kind) in nodes.items() if kind == "op"]:
        pending = [op]
        while pending:  # settle a node once all its op inputs are settled (no recursion)
            node = pending[-1]
            missing = [s for s in op_inputs.get(node, []) if s not in column]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            column[node] = 1 + max((column[s] for s in op_inputs.get(node, [])), default=0)
    for node, (_, kind) in nodes.items():
        if kind != "op":
            column[node] = min(column[c] for c in consumers[node]) - 1
    return column


def layout(nodes, edges):
    """(x, y) for every node: ops stacked downwards in their column, leaves above them."""
    column = _columns(nodes, edges)
    position = {}
    for c in set(column.values()):
        ops = [n for n in nodes if column[n] == c and nodes[n][1] == "op"]
        leaves = [n for n in nodes if column[n] == c and nodes[n][1] != "op"]
        for k, node in enumerate(ops):
            position[node] = (c, -k)
        for k, node in enumerate(leaves):
            position[node] = (c, 1 + k if ops else (len(leaves) - 1) / 2 - k)
    return position


def draw_graph(root, names=None, max_ops=60, title=None):
    """A matplotlib Figure of the graph behind `root` (see the module docstring)."""
    import matplotlib.pyplot as plt

    nodes, edges = graph_of(root, names)
    ops = sum(kind == "op" for _, kind in nodes.values())
    if ops > max_ops:
        nodes, edges = summarised(nodes, edges)
    position = layout(nodes, edges)
    xs, ys = zip(*position.values())
    width, height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 2
    fig, ax = plt.subplots(figsize=(min(max(1.8 * width, 6), 60), min(max(0.9 * height, 2), 40)))
    for source, target in edges:
        ax.annotate("", xy=position[target], xytext=position[source],
                    arrowprops=dict(arrowstyle="->", color="0.5", shrinkA=16, shrinkB=16))
    for node, (label, kind) in nodes.items():
        ax.text(*position[node], label, ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle="round,pad=0.35", fc=COLORS[kind], ec="0.4"))
    ax.set_axis_off()
    ax.set(xlim=(min(xs) - 0.7, max(xs) + 0.7), ylim=(min(ys) - 0.7, max(ys) + 0.7))
    summary = f", {ops} ops summarised as chains" if ops > max_ops else ""
    ax.set_title(title or f"the graph backward() walks (blue: leaves that require grad, grey: "
                          f"constants, orange: ops{summary})", fontsize=9)
    return fig


def to_dot(root, names=None):
    """The same graph as Graphviz DOT text (`dot -Tpng`), for those who have Graphviz."""
    nodes, edges = graph_of(root, names)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    shapes = {"op": "box", "leaf": "ellipse", "constant": "plaintext"}
    lines = ["digraph minigrad {", "  rankdir=LR;"]
    for node, (label, kind) in nodes.items():
        text = label.replace('"', r"\"").replace("\n", r"\n")
        lines.append(f'  {ids[node]} [label="{text}", shape={shapes[kind]}, style=filled, '
                     f'fillcolor="{COLORS[kind]}"];')
    lines += [f"  {ids[source]} -> {ids[target]};" for source, target in edges]
    return "\n".join(lines + ["}"])
