"""aelab.layers: the one-Sequential view, split invariance, per-layer statistics, code export, asymmetric pair.

Run: python -m pytest -q tests/test_layers.py
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from aelab import analysis, layers, runs
from aelab.model import Autoencoder
from aelab.spec import ACTIVATIONS, ArchSpec, TrainConfig
from aelab.train import History, build_seeded


@pytest.fixture(autouse=True)
def one_blas_thread():
    """numpy references with one BLAS thread (spinning BLAS threads crawl on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def random_spec(rng: np.random.Generator) -> ArchSpec:
    """A random plain autoencoder: random depth, widths, activation, output, mirrored or free decoder."""
    d = int(rng.integers(2, 50))
    enc = tuple(int(w) for w in rng.integers(1, 40, size=rng.integers(0, 5)))
    dec = None if rng.random() < 0.5 else tuple(int(w) for w in rng.integers(1, 40, size=rng.integers(0, 5)))
    return ArchSpec(d, enc, int(rng.integers(1, 9)), dec, str(rng.choice(list(ACTIVATIONS))),
                    str(rng.choice(["sigmoid", "none"])))


@pytest.mark.parametrize("seed", range(8))
def test_split_invariance_every_point_random_architectures(seed):
    """For random architectures and EVERY split point, decoder(encoder(x)) equals the model's output."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        spec = random_spec(rng)
        model = build_seeded(spec, seed).eval()
        seq = layers.sequential(model)
        x = torch.rand(17, spec.input_dim)  # (17, D)
        assert len(seq) == len(model.encoder) + len(model.decoder)
        for at in range(len(seq) + 1):
            assert layers.split_gap(model, seq, at, x) < 1e-5, (spec, at)
        assert max(layers.split_gaps(model, seq, x)) < 1e-5


def test_split_gap_detects_a_different_function():
    """The measured gap is not trivially 0: a cut of a DIFFERENT network gives a large difference."""
    model = build_seeded(ArchSpec(8, (6,), 2), 0).eval()
    other = layers.sequential(build_seeded(ArchSpec(8, (6,), 2), 1))
    assert layers.split_gap(model, other, 2, torch.rand(5, 8)) > 1e-3


def test_nonfinite_activations_raise_a_clear_error():
    """NaN activations give a ValueError that says what to do, not a linear-algebra traceback."""
    with pytest.raises(ValueError, match="lower learning rate"):
        layers.layer_stats(np.full((10, 3), np.nan), np.arange(10) % 2, label="3 ReLU")


def test_one_wide_code_gives_a_strip():
    """A 1-number code: a (N, 1) view, 1 dim for 95%, and a grid panel that still draws."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    view = layers.layer_stats(y[:, None] + rng.normal(scale=0.1, size=(60, 1)), y, point=1, label="0 Linear")
    assert view.scores.shape == (60, 1) and view.stats.dims95 == 1 and view.stats.knn == 1.0
    assert len(layers.pca_grid([view], y, ("a", "b", "c"), at=1, bottleneck=1).data) == 3  # one trace per class


def test_split_shares_the_modules():
    """Encoder and decoder hold the very modules of the Sequential, renumbered from 0."""
    model = build_seeded(ArchSpec(8, (6,), 2), 0)
    seq = layers.sequential(model)
    enc, dec = layers.split(seq, 2)
    assert enc[0] is model.encoder[0] and dec[0] is seq[2]
    assert list(dec.state_dict())[0] == "0.weight"
    with torch.no_grad():
        dec[0].weight.add_(1.0)  # editing the decoder's module edits the model
    assert torch.equal(dec[0].weight, model.encoder[2].weight)


def test_vae_has_no_single_sequential():
    """A VAE (sampling between encoder and decoder) is refused with an explanation."""
    with pytest.raises(ValueError, match="samples"):
        layers.sequential(Autoencoder(ArchSpec(8, (6,), 2, kind="vae")))


def test_point_widths_labels_and_bottleneck():
    """Widths per split point follow the Linear layers; the bottleneck is the narrowest inner point."""
    model = Autoencoder(ArchSpec(64, (128, 64, 12), 3))
    seq = layers.sequential(model)
    widths = layers.point_widths(seq, 64)
    assert widths == [64, 128, 128, 64, 64, 12, 12, 3, 12, 12, 64, 64, 128, 128, 64, 64]
    assert layers.bottleneck_point(widths, prefer=len(model.encoder)) == 7
    assert layers.point_labels(seq)[:3] == ["input", "0 Linear", "1 ReLU"]
    assert layers.whole_layer_points(seq) == [0, 2, 4, 6, 7, 9, 11, 13, 15]
    narrow_dec = Autoencoder(ArchSpec(10, (8,), 4, decoder=(2, 8)))  # a decoder layer narrower than the code
    w2 = layers.point_widths(layers.sequential(narrow_dec), 10)
    assert w2[layers.bottleneck_point(w2, prefer=len(narrow_dec.encoder))] == 2


def test_activations_one_pass_end_in_the_output():
    """activations() returns n+1 tensors: the input first, the model's output last."""
    model = build_seeded(ArchSpec(12, (9, 5), 2, activation="gelu"), 1).eval()
    seq = layers.sequential(model)
    x = torch.rand(10, 12)
    acts = layers.activations(seq, x)
    assert len(acts) == len(seq) + 1 and acts[0] is x
    assert [a.shape[1] for a in acts] == layers.point_widths(seq, 12)
    assert torch.equal(acts[-1], model(x))


def test_split_table_marks_split_and_bottleneck():
    """The module table assigns sides by the split and notes the code and the bottleneck."""
    seq = layers.sequential(Autoencoder(ArchSpec(64, (32,), 3)))  # L R L | L R L S
    rows = layers.split_table(seq, 64, at=2, bottleneck=3)
    assert [r["part"] for r in rows] == ["input", "encoder", "encoder", "decoder", "decoder", "decoder",
                                         "decoder", "decoder"]
    assert "split" in rows[2]["note"] and "bottleneck" in rows[3]["note"]
    assert rows[3]["output width"] == 3


# -- statistics against hand-computed references -------------------------------------------------------
def test_dims_for_share_counts_leading_directions():
    """Variances 18, 2, 0.5: one direction holds 87.8%, two hold 97.6%, so 2 dims reach 95%; a dead layer has 0."""
    assert layers.dims_for_share(np.array([18.0, 2.0, 0.5, 0.0])) == 2
    assert layers.dims_for_share(np.array([8.0, 1.0, 1.0])) == 3  # 90% after two: needs the third
    assert layers.dims_for_share(np.zeros(4)) == 0  # a dead (constant) layer


def test_probes_perfectly_separable_score_one():
    """Features that encode the class exactly give kNN and linear-probe accuracy 1.0."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=120)
    feats = np.eye(4)[y] * 5 + rng.normal(scale=0.01, size=(120, 4))  # (120, 4) one-hot + tiny noise
    view = layers.layer_stats(feats, y)
    assert view.stats.knn == 1.0 and view.stats.linear == 1.0
    assert view.stats.width == 4 and view.scores.shape == (120, 2)


def test_probes_agree_with_sklearn_and_fail_on_noise():
    """Gram-based kNN equals sklearn's; a linear probe on pure noise scores near chance."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 30)) + np.repeat(rng.normal(size=(3, 30)), 100, axis=0)
    y = np.repeat(np.arange(3), 100)
    xc = x - x.mean(0)
    gram = xc @ xc.T
    tr, te = layers.probe_split(300)
    ref = KNeighborsClassifier(layers.KNN_K).fit(x[tr], y[tr]).score(x[te], y[te])
    assert layers.knn_probe(gram, y, tr, te) == pytest.approx(ref)
    noise = rng.normal(size=(300, 30))
    labels = rng.integers(0, 10, size=300)
    assert layers.layer_stats(noise, labels).stats.linear < 0.3


def test_ridge_probe_ignores_scale():
    """Scaling a layer by 1000 leaves the linear probe's accuracy unchanged (relative penalty)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 8))
    y = (x[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    a = layers.layer_stats(x, y).stats.linear
    b = layers.layer_stats(x * 1000, y).stats.linear
    assert a == b and 0.6 < a < 1.0


def test_wide_layer_stats_under_two_seconds(digits):
    """A 4096-wide layer's statistics on 1,000 samples take < 2 s."""
    torch.manual_seed(0)
    wide = nn.Sequential(nn.Linear(64, 4096), nn.ReLU())
    x = torch.cat([digits.x_test, digits.x_train])[:layers.STATS_POINTS]  # (1000, 64)
    y = torch.cat([digits.y_test, digits.y_train])[:layers.STATS_POINTS].numpy()
    acts = layers.activations(wide, x)[-1].numpy()  # (1000, 4096)
    layers.layer_stats(acts[:50, :100], y[:50])  # warm up imports
    start = time.perf_counter()
    view = layers.layer_stats(acts, y)
    took = time.perf_counter() - start
    assert took < 2.0, f"{took:.2f} s"
    assert view.stats.width == 4096 and 1 <= view.stats.dims95 < 1000
    assert view.stats.knn > 0.8  # digits stay separable after a random wide ReLU layer


def test_layer_views_of_a_model(digits):
    """layer_views measures the requested points; the bottleneck view has the code's width."""
    model = build_seeded(ArchSpec(64, (32,), 3), 0).eval()
    seq = layers.sequential(model)
    x, y = layers.held_out(digits, limit=200)
    views = layers.layer_views(seq, x, y, [0, 3])
    assert [v.stats.point for v in views] == [0, 3]
    assert views[0].stats.width == 64 and views[1].stats.width == 3
    assert views[1].stats.dims95 <= 3 and len(views[1].scores) == 200


def _view(point, width, dims, knn):
    return layers.LayerView(layers.LayerStats(point, f"{point} L", width, dims, 0.5, knn, knn, 0.0),
                            np.zeros((3, 2)))


def test_describe_views_is_computed_from_the_numbers():
    """The summary quotes the measured numbers and switches its conclusion with them."""
    lossy = [_view(0, 64, 27, 0.94), _view(2, 3, 2, 0.80), _view(4, 64, 9, 0.83)]
    text = layers.describe_views(lossy, 2)
    assert "27 of its 64" in text and "needs 2" in text and "94%" in text and "most *compressed*" in text
    assert "from 83% to 83%" in text and "3 points above the code's 80%" in text and "*accessible*" in text
    keeps = [_view(0, 64, 27, 0.90), _view(2, 3, 2, 0.90)]
    assert "about as well from the code" in layers.describe_views(keeps, 2)
    drops = [_view(0, 64, 27, 0.90), _view(2, 3, 2, 0.90), _view(4, 64, 9, 0.70)]
    assert "All below the code's" in layers.describe_views(drops, 2)


def test_the_decoder_sentence_agrees_with_the_knn_numbers_beside_it():
    """Finding 7 of issue 12: when decoder layers read the class better than the code, the text says they add no
    information but make it more accessible, never that they 'cannot recover' it; the measured place is 'decoder'."""
    views = [_view(0, 64, 27, 0.90), _view(2, 3, 2, 0.82), _view(4, 64, 9, 0.87)]
    text = layers.describe_views(views, 2)
    assert "cannot recover" not in text and "no information about the class that the code lacks" in text
    assert layers.measured_answer(views, 2) == "encoder"
    assert layers.measured_answer([_view(0, 64, 27, 0.80), _view(2, 3, 2, 0.82), _view(4, 64, 9, 0.87)], 2) == "decoder"
    assert layers.measured_answer([_view(0, 64, 27, 0.86), _view(2, 3, 2, 0.82), _view(4, 64, 9, 0.87)], 2) is None


# -- code export ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "tanh"])
def test_code_export_runs_and_reproduces_outputs(activation):
    """Both exported sources exec, load the exported weights and give the model's outputs at any cut."""
    model = build_seeded(ArchSpec(20, (16, 8), 3, decoder=(6,), activation=activation), 4).eval()
    seq = layers.sequential(model)
    x = torch.rand(9, 20)
    expected = model(x)
    widths = layers.point_widths(seq, 20)
    for at in (0, layers.bottleneck_point(widths, len(model.encoder)), 2, len(seq)):
        assert_exports_reproduce(seq, at, x, expected)


def assert_exports_reproduce(seq: nn.Sequential, at: int, x: torch.Tensor, expected: torch.Tensor) -> None:
    """split_code and single_code, cut at `at`, exec with their exported weights and give `expected` for x."""
    d = x.shape[1]
    ns: dict = {}
    exec(compile(layers.split_code(seq, at, d), "split.py", "exec"), ns)
    split_model = ns["SplitAutoencoder"]()
    split_model.load_state_dict(layers.split_state(seq, at))
    assert len(split_model.encoder) == at
    with torch.no_grad():
        assert torch.allclose(split_model(x), expected, atol=1e-6)
    ns = {}
    exec(compile(layers.single_code(seq, at, d), "single.py", "exec"), ns)
    ns["network"].load_state_dict(layers.single_state(seq))
    with torch.no_grad():
        assert torch.allclose(ns["network"](x), expected, atol=1e-6)
        assert torch.allclose(ns["decoder"](ns["encoder"](x)), expected, atol=1e-6)


# -- asymmetric models ---------------------------------------------------------------------------------
def test_asymmetric_specs_mirror_the_depth():
    """Same code size; the deep stack sits on the encoder side in one and on the decoder side in the other."""
    specs = layers.asymmetric_specs(64, 3, (128, 64, 12), (32,))
    a, b = specs[layers.DEEP_ENCODER], specs[layers.DEEP_DECODER]
    assert a.bottleneck == b.bottleneck == 3
    assert a.widths == [64, 128, 64, 12, 3, 32, 64] and b.widths == [64, 32, 3, 12, 64, 128, 64]
    assert a.param_count == b.param_count


class _StopAfterFirst:
    """A job context stub: lets the first model train, asks the second to stop at once."""

    def __init__(self):
        self.extra, self.lab = {}, None

    def should_stop(self):
        return self.lab is not None and self.lab.phase_index > 1

    def update(self, progress, history, state):
        pass

    def publish(self, **kw):
        self.extra.update(kw)

    def report(self, progress):
        self.lab = progress


def test_train_pair_publishes_each_run_and_stops(digits):
    """The background pair job publishes every finished Run and reports each phase with the curves so far;
    stopping keeps what finished."""
    specs = layers.asymmetric_specs(64, 2, (16, 8), ())
    cfg = TrainConfig(epochs=2, n_train=200, batch_size=64)
    job = layers.start_pair(digits, specs, cfg, name="test-pair")
    assert job.join(60)
    result = job.result
    assert result.status == "done" and list(result.runs) == list(specs)
    assert set(job.view().extra["finished"]) == set(specs)
    assert all(isinstance(r, runs.Run) and r.spec == specs[k] for k, r in result.runs.items())
    stub = _StopAfterFirst()
    stopped = layers.train_pair(digits, specs, cfg, stub)
    assert stopped.status == "stopped" and len(stopped.runs) == 2 and "stopped" in stopped.message
    assert stopped.runs[layers.DEEP_DECODER].history.train == []
    lab = stub.lab  # the second phase, with the first model's curves and the second's live one
    assert (lab.phase_index, lab.phase_total) == (2, 2) and list(lab.histories) == list(specs)


def _run(spec, test):
    h = History(step_x=[0.5, 1.0], train=[0.1, 0.05], epoch_x=[0, 1], test=test)
    return runs.Run(spec, TrainConfig(), "digits", Autoencoder(spec), h, "done", "", 1.0)


def test_describe_pair_names_the_winner():
    """The comparison sentence names the lower held-out loss and its margin."""
    specs = layers.asymmetric_specs(64, 3, (32,), ())
    pair = {k: _run(s, [0.1, t]) for (k, s), t in zip(specs.items(), (0.04, 0.03))}
    text = layers.describe_pair(pair)
    assert text.startswith(f"The **{layers.DEEP_DECODER}**") and "25% lower" in text


# -- figures -----------------------------------------------------------------------------------------
def test_figures_have_the_expected_traces(digits):
    """PCA grid: small multiples with one trace per class, each layer's points inside its own cell and
    frame; stats chart: 4 traces, log widths; losses."""
    model = build_seeded(ArchSpec(64, (16,), 2), 0).eval()
    seq = layers.sequential(model)
    x, y = layers.held_out(digits, limit=150)
    views = layers.layer_views(seq, x, y, [0, 2, 3, 5])
    classes = np.unique(y)
    grid = layers.pca_grid(views, y, digits.class_names, at=3, bottleneck=3, cols=2)
    assert [t.name for t in grid.data] == [digits.class_names[int(c)] for c in classes]
    keep = analysis.subsample(len(y), 300)
    assert sum(len(t.x) for t in grid.data) == 4 * len(keep)  # every kept point, once per layer
    for i, view in enumerate(views):  # cell (row, col) = divmod(i, 2): x in [col, col+1], y in [-row-1, -row]
        row, col = divmod(i, 2)
        frame = grid.layout.shapes[i]
        assert col < frame.x0 < frame.x1 < col + 1 and -row - 1 < frame.y0 < frame.y1 < -row
        for cls, trace in zip(classes, grid.data):
            mine = np.array(trace.customdata) == view.stats.label
            assert mine.sum() == (y[keep] == cls).sum()  # each of this class's points, once in this cell
            assert np.all((frame.x0 <= np.array(trace.x)[mine]) & (np.array(trace.x)[mine] <= frame.x1))
            assert np.all((frame.y0 <= np.array(trace.y)[mine]) & (np.array(trace.y)[mine] <= frame.y1))
    assert grid.layout.shapes[2].line.width == 3 and grid.layout.shapes[0].line.width == 1  # the cut is marked
    assert "bottleneck" in grid.layout.annotations[2].text and "✂ code" in grid.layout.annotations[2].text
    # within a cell, the points are the layer's PCA scores, rescaled: the order along each axis is kept
    first = grid.data[0]
    mine = np.array(first.customdata) == views[1].stats.label
    scores = views[1].scores[keep][y[keep] == classes[0]][:, 0]
    assert np.array_equal(np.argsort(np.array(first.x)[mine], kind="stable"), np.argsort(scores, kind="stable"))
    chart = layers.stats_chart(views, at=3, bottleneck=3)
    assert len(chart.data) == 4 and chart.layout.yaxis.type == "log"
    assert list(chart.data[0].y) == [64, 16, 2, 16]
    specs = layers.asymmetric_specs(64, 3, (32,), ())
    losses = layers.compare_losses({k: _run(s, [0.1, 0.05]) for k, s in specs.items()})
    assert len(losses.data) == 4 and losses.layout.yaxis.type == "log"


# -- convolutional models: Conv2d / ConvTranspose2d / Flatten / Unflatten in the one-Sequential view ----------------
def conv_specs() -> list[ArchSpec]:
    """Conv autoencoders on 8x8 and 28x28 images at every allowed depth, with and without dense hidden layers, a
    free decoder, a ReLU code and another activation."""
    from aelab import conv
    from aelab.limits import MAX_CONV_LAYERS

    out = []
    for d in (64, 784):
        for depth in range(1, min(conv.max_depth(conv.image_side(d)), MAX_CONV_LAYERS) + 1):
            chans = tuple(3 + 2 * i for i in range(depth))
            out += [ArchSpec(d, (), 4, layout="conv", channels=chans),
                    ArchSpec(d, (12,), 3, decoder=(7, 9), activation="tanh", layout="conv", channels=chans,
                             code_activation="relu")]
    return out


@pytest.mark.parametrize("spec", conv_specs(), ids=lambda s: s.describe())
def test_conv_split_invariance_at_every_point(spec):
    """For conv architectures (every depth, 8x8 and 28x28), decoder(encoder(x)) equals the model's output at EVERY
    split point, including cuts inside the feature maps (a 4-D code)."""
    model = build_seeded(spec, 0).eval()
    seq = layers.sequential(model)
    x = torch.rand(6, spec.input_dim)
    gaps = layers.split_gaps(model, seq, x)
    assert len(gaps) == len(seq) + 1 and max(gaps) < 1e-6


@pytest.mark.parametrize("spec", conv_specs()[:4], ids=lambda s: s.describe())
def test_conv_point_shapes_are_the_forward_pass_shapes(spec):
    """point_shapes (computed from the modules' settings) equal the shapes a real forward pass produces; a point's
    width is C*H*W; the narrowest inner point is the code; the layer table agrees."""
    from aelab.model import layer_table

    model = build_seeded(spec, 0).eval()
    seq, widths, bottleneck = layers.chain(model)
    acts = layers.activations(seq, torch.rand(3, spec.input_dim))
    assert layers.point_shapes(seq, spec.input_dim) == [tuple(a.shape[1:]) for a in acts]
    assert widths == [a[0].numel() for a in acts]
    assert widths[bottleneck] == spec.bottleneck and bottleneck == len(model.encoder)
    assert [r["width"] for r in layer_table(model)] == widths[1:]


def test_conv_whole_layer_points_skip_activations_and_reshapes():
    """Whole layers of a conv model: each conv with its activation, the code, the output; the points a Flatten or
    Unflatten only reshapes are left out (their numbers are those of a neighbour)."""
    model = Autoencoder(ArchSpec(64, (), 8, layout="conv", channels=(16, 32)))
    seq = layers.sequential(model)  # U C R C R F L | L R U T R T S F
    assert layers.whole_layer_points(seq) == [0, 3, 5, 7, 9, 12, 15]
    shapes = layers.point_shapes(seq, 64)
    assert [shapes[s] for s in (3, 5, 7, 9, 12, 15)] == [(16, 4, 4), (32, 2, 2), (8,), (128,), (16, 4, 4), (64,)]
    widths = layers.point_widths(seq, 64)
    assert layers.point_label(widths, 3, 7, shapes) == "after module 2 · 16×4×4 = 256 wide"
    assert layers.point_label(widths, 7, 7, shapes) == "after module 6 · 8 wide ★"
    rows = layers.split_table(seq, 64, at=3, bottleneck=7)
    assert rows[2]["layer"] == "Conv2d(1, 16, 3, stride=2, padding=1)" and rows[2]["output shape"] == "16×4×4"
    assert rows[2]["output width"] == 256 and "split" in rows[3]["note"] and "bottleneck" in rows[7]["note"]


@pytest.mark.parametrize("d,channels", [(64, (4, 6)), (784, (3,))])
def test_conv_code_export_runs_and_reproduces_outputs(d, channels):
    """The exported sources of a conv model, cut at every whole layer (also inside the feature maps), exec, load
    the exported weights and give the model's outputs; the comments carry the feature-map shapes."""
    model = build_seeded(ArchSpec(d, (10,), 3, layout="conv", channels=channels), 2).eval()
    seq = layers.sequential(model)
    x = torch.rand(4, d)
    with torch.no_grad():
        expected = model(x)
    for at in layers.whole_layer_points(seq):
        assert_exports_reproduce(seq, at, x, expected)
    side = {64: 8, 784: 28}[d]
    assert f"(B, 1, {side}, {side})" in layers.split_code(seq, 3, d)


def test_conv_layer_views_measure_every_whole_layer(digits):
    """Per-layer statistics of a conv model: one view per whole layer, widths C*H*W, finite probe accuracies."""
    model = runs.train_run(digits, ArchSpec(64, (), 4, layout="conv", channels=(4, 8)),
                           TrainConfig(epochs=1, batch_size=128)).model
    x, y = layers.held_out(digits, limit=200)
    views, bottleneck = layers.model_views(model, x, y)
    seq = layers.sequential(model)
    assert [v.stats.point for v in views] == layers.whole_layer_points(seq)
    assert [v.stats.width for v in views] == [64, 64, 32, 4, 32, 64, 64]
    assert all(0 <= v.stats.knn <= 1 for v in views) and layers.describe_views(views, bottleneck)
