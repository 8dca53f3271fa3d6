"""`Module`: the base of every layer, with PyTorch's bookkeeping.

A module finds its parameters, buffers and submodules by watching attribute assignment:
`self.weight = Parameter(...)` registers a parameter, `self.fc = Linear(...)` a submodule,
`self.register_buffer("running_mean", t)` a buffer (state that is saved but not trained).
Everything else (`parameters()`, `state_dict()`, `train()`) walks that tree.
"""
from collections import OrderedDict

import numpy as np

from ..autograd import Tensor, dtype_of


class Parameter(Tensor):
    """A Tensor that a Module trains: it requires grad and `parameters()` yields it."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclasses define `forward` and call it as `module(x)`."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ------------------------------------------------------------------------

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value if value is None or isinstance(value, Tensor) else Tensor(value)
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry, {})
            if name in table:
                return table[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """Keep `tensor` as state (saved in state_dict, not trained), e.g. BN's running mean."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        setattr(self, name, tensor)

    def register_parameter(self, name, parameter):
        if parameter is None:
            self._parameters[name] = None
        else:
            setattr(self, name, parameter)

    def add_module(self, name, module):
        self._modules[name] = module

    # -- calling -----------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    def register_forward_hook(self, hook):
        """Call `hook(module, inputs, output)` after every forward; returns a handle to `.remove()`."""
        handle = _RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- walking the tree ----------------------------------------------------------------------

    def named_modules(self, prefix=""):
        """(name, module) for this module and every module below it, depth first."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, registry):
        seen = set()
        for module_name, module in self.named_modules():
            for name, value in getattr(module, registry).items():
                if value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self):
        return self._named_members("_parameters")

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self):
        return self._named_members("_buffers")

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # -- modes and gradients ---------------------------------------------------------------------

    def train(self, mode=True):
        """Training mode (the default): BN uses batch statistics, dropout drops."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: BN uses running statistics, dropout does nothing."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- dtypes -----------------------------------------------------------------------------------

    def to(self, dtype):
        """Cast every parameter (and its .grad) and every floating buffer to `dtype`, in place.

        Integer buffers (BN's num_batches_tracked) keep their dtype. `.to("cpu")` changes
        nothing (minigrad has no other device). Returns the module, as in PyTorch.
        """
        dtype = dtype_of(dtype)
        if dtype is None:
            return self
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor is not None and np.issubdtype(tensor.data.dtype, np.floating):
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad.data = tensor.grad.data.astype(dtype)
        return self

    def double(self):
        """`to(float64)`: e.g. to gradcheck a whole model, where float32 rounding is too coarse."""
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # -- state ------------------------------------------------------------------------------------

    def state_dict(self):
        """Name -> ndarray copy for every parameter and buffer (what a checkpoint holds)."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        state[prefix + name] = value.data.copy()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into parameters and buffers in place; strict checks the keys match.

        Returns (missing_keys, unexpected_keys) like PyTorch. A shape mismatch is always an error.
        """
        own = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        own[prefix + name] = value
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
        loads = [(own[key], np.asarray(value.data if isinstance(value, Tensor) else value), key)
                 for key, value in state_dict.items() if key in own]
        for target, value, key in loads:  # check every shape before changing anything
            if value.shape != target.shape:
                raise ValueError(f"load_state_dict: {key} has shape {value.shape} in the checkpoint "
                                 f"but {target.shape} in the model")
        for target, value, _ in loads:
            target.data[...] = value
        return missing, unexpected

    # -- printing ---------------------------------------------------------------------------------

    def extra_repr(self):
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(module).replace("\n", "\n  ")
                 for name, module in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(" + "".join("\n  " + line for line in lines) + "\n)"


class _RemovableHandle:
    _next_id = 0

    def __init__(self, hooks):
        self.hooks, self.id = hooks, _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)
