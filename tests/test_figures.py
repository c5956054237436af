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


def test_the_bce_floor_is_labelled_on_its_line_not_in_the_legend():
    """The floor's dashed line carries its name and value as a label at the line's height (log axes place
    annotations by log10), and takes no legend entry (a third entry wrapped a projector's legend into three rows);
    a floor of 0 has no place on a log axis, so it gets no label there."""
    h = History(step_x=[0.5, 1.0], train=[0.2, 0.1], epoch_x=[0, 1], test=[0.3, 0.15])
    for log_y, at in ((True, np.log10(0.05)), (False, 0.05)):
        fig = figures.loss_curves(h, total_epochs=5, floor=0.05, log_y=log_y)
        line = fig.data[-1]
        assert line.name == "floor: a perfect copy (0.050)" and line.showlegend is False and list(line.y) == [0.05] * 2
        (label,) = fig.layout.annotations
        assert label.text == line.name and label.y == at and label.yref == "y" and label.yanchor == "bottom"
    assert figures.loss_curves(h, total_epochs=5, floor=0.0).layout.annotations == ()


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


def _figures_built_fast():
    """One figure of each builder that uses figures.fast, with the options that change its properties."""
    import torch

    from aelab import inside

    rng = np.random.default_rng(0)
    h = History(step_x=[0.5, 1.0, 1.5], train=[0.2, 0.1, 0.05], epoch_x=[0, 1], test=[0.3, 0.15])
    labels, idx = np.array([0, 1, 0, 2]), np.array([10, 11, 12, 13])
    trails = inside.CodeTrails(np.arange(6), np.array([0, 1, 2, 0, 1, 2]))
    trails3 = inside.CodeTrails(np.arange(6), np.array([0, 1, 2, 0, 1, 2]))
    for v in range(3):
        trails.push(rng.normal(size=(6, 2)), key=v)
        trails3.push(rng.normal(size=(6, 5)), key=v)
    return {
        "loss": figures.loss_curves(h, total_epochs=5, loss="mse", floor=0.01, earlier=[("before", h)], height=150),
        "loss linear": figures.loss_curves(h, log_y=False, title="t"),
        "grid": figures.image_grid([np.zeros((3, 64)), np.ones((3, 64))], (8, 8), row_labels=["in", "out"],
                                   col_labels=["a", "b", "c"], title="grid", height=120),
        "grid bare": figures.image_grid([rng.random((2, 4))], (2, 2)),
        **{f"latent {d}d": figures.latent_scatter(rng.random((4, d)), labels, ["a", "b", "c"], indices=idx, ring=12)
           for d in (1, 2, 3)},
        "trails 2d": inside.trails_figure(trails, ["a", "b", "c"], dims=2),
        "trails 3d": inside.trails_figure(trails3, ["a", "b", "c"], dims=3),
        "trails 1d": inside.trails_figure(trails3, ["a", "b", "c"], dims=1),
        "weights": inside.weights_view({"encoder.0.weight": torch.randn(4, 16), "decoder.0.weight": torch.randn(16, 4)},
                                       16, title="live")[0],
    }


def test_figures_built_without_plotlys_checks_are_exactly_what_its_checks_make():
    """figures.fast skips plotly's validation to build live figures ~10x faster. Property: plotly's checked
    construction of each such figure accepts every property (a misspelt one raises) and changes none of them (a
    shorthand such as title="x", or a named colour scale, would come back expanded: not what the browser reads)."""
    import json

    import plotly.graph_objects as go
    from plotly.utils import PlotlyJSONEncoder

    def spec(fig) -> str:
        return json.dumps(fig.to_dict(), cls=PlotlyJSONEncoder, sort_keys=True)

    for name, fig in _figures_built_fast().items():
        assert spec(go.Figure(fig.to_dict())) == spec(fig), name
    assert '"title": {"text": "x"}' in spec(go.Figure(layout=dict(title="x")))  # what the check would change
    try:
        go.Figure(dict(data=[], layout=dict(titel="x")))
    except ValueError:
        pass
    else:
        raise AssertionError("plotly's checked construction accepted a misspelt property")


def test_log_ticks_within_a_decade_are_labelled_with_their_values():
    """A loss that spans about one decade gets ticks at 1, 2 and 5 of each decade, formatted as values (without a
    format plotly labels 0.2 and 0.5 as "2" and "5"; tests/test_browser_train_layout.py reads the drawn labels);
    over several decades, powers of ten; nothing to go by, nothing set."""
    assert figures.log_ticks([0.22, 0.6]) == {"dtick": "D2", "tickformat": "~g"}
    assert figures.log_ticks([0.01, 10]) == {"dtick": 1}
    assert figures.log_ticks([0.0, float("nan"), None]) == {}
