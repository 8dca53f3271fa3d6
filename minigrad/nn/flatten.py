"""`Flatten`: merge axes start_dim..end_dim, e.g. (N, C, H, W) -> (N, C·H·W) before a Linear."""
from ..ops.shape import flatten
from .module import Module


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
