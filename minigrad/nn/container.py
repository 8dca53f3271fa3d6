"""Containers: `Sequential` (a chain of layers), `ModuleList` (a list whose layers are
registered as submodules) and `Identity` (a layer that does nothing, handy as a placeholder)."""
from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """Calls its layers in order, each on the previous one's output.

    `Sequential(a, b, c)` names them "0", "1", "2" (as PyTorch does, so state_dict keys
    match); `Sequential(OrderedDict(conv=..., relu=...))` uses the given names. Index it
    like a list: model[0], model[-1], model[1:] (a new Sequential sharing the layers).
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)
        for name, module in self._modules.items():
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: {name!r} is a {type(module).__name__}, not a Module")

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_checked(index, len(self), "Sequential")]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of layers whose parameters the parent module sees (a plain list would hide them)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return list(self._modules.values())[_checked(index, len(self), "ModuleList")]

    def __setitem__(self, index, module):
        name = list(self._modules)[_checked(index, len(self), "ModuleList")]
        self._modules[name] = module

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def forward(self, *args):
        raise NotImplementedError("ModuleList is a container: call its layers, not the list")


class Identity(Module):
    """y = x."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


def _checked(index, length, owner):
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for {length} layers")
    return index % length
