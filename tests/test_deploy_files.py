"""The deployment files Docker would use (no Docker engine here, so they are checked as text, and nginx's part by
nginx itself): the image's torch pair and index, its non-root user and health check; compose's replicas, database
and proxy; the nginx template's sticky hashing and WebSocket headers; CI installing what the replica test needs;
requirements pinned; the new settings documented.

Run: python -m pytest -q tests/test_deploy_files.py
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from deploy_util import nginx_bin, render_nginx

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()
TEMPLATE = (ROOT / "deploy" / "nginx" / "aelab.conf.template").read_text()
REQUIREMENTS = (ROOT / "requirements.txt").read_text()


def test_the_image_installs_the_pinned_torch_pair_from_the_cpu_index_and_runs_as_a_user():
    """CPU wheel index by default, the torch/torchvision pins taken from requirements.txt, a non-root USER before
    CMD, a HEALTHCHECK on /_stcore/health, and streamlit run app.py listening on all interfaces."""
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in DOCKERFILE
    assert "grep -E '^(torch|torchvision)==' requirements.txt" in DOCKERFILE
    assert re.search(r"^torch==\S+$", REQUIREMENTS, re.M) and re.search(r"^torchvision==\S+$", REQUIREMENTS, re.M)
    user = DOCKERFILE.index("\nUSER aelab")
    assert user < DOCKERFILE.index("\nCMD") and "useradd" in DOCKERFILE
    assert re.search(r"HEALTHCHECK .*\n.*_stcore/health", DOCKERFILE)
    assert '"streamlit", "run", "app.py", "--server.address=0.0.0.0"' in DOCKERFILE


def test_compose_runs_replicas_behind_nginx_with_postgresql():
    """N app replicas on PostgreSQL (AELAB_DATABASE_URL), nginx with the repo's template in front, the proxy's
    address trusted for X-Forwarded-For and pinned on the network."""
    assert "replicas: ${AELAB_REPLICAS:-3}" in COMPOSE and "image: postgres:" in COMPOSE
    assert "AELAB_DATABASE_URL: postgresql+psycopg://" in COMPOSE
    proxy_ip = re.search(r"ipv4_address: ([\d.]+)", COMPOSE).group(1)
    assert f"AELAB_TRUSTED_PROXIES: {proxy_ip}" in COMPOSE
    assert "/etc/nginx/templates/aelab.conf.template" in COMPOSE and 'NGINX_ENVSUBST_FILTER: "^AELAB_"' in COMPOSE
    gpu = (ROOT / "compose.gpu.yaml").read_text()
    assert "TORCH_INDEX" in gpu and "capabilities: [gpu]" in gpu


def test_nginx_template_is_sticky_by_cookie_and_upgrades_websockets():
    """Consistent hashing of a route cookie (not ip_hash: a class behind one NAT address would land on one
    replica), Upgrade/Connection headers for /_stcore/stream, and X-Forwarded-For overwritten, never appended."""
    assert "hash $aelab_route consistent;" in TEMPLATE and "ip_hash" not in TEMPLATE.split("#")[0]
    assert not re.search(r"^\s*ip_hash", TEMPLATE, re.M) and not re.search(r"^\s*sticky", TEMPLATE, re.M)
    assert "proxy_set_header Upgrade $http_upgrade;" in TEMPLATE
    assert "proxy_set_header Connection $aelab_connection;" in TEMPLATE and "proxy_http_version 1.1;" in TEMPLATE
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in TEMPLATE
    assert "$proxy_add_x_forwarded_for" not in TEMPLATE
    assert set(re.findall(r"\$\{(\w+)\}", TEMPLATE)) == {"AELAB_UPSTREAMS", "AELAB_LISTEN"}


@pytest.mark.skipif(nginx_bin() is None, reason="nginx is not installed")
def test_nginx_accepts_the_rendered_template():
    """`nginx -t` passes on the template filled in as compose and the replica test fill it."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "aelab.conf"
        site.write_text(render_nginx(["127.0.0.1:18501", "127.0.0.1:18502"], "127.0.0.1:18080"))
        main = Path(tmp) / "nginx.conf"
        main.write_text(f"pid {tmp}/nginx.pid; error_log {tmp}/error.log; events {{}} "
                        f"http {{ access_log off; include {site}; }}")
        out = subprocess.run([nginx_bin(), "-t", "-p", tmp, "-c", str(main), "-e", f"{tmp}/error.log"],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_ci_installs_postgresql_and_nginx_and_keeps_the_readme_command():
    """.ci/run installs Debian's postgresql and nginx next to chromium, and axe-core with npm; its last line is the
    README's test command."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install -y -qq --no-install-recommends postgresql nginx" in ci
    assert "chromium chromium-driver fonts-noto-color-emoji" in ci
    assert "npm ci" in ci  # axe-core for tests/test_browser_a11y.py, from package-lock.json
    command = ci.strip().splitlines()[-1]
    assert command in (ROOT / "README.md").read_text()


def test_board_dependencies_are_pinned():
    """SQLAlchemy 2.x, Alembic and psycopg (binary) are pinned to exact versions in requirements.txt."""
    pins = dict(re.findall(r"^([\w\[\]-]+)==(\S+)$", REQUIREMENTS, re.M))
    assert pins["sqlalchemy"].startswith("2.") and "alembic" in pins and "psycopg[binary]" in pins


def test_the_readme_lists_every_setting_and_the_class_of_300():
    """Every server setting appears in the README's settings table (config.table) and the scaling section exists."""
    from aelab import config

    readme = (ROOT / "README.md").read_text()
    assert config.table() in readme
    assert "## A class of 300" in readme and "| **Class board** |" in readme
