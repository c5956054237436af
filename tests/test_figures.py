"""Tests for aelab.figures: each builder returns the traces, axes and data the pages rely on."""
import numpy as np

from aelab import diagram, figures
from aelab.spec import ArchSpec
from aelab.train import History


def test_sandglass_has_one_bar_per_layer_and_labels_the_code():
    """The sandglass draws a bar per layer width and marks the code."""
    spec = ArchSpec(784, (128, 64, 12), 3)
    fig = diagram.sandglass(spec)
    assert len(fig.layout.shapes) == len(spec.widths) == 9
    texts = [a.text for a in fig.layout.annotations]
    assert "code" in texts and "3" in texts and "parameters" in fig.layout.title.text


def test_loss_curves_plot_train_and_test():
    """Loss curves: a train line and a test line on a log y axis, x in epochs."""
    h = History(step_x=[0.5, 1.0], train=[0.2, 0.1], epoch_x=[0, 1], test=[0.3, 0.15])
    fig = figures.loss_curves(h, total_epochs=5)
    assert [t.name for t in fig.data] == ["train", "test (held out)"]
    assert fig.layout.yaxis.type == "log" and tuple(fig.layout.xaxis.range) == (0, 5)


def test_image_grid_tiles_rows_and_columns():
    """Two rows of three 8x8 images become one (2*9-1, 3*9-1) picture with NaN gaps."""
    rows = [np.zeros((3, 64)), np.ones((3, 64))]
    fig = figures.image_grid(rows, (8, 8), row_labels=["in", "out"])
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (17, 26)
    assert np.isnan(z[8]).all() and z[0, 0] == 0 and z[9, 0] == 1


def test_latent_scatter_2d_3d_1d_carry_indices():
    """One trace per class; 3 dims give Scatter3d; customdata holds the data-set indices."""
    labels = np.array([0, 1, 0, 1])
    idx = np.array([10, 11, 12, 13])
    f2 = figures.latent_scatter(np.random.rand(4, 2), labels, ["a", "b"], indices=idx)
    f3 = figures.latent_scatter(np.random.rand(4, 3), labels, ["a", "b"], indices=idx)
    f1 = figures.latent_scatter(np.random.rand(4, 1), labels, ["a", "b"], indices=idx)
    assert len(f2.data) == 2 and f2.data[0].type == "scatter"
    assert f3.data[0].type == "scatter3d" and f1.data[0].type == "scatter"
    assert sorted(np.concatenate([t.customdata for t in f2.data]).tolist()) == [10, 11, 12, 13]


def test_warm_up_covers_every_trace_type_aelab_draws():
    """figures.warm_up builds a figure of every plotly trace type used anywhere in aelab/ and pages/."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    used = set()
    for path in [*root.glob("aelab/*.py"), *root.glob("pages/*.py")]:
        used |= set(re.findall(r"go\.([A-Z][A-Za-z0-9]*)\(", path.read_text(encoding="utf-8")))
    used.discard("Figure")
    assert used and used <= figures.warm_up()


def test_a_long_curve_is_drawn_with_measured_points_only_at_most_the_limit():
    """thin keeps the first and last point and a subset of the measured ones, evenly spaced; short curves whole."""
    from aelab.figures import MAX_CURVE_POINTS, thin

    x = [i / 23 for i in range(13_800)]  # a 600-epoch Digits run's training points
    y = [1 / (1 + i) for i in range(13_800)]
    kept = thin(x, y)
    assert len(kept["x"]) <= MAX_CURVE_POINTS + 1 and kept["x"][0] == x[0] and kept["x"][-1] == x[-1]
    pairs = dict(zip(x, y))
    assert all(pairs[a] == b for a, b in zip(kept["x"], kept["y"]))  # measured values, none averaged
    assert thin([1, 2, 3], [4, 5, 6]) == {"x": [1, 2, 3], "y": [4, 5, 6]}
    steps = {round(b - a, 9) for a, b in zip(kept["x"][:-2], kept["x"][1:-1])}
    assert len(steps) == 1  # evenly spaced


def test_loss_curves_of_a_long_run_stay_small():
    h = History(step_x=[i / 23 for i in range(13_800)], train=[0.1] * 13_800, epoch_x=list(range(601)),
                test=[0.1] * 601)
    fig = figures.loss_curves(h, earlier=[("before", h)])
    assert max(len(t.x) for t in fig.data) <= figures.MAX_CURVE_POINTS + 1
    assert [t.x[-1] for t in fig.data] == [600, 13_799 / 23, 600]
