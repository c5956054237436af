"""Generated sensor signals (shape, range, glitch positions), anomaly scores, and the CSV validator.

Run: python -m pytest tests/test_signals.py
"""
import numpy as np
import pytest
import torch

from aelab import runs, signals
from aelab.analysis import reconstruct
from aelab.spec import TrainConfig

SMALL = signals.SignalConfig(n_train=200, n_test=120, channels=2, length=32, seed=3)


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _good_rows(n: int = 30) -> list[str]:
    return ["a,b,c"] + [f"{i},{(i * 7) % 11 + 0.5},{i * i % 13}" for i in range(n)]


@pytest.fixture(scope="module")
def small():
    return signals.make_signals(SMALL)


# -- generated signals ---------------------------------------------------------------------------------
def test_bundle_has_documented_shape_range_and_labels(small):
    """(N, C*L) float32 in [0, 1], no image shape, normal-only training labels, glitch share as configured."""
    b = small.bundle
    assert b.x_train.shape == (200, 64) and b.x_test.shape == (120, 64) and b.input_dim == SMALL.input_dim
    assert b.x_train.dtype == torch.float32 and b.image_shape is None
    assert b.class_names == ("normal", "glitch")
    for x in (b.x_train, b.x_test, small.clean_test):
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert int(b.y_train.sum()) == 0
    assert int(b.y_test.sum()) == round(120 * SMALL.glitch_fraction) == len(small.glitches)


def test_glitches_are_exactly_where_the_labels_say(small):
    """Only labelled windows differ from their clean version, only in the glitch's channel and time span."""
    b = small.bundle
    diff = signals.as_channels((b.x_test - small.clean_test).abs(), SMALL.channels)  # (M, C, L)
    labelled = {g.index: g for g in small.glitches}
    assert set(labelled) == set(np.flatnonzero(b.y_test.numpy()).tolist())
    for i in range(len(diff)):
        g = labelled.get(i)
        if g is None:
            assert diff[i].max() == 0.0
            continue
        inside = np.zeros_like(diff[i], dtype=bool)
        inside[g.channel, g.start:g.stop] = True
        assert diff[i][~inside].max() == 0.0, f"window {i} changed outside its {g.kind}"
        assert diff[i][inside].max() > 0.02, f"window {i}: the {g.kind} is too small to see"


def test_all_glitch_kinds_appear_and_seed_is_reproducible(small):
    """Every kind is injected in near-equal shares; the same seed gives the same data and glitches."""
    kinds = [g.kind for g in small.glitches]
    counts = [kinds.count(k) for k in signals.GLITCH_KINDS]
    assert min(counts) >= 1 and max(counts) - min(counts) <= 1
    again = signals.make_signals(SMALL)
    assert torch.equal(again.bundle.x_test, small.bundle.x_test) and again.glitches == small.glitches
    other = signals.make_signals(signals.SignalConfig(n_train=200, n_test=120, channels=2, length=32, seed=4))
    assert not torch.equal(other.bundle.x_train, small.bundle.x_train)


def test_channels_roundtrip_through_flatten():
    """as_channels undoes flatten: (N, C, L) -> (N, C*L) -> (N, C, L)."""
    w = np.random.default_rng(0).random((4, 3, 5))
    assert np.allclose(signals.as_channels(signals.flatten(w), 3), w)


def test_scores_and_auc_of_a_trivially_separable_case():
    """Glitched rows with a big error score above all normal rows: AUC 1 for both scores, all caught."""
    x = torch.zeros(20, 10)
    recon = x.clone()
    recon[:10] += 0.01  # normal rows: small error everywhere
    recon[10:, 3] += 0.9  # glitched rows: one big error
    y = np.array([0] * 10 + [1] * 10)
    kinds = np.array(["normal"] * 10 + ["spike"] * 10, dtype=object)
    for how in signals.SCORES:
        s = signals.scores(x, recon, how)
        d = signals.detect(s, y, kinds, train_scores=s[:10], percentile=99)
        assert d.auc == pytest.approx(1.0) and d.auc_by_kind == {"spike": pytest.approx(1.0)}
        assert d.caught == 10 and d.false_alarms == 0
    assert signals.scores(x, recon, "max")[10] == pytest.approx(0.81)
    assert signals.scores(x, recon, "mean")[10] == pytest.approx(0.081)


def test_autoencoder_detects_glitches_on_generated_signals(small):
    """A small AE trained on normal windows only ranks glitched windows above normal ones (AUC > 0.75)."""
    b = small.bundle
    run = runs.train_run(b, signals.signal_spec(b.input_dim, (64,), 8), TrainConfig(lr=3e-3, batch_size=32, epochs=15))
    test_scores = signals.scores(b.x_test, reconstruct(run.model, b.x_test), "max")
    d = signals.detect(test_scores, b.y_test.numpy(), small.kind_of(),
                       signals.scores(b.x_train, reconstruct(run.model, b.x_train), "max"))
    assert d.auc > 0.75
    assert f"{d.auc:.3f}" in signals.explain_detection(d, "max")[0]


def test_figures_have_one_line_per_channel_and_window(small):
    """Signal plots: C originals + C reconstructions per window; histogram: 2 groups; ROC: diagonal + curve."""
    idx, titles, spans = signals.examples(small)
    assert len(idx) == 4 and spans[0] is None and all(s is not None for s in spans[1:])
    x = small.bundle.x_test[idx].numpy()
    fig = signals.signals_figure(x, x, SMALL.channels, titles, spans)
    assert len(fig.data) == len(idx) * SMALL.channels * 2
    assert len(fig.data[0].y) == SMALL.length
    assert len(signals.signals_figure(x, None, SMALL.channels, titles).data) == len(idx) * SMALL.channels
    s = np.linspace(0.001, 1, len(small.bundle.y_test))
    assert len(signals.histogram_figure(s, small.bundle.y_test.numpy(), 0.5).data) == 2
    assert len(signals.roc_figure(np.array([0, 1]), np.array([0, 1]), 0.5).data) == 2


# -- CSV validator -------------------------------------------------------------------------------------
def test_good_csv_becomes_a_scaled_bundle():
    """A clean numeric CSV: all columns kept, values scaled to [0, 1] by min/max, the scaler inverts, 80/20 split."""
    t = signals.read_csv(_csv(_good_rows(30)), "good.csv")
    assert t.columns == ("a", "b", "c") and t.notes == ()
    b = t.bundle
    assert b.image_shape is None and b.input_dim == 3
    assert len(b.x_train) == 24 and len(b.x_test) == 6
    both = torch.cat([b.x_train, b.x_test])
    assert float(both.min()) == 0.0 and float(both.max()) == 1.0
    assert np.allclose(t.scaler.inverse(t.scaler.transform(t.values)), t.values)
    assert t.scaler.low[0] == 0 and t.scaler.high[0] == 29


def test_semicolon_decimal_comma_tab_and_headerless_files_are_read():
    """Delimiters ; and tab, decimal commas, and a file without a header line all parse to numbers."""
    semi = ["x;y"] + [f"{i},5;{i * 2}" for i in range(25)]
    t = signals.read_csv(_csv(semi))
    assert t.columns == ("x", "y") and t.values[1, 0] == pytest.approx(1.5)
    tab = signals.read_csv(_csv(["p\tq"] + [f"{i}\t{i % 3}" for i in range(25)]))
    assert tab.values.shape == (25, 2) and tab.columns == ("p", "q")
    bare = signals.read_csv(_csv([f"{i},{i % 4}" for i in range(25)]))
    assert bare.columns == ("column 1", "column 2") and len(bare.values) == 25
    quoted = signals.read_csv(_csv(["u,v"] + [f'{i},"{i},5"' if i < 2 else f"{i},{i % 5}" for i in range(25)]))
    assert len(quoted.values) == 23, "in a comma-separated file '1,5' is not read as a decimal comma"


def test_non_numeric_column_is_dropped_with_a_message():
    """A text column is dropped and named in a note with an example value; the numeric ones are kept."""
    rows = ["a,city,b"] + [f"{i},Paris,{i % 5}" for i in range(30)]
    t = signals.read_csv(_csv(rows))
    assert t.columns == ("a", "b")
    assert "non-numeric" in t.notes[0] and "'city'" in t.notes[0] and "Paris" in t.notes[0]


def test_missing_values_drop_rows_or_refuse_with_the_column_named():
    """A few gaps drop their rows (counted in a note); a mostly empty column is refused, naming it."""
    rows = _good_rows(30)
    rows[3] = "2,,5"
    rows[7] = "6,NA,1"
    t = signals.read_csv(_csv(rows))
    assert len(t.values) == 28
    assert any("Dropped 2 of 30 rows" in n and "'b'" in n for n in t.notes)
    sparse = ["a,b,c"] + [f"{i},{'' if i > 5 else i},{i % 3}" for i in range(30)]
    with pytest.raises(signals.CsvError, match="'b' is missing 24 values"):
        signals.read_csv(_csv(sparse))


def test_constant_column_is_dropped_and_one_column_is_refused():
    """A constant column is dropped with its value named; a file left with one usable column is refused."""
    rows = ["a,const,b"] + [f"{i},7,{i % 4}" for i in range(30)]
    t = signals.read_csv(_csv(rows))
    assert t.columns == ("a", "b") and any("'const' (always 7)" in n for n in t.notes)
    with pytest.raises(signals.CsvError, match="at least 2 usable numeric columns"):
        signals.read_csv(_csv(["only"] + [str(i) for i in range(30)]))
    with pytest.raises(signals.CsvError, match="only 'a'"):
        signals.read_csv(_csv(["a,const"] + [f"{i},1" for i in range(30)]))


@pytest.mark.parametrize("raw,needle", [
    (b"", "empty"),
    (b"  \n\n ", "empty"),
    (b"a,b\n1,2\n3,4\n", "only 2 data rows"),
    (b"a,b\n" + b"1,2\n" * 20 + b"3\n", "Row 22 has 1 values"),
    (b"name,town\n" + b"x,y\n" * 30, "No column holds numbers"),
    ("a,b\n".encode("utf-16"), "binary file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"a,b\n" + b"1,2\n" * (signals.MAX_ROWS + 1), "limit is 20,000"),
    (b"a,b\n" + b"1" * (signals.MAX_BYTES + 1), "limit is 5 MB"),
    (b"x" + b",x" * signals.MAX_COLUMNS + b"\n", "limit is 500"),
], ids=["empty", "blank", "two-rows", "ragged", "all-text", "utf16", "binary", "too-many-rows", "too-big",
        "too-wide"])
def test_bad_files_are_refused_with_a_clear_message(raw, needle):
    """Empty, too short, ragged, all-text, binary/UTF-16, too long, too big and too wide files raise CsvError."""
    with pytest.raises(signals.CsvError, match=needle):
        signals.read_csv(raw)


def test_unicode_junk_is_survived():
    """Emoji and control characters in names, Latin-1 bytes and a BOM do not crash; junk cells count as missing."""
    rows = ["\ufefftempér😀,\x07bell,ok"] + [f"{i},{i % 7},{i * 3}" for i in range(30)]
    rows[5] = "4,☃,12"
    t = signals.read_csv(_csv(rows))
    assert t.columns == ("tempér😀", "bell", "ok") and len(t.values) == 29
    assert any("not finite numbers" in n and "☃" in n for n in t.notes)
    latin = ("hé,b\n" + "".join(f"{i},{i % 3}\n" for i in range(25))).encode("latin-1")
    t = signals.read_csv(latin)
    assert t.columns == ("hé", "b") and any("Latin-1" in n for n in t.notes)
    inf = signals.read_csv(_csv(["a,b"] + [f"{i},{'inf' if i == 0 else i % 3}" for i in range(25)]))
    assert np.isfinite(inf.values).all() and len(inf.values) == 24


def test_column_errors_and_worst_rows_use_file_units():
    """Per-column MSE has one value per column; worst rows come back in the file's units, worst first."""
    t = signals.read_csv(_csv(_good_rows(30)))
    x = t.bundle.x_test
    recon = x.clone()
    recon[:, 1] += 0.1
    recon[0] += 0.3
    col = signals.column_errors(x, recon)
    assert col.shape == (3,) and int(np.argmax(col)) == 1
    rows = signals.worst_rows(t, recon, n=2)
    assert len(rows) == 2 and rows[0]["error (MSE, scaled)"] >= rows[1]["error (MSE, scaled)"]
    first = t.scaler.inverse(x[:1].double().numpy())[0]
    assert rows[0]["a"] == pytest.approx(first[0])
    text = " ".join(signals.explain_columns(t.columns, col, t.scaler))
    assert "Hardest to rebuild: 'b'" in text


def test_sample_csv_passes_the_validator():
    """The built-in sample table (wine) is valid: 178 rows, 13 numeric columns, nothing dropped."""
    t = signals.read_csv(signals.sample_csv(), "wine.csv")
    assert t.values.shape == (178, 13) and t.notes == ()
