"""ActivationRecorder: what it records equals what the layer computed; hooks come and go."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.analysis import ActivationRecorder, drift


def small_net():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


def test_percentiles_match_the_layer_output_and_input():
    net = small_net()
    x = mg.randn(32, 5)
    hidden = net[0](x).data
    outputs = ActivationRecorder({"fc": net[0]}, what="output")
    inputs = ActivationRecorder({"act": net[1]}, what="input", unit=2, percentiles=(10, 90))
    with outputs, inputs:
        net(x)
        net(x * 2)
    assert outputs.percentiles("fc").shape == (2, 3)
    np.testing.assert_allclose(outputs.percentiles("fc")[0], np.percentile(hidden, [15, 50, 85]))
    np.testing.assert_allclose(inputs.percentiles("act")[0], np.percentile(hidden[:, 2], [10, 90]))


def test_unit_of_an_image_tensor_is_a_channel_over_all_positions():
    recorder = ActivationRecorder([nn.ReLU()], unit=1, percentiles=(0, 100))
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    np.testing.assert_array_equal(np.sort(recorder.values(mg.tensor(x))), np.sort(x[:, 1].ravel()))


def test_detached_recorder_leaves_no_hooks_and_records_nothing():
    net = small_net()
    recorder = ActivationRecorder({"fc": net[0]})
    with recorder:
        assert len(net[0]._forward_hooks) == 1
        net(mg.randn(8, 5))
    assert len(net[0]._forward_hooks) == 0
    net(mg.randn(8, 5))
    assert len(recorder.percentiles("fc")) == 1
    recorder.clear()
    assert len(recorder.percentiles("fc")) == 0


def test_training_only_skips_eval_forwards():
    net = small_net()
    recorder = ActivationRecorder({"fc": net[0]}, training_only=True)
    with recorder:
        net(mg.randn(8, 5))
        net.eval()
        net(mg.randn(8, 5))
        net.train()
        net(mg.randn(8, 5))
    assert len(recorder.percentiles("fc")) == 2


def test_histograms_count_every_value_with_shared_edges():
    net = small_net()
    recorder = ActivationRecorder({"fc": net[0]}, bins=np.linspace(-100, 100, 11))
    with recorder:
        net(mg.randn(16, 5))
        net(mg.randn(16, 5))
    counts = recorder.histograms("fc")
    assert counts.shape == (2, 10)
    assert (counts.sum(axis=1) == 16 * 4).all()


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="what"):
        ActivationRecorder([nn.ReLU()], what="gradient")
    with pytest.raises(ValueError, match="percentiles"):
        ActivationRecorder([nn.ReLU()], percentiles=(50, 120))
    with pytest.raises(TypeError, match="nn.Module"):
        ActivationRecorder({"x": np.zeros(3)})
    with pytest.raises(ValueError, match="histograms need bins"):
        ActivationRecorder([nn.ReLU()]).histograms("0")
    recorder = ActivationRecorder([nn.ReLU()], unit=7)
    with pytest.raises(ValueError, match=r"unit 7 .* shape \(4, 3\)"):
        recorder.values(mg.zeros(4, 3))


def test_drift_is_path_length_over_final_spread():
    assert drift([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]) == 0.0
    # each percentile moves up 1 then down 1 (travels 2); the final spread is 2
    assert drift([[0.0, 2.0], [1.0, 3.0], [0.0, 2.0]]) == pytest.approx(1.0)
    # only the upper one moves (travels 3, the lower 0: mean 1.5); final spread 4
    assert drift([[0.0, 1.0], [0.0, 4.0], [0.0, 4.0]]) == pytest.approx(0.375)
    with pytest.raises(ValueError, match="spread"):
        drift([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="records >= 2"):
        drift([[0.0, 1.0]])
