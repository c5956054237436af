"""How much disk an install of aelab takes: the installed files of every package a requirements file pulls in (its
dependency closure, read from the running environment's package metadata), grouped as PyTorch, the CUDA libraries
and triton (used only with a GPU), and the rest.

Run it with the Python of the environment to measure:
  python benchmarks/install_size.py [requirements.txt]
"""
from __future__ import annotations

import argparse
import re
from collections import defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (case, '-', '_' and '.' alike)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> list[str]:
    """The package names a requirements file asks for, following `-r other.txt` (options and comments skipped)."""
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            names += requirement_names(path.parent / line.split(maxsplit=1)[1])
        elif line and not line.startswith("-") and (m := _NAME.match(line)):
            names.append(canonical(m.group(1)))
    return names


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the names need, directly or through their dependencies (markers evaluated for
    this machine, extras of the named packages left out)."""
    installed = {canonical(d.metadata["Name"]): d for d in metadata.distributions()}
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        dist = seen[name] = installed[name]
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            if "extra" in marker or not _marker_holds(marker):
                continue
            if m := _NAME.match(spec):
                todo.append(canonical(m.group(1)))
    return seen


def _marker_holds(marker: str) -> bool:
    from packaging.markers import Marker

    return not marker.strip() or Marker(marker.strip()).evaluate()


def size(dist: metadata.Distribution) -> int:
    """Bytes of the files the package installed (its RECORD)."""
    total = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total


def group(name: str) -> str:
    if name.startswith("nvidia-") or name in ("triton", "cuda-bindings", "cuda-pathfinder"):
        return "CUDA libraries and triton"
    return "torch and torchvision" if name in ("torch", "torchvision") else "everything else"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("requirements", nargs="?", default=str(ROOT / "requirements.txt"))
    args = ap.parse_args()
    names = requirement_names(Path(args.requirements))
    dists = closure(names)
    missing = [n for n in names if n not in dists]
    sizes = {name: size(d) for name, d in dists.items()}
    groups: dict[str, int] = defaultdict(int)
    for name, n in sizes.items():
        groups[group(name)] += n
    total = sum(sizes.values())
    print(f"{args.requirements}: {len(dists)} packages installed, {total / 1e9:.2f} GB")
    for name, n in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {n / 1e9:.2f} GB ({n / total:.0%})")
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {name} {dists[name].version}: {n / 1e6:,.0f} MB")
    if missing:
        print("  not installed here (not counted):", ", ".join(missing))


if __name__ == "__main__":
    main()
