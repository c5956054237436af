"""The light install (requirements-cpu.txt): its torch/torchvision pins stay the CPU builds of requirements.txt's pair,
it takes PyTorch's CPU wheel index (the one the Dockerfile uses), and pip really combines its pins with
requirements.txt's so that the CPU build is chosen (checked offline with stand-in wheels).

Run: python -m pytest -q tests/test_install.py
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pins(path: Path) -> dict[str, str]:
    """name -> pinned version of every `name==version` line of a requirements file (not following -r)."""
    return dict(re.findall(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)\s*$", path.read_text(), re.M))


def test_cpu_pins_follow_the_main_pair():
    """requirements-cpu.txt pins torch and torchvision to requirements.txt's versions with the +cpu label (so the
    pair stays matched when the main pins move), includes requirements.txt for everything else, and reads
    PyTorch's CPU index, the Dockerfile's default index too."""
    main, cpu = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-cpu.txt")
    assert set(cpu) == {"torch", "torchvision"}
    for name in cpu:
        assert cpu[name] == f"{main[name]}+cpu"
        assert Version(cpu[name]) in SpecifierSet(f"=={main[name]}")  # the main pin accepts the CPU build
    text = (ROOT / "requirements-cpu.txt").read_text()
    assert re.search(r"^-r requirements\.txt$", text, re.M)
    assert re.search(rf"^--extra-index-url {re.escape(CPU_INDEX)}$", text, re.M)
    assert f"ARG TORCH_INDEX={CPU_INDEX}" in (ROOT / "Dockerfile").read_text()


def fake_wheel(folder: Path, version: str) -> None:
    """A stand-in torch wheel of this version (metadata only), for pip to choose from."""
    dist = f"torch-{version}.dist-info"
    with zipfile.ZipFile(folder / f"torch-{version}-py3-none-any.whl", "w") as whl:
        whl.writestr("torch/__init__.py", "")
        whl.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
        whl.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: aelab-test\nRoot-Is-Purelib: true\n"
                                      "Tag: py3-none-any\n")
        whl.writestr(f"{dist}/RECORD", "")


def test_pip_picks_the_cpu_build(tmp_path):
    """With three builds of requirements.txt's torch version on offer (plain, +cpu, +cu130), pip resolving a file
    made like requirements-cpu.txt (the +cpu pin, then `-r` the main file with the plain pin) combines the two pins
    without a conflict and installs the +cpu build, where the main file alone takes the CUDA one."""
    version = pins(ROOT / "requirements.txt")["torch"]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for label in ("", "+cpu", "+cu130"):
        fake_wheel(wheels, f"{version}{label}")
    (tmp_path / "requirements.txt").write_text(f"torch=={version}\n")
    (tmp_path / "requirements-cpu.txt").write_text(f"torch=={version}+cpu\n-r requirements.txt\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}  # no machine's own links or indexes
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def chosen(requirements: str) -> str:
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
                              "--no-index", "--find-links", str(wheels), "-r", requirements], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return re.search(r"Would install (\S+)", out.stdout).group(1)

    assert chosen("requirements-cpu.txt") == f"torch-{version}+cpu"
    assert chosen("requirements.txt") == f"torch-{version}+cu130"


def test_install_size_counts_the_closure():
    """benchmarks/install_size.py (smoke run in this environment): requirements.txt's closure holds its named
    packages and their dependencies (streamlit brings pandas), each with a positive size, and torch is grouped."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import install_size

    names = install_size.requirement_names(ROOT / "requirements-dev.txt")  # follows -r requirements.txt
    assert {"torch", "streamlit", "pytest"} <= set(names)
    dists = install_size.closure(["streamlit"])
    assert "pandas" in dists and install_size.size(dists["streamlit"]) > 1_000_000
    assert install_size.group("torch") == "torch and torchvision"
    assert install_size.group("nvidia-cublas") == "CUDA libraries and triton"
