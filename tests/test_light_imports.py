"""The home page's first script run must not import torch or scikit-learn (about 1.5 s on this machine).

app.py, the sidebar (classroom toggle, URL sync) and the home page only need aelab.ui, aelab.share,
aelab.diagram and aelab.spec; torch is loaded by a background warm-up after the home page is drawn.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_home_page_modules_do_not_import_torch_sklearn_or_numpy():
    """Importing what app.py and pages/home.py import leaves torch, sklearn and numpy unloaded (fresh process)."""
    code = ("import sys; import streamlit, aelab.ui, aelab.share, aelab.diagram, aelab.spec, aelab.catalog; "
            "print(sorted(m for m in ('torch', 'sklearn', 'torchvision', 'scipy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_catalog_and_data_agree():
    """aelab.data re-exports the catalog's data set names (one source of truth)."""
    from aelab import catalog, data

    assert data.DATASETS is catalog.DATASETS and data.DIGITS == catalog.DIGITS == "digits"


def test_app_uses_no_emoji_icons():
    """app.py's page icons are Material icons: one emoji icon costs a fresh server 0.1-0.16 s of regex compiling."""
    import re

    text = (ROOT / "app.py").read_text(encoding="utf-8")
    icons = re.findall(r'icon="([^"]*)"', text)
    assert len(icons) >= 12 and all(re.fullmatch(r":material/[a-z_]+:", i) for i in icons), icons


def test_build_and_train_draws_its_controls_without_torch():
    """Everything pages/build_train.py imports at its top (its settings and run controls are drawn from these) leaves
    torch and scikit-learn unloaded: on a fresh server Train shows before torch is imported (issue 16)."""
    import ast

    tree = ast.parse((ROOT / "pages" / "build_train.py").read_text(encoding="utf-8"))
    modules = []
    for node in tree.body:  # top-level imports only: the others run after the controls are drawn
        if isinstance(node, ast.ImportFrom) and node.module == "aelab":
            modules += [f"aelab.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aelab."):
            modules.append(node.module)
    assert "aelab.ui" in modules and "aelab.presets" in modules
    code = (f"import sys; import streamlit, {', '.join(modules)}; "
            "print(sorted(m for m in ('torch', 'sklearn', 'torchvision', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_warm_up_freezes_the_start_up_objects_out_of_the_collectors_reach():
    """After the background warm-up (torch, plotly, scikit-learn) the objects then alive are frozen: a later full
    collection walks only what was made since, not the ~465,000 start-up objects (each full collection held every
    thread, training included, ~350 ms in a class of 30). Fresh process: freezing is once per process."""
    code = ("import gc, threading; from aelab import ui; ui.warm_up_in_background(0.0); "
            "[t.join() for t in threading.enumerate() if t.name == 'aelab-import']; "
            "import sklearn, torch; print(gc.get_freeze_count(), len(gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    frozen, tracked = map(int, out.stdout.split())
    assert frozen > 100_000 and tracked < frozen / 20, (frozen, tracked)
