"""`ActivationRecorder`: watch what flows into or out of chosen layers, forward by forward.

[IS15] Fig. 1 plots the 15th/50th/85th percentiles of one sigmoid's input over training;
[S18] Fig. 2 plots how one layer's activation distribution moves. Both are summaries of
a layer's values taken at many moments. The recorder attaches a forward hook to each named
layer, and every forward it sees appends one summary (percentiles, optionally a histogram)
per layer. Only summaries are kept, never the activations themselves, so memory stays small.

The hooks exist only while the recorder is attached (`with recorder:` or `attach()`); a
model without a recorder runs exactly as before, with no cost at all.
"""
import numpy as np


class ActivationRecorder:
    """Record percentiles (and histograms) of layers' inputs or outputs at every forward.

    layers: {name: module} (or a list of modules, named "0", "1", ...).
    what: "output" (the module's result) or "input" (its first positional argument).
    unit: None pools every value of the tensor; an int keeps one feature (axis 1 of an
        (N, C) or (N, C, H, W) tensor: one neuron, or one channel over all positions).
    percentiles: which percentiles to keep, in [0, 100].
    bins: optional histogram edges (an array); every histogram uses the same edges so
        they can be stacked into an image over time.
    training_only: skip forwards made in eval mode (e.g. accuracy checks during training),
        so the records are exactly the training steps.

        recorder = ActivationRecorder({"h3": model[6]}, what="input", unit=0)
        with recorder:          # hooks attached here only
            model(probe)
        recorder.percentiles("h3")   # (forwards seen, 3)
    """

    def __init__(self, layers, what="output", unit=None, percentiles=(15, 50, 85), bins=None,
                 training_only=False):
        if what not in ("output", "input"):
            raise ValueError(f"ActivationRecorder: what must be 'output' or 'input', got {what!r}")
        if not isinstance(layers, dict):
            layers = {str(i): module for i, module in enumerate(layers)}
        if not layers:
            raise ValueError("ActivationRecorder: give at least one layer to record")
        for name, module in layers.items():
            if not hasattr(module, "register_forward_hook"):
                raise TypeError(f"ActivationRecorder: layer {name!r} is a "
                                f"{type(module).__name__}, not an nn.Module")
        self.q = np.asarray(percentiles, dtype=float)
        if self.q.ndim != 1 or self.q.size == 0 or self.q.min() < 0 or self.q.max() > 100:
            raise ValueError(f"ActivationRecorder: percentiles must lie in [0, 100], "
                             f"got {percentiles}")
        self.layers, self.what, self.unit = dict(layers), what, unit
        self.training_only = training_only
        self.bins = None if bins is None else np.asarray(bins, dtype=float)
        self.records = {name: {"percentiles": [], "histograms": []} for name in layers}
        self.handles = []

    # -- attaching -----------------------------------------------------------------------

    def attach(self):
        """Start recording (idempotent)."""
        if not self.handles:
            self.handles = [module.register_forward_hook(self._hook_for(name))
                            for name, module in self.layers.items()]
        return self

    def detach(self):
        """Stop recording; the model is back to hook-free."""
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()

    def _hook_for(self, name):
        def hook(module, inputs, output):
            if module.training or not self.training_only:
                self._record(name, inputs[0] if self.what == "input" else output)
        return hook

    # -- recording -----------------------------------------------------------------------

    def values(self, tensor):
        """The numbers one record summarises: all of them, or one unit's (axis 1)."""
        array = np.asarray(tensor.data)
        if self.unit is None:
            return array.ravel()
        if array.ndim < 2 or not -array.shape[1] <= self.unit < array.shape[1]:
            raise ValueError(f"ActivationRecorder: unit {self.unit} does not exist in a "
                             f"tensor of shape {array.shape} (units are axis 1)")
        return np.moveaxis(array, 1, 0)[self.unit].ravel()

    def _record(self, name, tensor):
        values = self.values(tensor)
        record = self.records[name]
        record["percentiles"].append(np.percentile(values, self.q))
        if self.bins is not None:
            record["histograms"].append(np.histogram(values, self.bins)[0])

    # -- reading ---------------------------------------------------------------------------

    def percentiles(self, name):
        """(forwards seen, len(percentiles)) array for layer `name`."""
        return np.array(self.records[name]["percentiles"]).reshape(-1, self.q.size)

    def histograms(self, name):
        """(forwards seen, len(bins) - 1) counts for layer `name` (needs `bins`)."""
        if self.bins is None:
            raise ValueError("ActivationRecorder: histograms need bins= at construction")
        return np.array(self.records[name]["histograms"]).reshape(-1, self.bins.size - 1)

    def clear(self):
        for record in self.records.values():
            record["percentiles"].clear()
            record["histograms"].clear()


def drift(percentiles):
    """How far a distribution wandered over training, in units of its final spread.

    The total variation of each percentile's path (sum of |record-to-record changes|),
    averaged over the percentiles, divided by the final outer spread (e.g. 85th - 15th).
    A distribution that settles early and stays scores low; one whose location keeps moving
    relative to its width scores high. The path is only as fine as the records, so compare
    drifts recorded at the same moments. `percentiles` is (records, k), columns ascending.
    """
    percentiles = np.asarray(percentiles, dtype=float)
    if percentiles.ndim != 2 or len(percentiles) < 2:
        raise ValueError(f"drift: need a (records >= 2, k) array, got shape {percentiles.shape}")
    travelled = np.abs(np.diff(percentiles, axis=0)).sum(axis=0).mean()
    spread = percentiles[-1, -1] - percentiles[-1, 0]
    if not spread > 0:
        raise ValueError(f"drift: the final spread is {spread}, so drift is undefined")
    return float(travelled / spread)
