"""The ten findings of issue 12 ("Teaching truth"), measured again with the app's defaults on Digits, seed 0.

For each finding: the numbers the app measures and what the app now says about them (or does), computed live by
the same functions the pages call. The "before" column of the closing note is the same measurement on the code
before the fix (its text is quoted in the issue). Takes about a minute on one core (two bottleneck experiments,
the PCA lab at k = 8 and k = 32, the lessons' demos).

Run: python benchmarks/truth_findings.py
"""
from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from aelab import (analysis, data, diagram, figures, lesson_demos, lessons, linear, layers, runs,  # noqa: E402
                   settings, spec as spec_mod, sweep, sweep_text, vae)


def show(n: int, title: str, numbers: str, says: str) -> None:
    print(f"\n{n}. {title}\n   measured: {numbers}")
    print(textwrap.indent(textwrap.fill(says, 116), "   now: ").replace("\n   now: ", "\n        "))


def main() -> None:
    torch.set_num_threads(1)
    digits = data.load_digits()
    steps = {s.key: s for s in lessons.steps()}

    print("Issue 12, the ten findings: measured with the defaults on Digits, seed 0")
    show(1, "Lessons: the explanation came before the evidence", "the page, step by step (AppTest)",
         _reveal_order(steps))

    w = lesson_demos.demo_wide_copies_noise(digits)
    v = w.values
    show(2, "Too-wide code (pitfall lesson)",
         f"noise passed: wide {v['wide_pass']:.0%}, narrow {v['narrow_pass']:.0%}; error vs clean digit: wide "
         f"{v['wide_error']:.4f}, narrow {v['narrow_error']:.4f}", f"option '{w.shows}'. {w.summary}")

    lo = lesson_demos.demo_losses(digits)
    v = lo.values
    show(3, "Losses lesson", "MSE " + " / ".join(f"{v[k]:.4f}" for k in ("mse", "bce", "l1")) + "; mean abs error " +
         " / ".join(f"{v[k + '_l1']:.4f}" for k in ("mse", "bce", "l1")) + " (MSE-, BCE-, L1-trained)",
         f"option '{lo.shows}'. {lo.summary}")

    old = runs.train_run(digits, spec_mod.ArchSpec(64, (64,), 2, kind="vae"),
                         spec_mod.TrainConfig(epochs=20, batch_size=64, beta=1.0))
    h1 = vae.health(old.model, digits.x_train, digits.x_test)
    va = lesson_demos.demo_vae(digits)
    v = va.values
    show(4, "VAE lesson", f"beta 1 (the old lesson): held-out {h1.error:.4f} vs average image {h1.baseline:.4f}, "
         f"{h1.active} active unit(s); beta {v['beta']:g}: {v['vae_error']:.4f} vs {v['vae_baseline']:.4f}, "
         f"{v['vae_active']:.0f} active; beta {v['beta_high']:g}: {v['high_error']:.4f}, {v['high_active']:.0f} active",
         f"option '{va.shows}'. {va.summary}")

    cfg = sweep.SweepConfig()
    first = sweep.run_sweep(digits, cfg)
    small = sweep.run_sweep(digits, replace(cfg, n_train=30, epochs=1000))
    a, b = first.rows[0], first.rows[-1]
    show(5, "Memorization (Bigger bottleneck, page defaults; then 30 images, 1000 epochs)",
         f"ratio {a.gap:.1f}x -> {b.gap:.1f}x, absolute gap {a.test_error - a.train_error:.4f} -> "
         f"{b.test_error - b.train_error:.4f} (b={a.bottleneck} -> {b.bottleneck})",
         " ".join(line for line in sweep_text.explain(first.rows, cfg.n_train) if "gap" in line) + " Then: " +
         (sweep_text.compare_runs(first.rows, cfg.n_train, small.rows, 30) or ""))

    for k in (8, 32):
        res = linear.run_lab(digits, linear.PcaLabConfig(k=k))
        c = linear.compare(res)
        show(6, f"PCA page (k = {k})", f"PCA {res.pca_test:.5f}, linear AE {res.linear.test_loss:.5f} ({c.gap:+.1%}), "
             f"nonlinear AE {res.nonlinear.test_loss:.5f} ({c.nonlinear_gap:+.1%}), decoder columns |cos| "
             f"{c.column_cosine:.2f}", f"intro: {linear.INTRO} | verdict: " + " ".join(linear.explain(res, c)))

    quick = runs.train_run(digits, layers.QUICK_SPEC, layers.QUICK_CFG)
    x, y = layers.held_out(digits)
    views, bn = layers.model_views(quick.model, x, y)
    code = next(v.stats.knn for v in views if v.stats.point == bn)
    after = [v.stats.knn for v in views if v.stats.point > bn]
    show(7, "Encoder | Decoder (its quick model)", f"kNN at the code {code:.0%}, decoder layers "
         f"{min(after):.0%}-{max(after):.0%}", layers.describe_views(views, bn))

    show(8, "BCE on grey pixels", f"BCE of a perfect copy of the Digits test images: "
         f"{analysis.bce_floor(digits.x_test):.3f}; the BCE-trained lesson model ends at {lo.values['bce_own']:.3f}",
         "loss axes: " + ", ".join(f"'{figures.loss_axis(k)}'" for k in ("mse", "bce", "l1")) +
         "; the losses lesson plots one MSE yardstick and the BCE floor beside each loss in its own units.")

    form = settings.BUILD_TRAIN
    default = spec_mod.ArchSpec(digits.input_dim, tuple(form["cfg_enc"].default_for(data.DIGITS)),
                                form["cfg_bottleneck"].default_for(data.DIGITS))
    show(9, "Default Digits model (Build & Train; fixed on the trainpage branch)", default.describe(),
         diagram.shape_sentence(default))

    home = (ROOT / "pages" / "home.py").read_text(encoding="utf-8")
    show(10, "Home's 'every claim' sentence", "pages/home.py",
         "says 'Every claim in this lab is shown with a measurement'" if "Every claim in this lab" in home else
         "'Every result a page states is computed from a measurement made on that page ... The fixed texts are "
         "definitions'; the shape sentence is computed from the shown network's widths")


def _reveal_order(steps) -> str:
    """Per lesson in AppTest: after Commit, is a 'Why' on the page before the run; after the run, is one shown?"""
    from streamlit.testing.v1 import AppTest

    from aelab import questions

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import wait_for_jobs

    early, after = 0, 0
    for step in steps.values():
        at = AppTest.from_file(str(ROOT / "pages" / "lessons.py"), default_timeout=120)
        at.session_state["cfg_lessons_step"] = step.link
        at.session_state["_predictions"] = {questions.lesson_id(step.key): step.expected}
        at.run()
        early += any("**Why.**" in str(m.value) for m in at.markdown)
        at.button(key=f"lesson_run_{step.key}").click().run()
        wait_for_jobs(120)
        at.run()
        after += any("**Why.**" in str(m.value) for m in at.markdown)
    return (f"{early} of {len(steps)} steps show a 'Why' after Commit and before the run; {after} show the one for "
            "the option the run measured, after it")


if __name__ == "__main__":
    main()
