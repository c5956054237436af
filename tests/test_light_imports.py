"""The home page's first script run must not import torch or scikit-learn (about 1.5 s on this machine).

app.py, the sidebar (classroom toggle, URL sync) and the home page only need aelab.ui, aelab.share,
aelab.figures and aelab.spec; torch is loaded by a background warm-up after the home page is drawn.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_home_page_modules_do_not_import_torch_or_sklearn():
    """Importing what app.py and pages/home.py import leaves torch and sklearn unloaded (checked in a fresh process)."""
    code = ("import sys; import aelab.ui, aelab.share, aelab.figures, aelab.spec, aelab.catalog; "
            "print(sorted(m for m in ('torch', 'sklearn', 'torchvision', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_catalog_and_data_agree():
    """aelab.data re-exports the catalog's data set names (one source of truth)."""
    from aelab import catalog, data

    assert data.DATASETS is catalog.DATASETS and data.DIGITS == catalog.DIGITS == "digits"
