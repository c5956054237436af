"""Tests for aelab/config.py: the server's environment settings and the README's table of them.

Run: python -m pytest -q tests/test_config.py
"""
import pytest

from aelab import config
from conftest import ROOT


def test_readme_lists_every_setting_as_config_writes_it():
    """The README's settings table is exactly config.table(): one definition of each setting."""
    assert config.table() in (ROOT / "README.md").read_text()


def test_new_settings_parse_and_bad_values_name_the_variable(monkeypatch):
    """AELAB_SCHEDULER / AELAB_TIME_SLICE / AELAB_MAX_COMPUTE: defaults, parsed values, and clear errors."""
    for name in ("AELAB_SCHEDULER", "AELAB_TIME_SLICE", "AELAB_MAX_COMPUTE"):
        monkeypatch.delenv(name, raising=False)
    assert (config.get("scheduler"), config.get("time_slice"), config.get("max_compute")) == ("fair", 1.0, 1e13)
    monkeypatch.setenv("AELAB_SCHEDULER", "FIFO")
    monkeypatch.setenv("AELAB_MAX_COMPUTE", "2.5e12")
    assert (config.get("scheduler"), config.get("max_compute")) == ("fifo", 2.5e12)
    for name, bad in (("AELAB_TIME_SLICE", "0"), ("AELAB_MAX_COMPUTE", "lots"), ("AELAB_SCHEDULER", "random")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(config.ConfigError, match=name):
            config.get(name.removeprefix("AELAB_").lower())
