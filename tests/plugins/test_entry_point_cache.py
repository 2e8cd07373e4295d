"""The cached entry-point scan (plugins/entry_points.py): same answer as importlib.metadata, and
never a stale one after an install, an uninstall or an edit."""

from __future__ import annotations

import os
import sys
import time
from importlib.metadata import entry_points as metadata_entry_points
from pathlib import Path

import pytest
from gossamer.plugins import entry_points as ep_cache

HOUR_AGO = time.time() - 3600


def _dist(site: Path, name: str, body: str) -> Path:
    """A fake installed distribution `name` whose entry_points.txt is `body`."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(body)
    return info


def _age(*paths: Path) -> None:
    """Back-dates files and folders by an hour: outside the racy window, so a scan is cached."""
    for path in paths:
        for p in [*path.rglob("*"), path] if path.is_dir() else [path]:
            os.utime(p, (HOUR_AGO, HOUR_AGO))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sys.path is one fake site-packages folder; the cache lives in tmp_path."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder)])
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GOSSAMER_PLUGIN_CACHE", raising=False)
    return folder


def _names(found: list[ep_cache.PluginEntryPoint]) -> dict[str, str]:
    return {ep.name: ep.value for ep in found}


def _no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def scan(group: str) -> list[ep_cache.PluginEntryPoint]:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(ep_cache, "_scan", scan)


def test_installed_entry_points_match_importlib_metadata():
    found = _names(ep_cache.entry_points("gossamer"))
    assert found == {ep.name: ep.value for ep in metadata_entry_points(group="gossamer")}


def test_a_second_lookup_is_answered_from_the_cache(site, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    assert ep_cache.cache_path().exists()
    _no_scan(monkeypatch)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_installing_a_distribution_is_seen_at_once(site):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")  # cached
    _dist(site, "other", "[gossamer]\nother = other_mod\n")
    assert _names(ep_cache.entry_points("gossamer")) == {
        "vendor": "vendor_mod",
        "other": "other_mod",
    }


def test_uninstalling_a_distribution_is_seen_at_once(site):
    info = _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _dist(site, "other", "[gossamer]\nother = other_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")
    for f in info.iterdir():
        f.unlink()
    info.rmdir()
    assert _names(ep_cache.entry_points("gossamer")) == {"other": "other_mod"}


def test_editing_entry_points_in_place_is_seen_at_once(site):
    info = _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")
    (info / "entry_points.txt").write_text("[gossamer]\nvendor = vendor_mod2\n")
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod2"}


def test_a_scan_of_just_modified_metadata_is_not_cached(site):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")  # modified now: racy
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    assert not ep_cache.cache_path().exists()


def test_other_groups_are_not_returned(site):
    _dist(site, "vendor", "[console_scripts]\nv = vendor_mod:main\n[gossamer]\nvendor = m\n")
    _age(site)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "m"}
    assert _names(ep_cache.entry_points("console_scripts")) == {"v": "vendor_mod:main"}
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "m"}


@pytest.mark.parametrize(
    "garbage",
    ["", "not json", "[]", '{"format": 1}', '{"format": 1, "fingerprint": null, "groups": 3}'],
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(site, garbage, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    path = ep_cache.cache_path()
    path.parent.mkdir(parents=True)
    path.write_text(garbage)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    _no_scan(monkeypatch)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_a_forged_cache_with_another_fingerprint_is_not_used(site):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")
    path = ep_cache.cache_path()
    path.write_text(path.read_text().replace("vendor_mod", "evil_mod").replace("vendor", "x"))
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_the_cache_can_be_turned_off(site, monkeypatch):
    monkeypatch.setenv("GOSSAMER_PLUGIN_CACHE", "0")
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    assert not ep_cache.cache_path().exists()


def test_an_unwritable_cache_folder_still_answers(site, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(blocker))  # mkdir below a file fails
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_an_entry_point_loads_its_module_or_attribute(tmp_path, monkeypatch):
    (tmp_path / "ep_target_mod.py").write_text("class Holder:\n    value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = ep_cache.PluginEntryPoint("x", "ep_target_mod", "gossamer").load()
    assert module.Holder.value == 42
    assert ep_cache.PluginEntryPoint("x", "ep_target_mod:Holder.value", "gossamer").load() == 42


def test_other_files_coming_and_going_keep_the_cache(site, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")
    (site / "scratch.py").write_text("")  # e.g. the current folder of `python -c`
    _no_scan(monkeypatch)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_scripts_in_different_folders_each_keep_their_cached_list(site, tmp_path, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    other = tmp_path / "scripts"
    other.mkdir()
    _age(site, other)
    ep_cache.entry_points("gossamer")
    monkeypatch.setattr(sys, "path", [str(other), str(site)])
    ep_cache.entry_points("gossamer")
    _no_scan(monkeypatch)
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    monkeypatch.setattr(sys, "path", [str(site)])
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}


def test_the_cache_keeps_a_bounded_number_of_fingerprints(site, tmp_path, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    for i in range(ep_cache.MAX_ENTRIES + 3):
        monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / f"missing{i}")])
        ep_cache.entry_points("gossamer")
    assert len(ep_cache._entries(ep_cache.cache_path())) == ep_cache.MAX_ENTRIES


def test_scripts_in_folders_without_metadata_share_one_cached_list(site, tmp_path, monkeypatch):
    # a test run or a benchmark starts scripts from many folders (sys.path[0]): one scan serves
    # them all instead of each folder evicting the others' fingerprints
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    _age(site)
    ep_cache.entry_points("gossamer")
    _no_scan(monkeypatch)
    for i in range(ep_cache.MAX_ENTRIES + 3):
        scripts = tmp_path / f"scripts{i}"
        scripts.mkdir()
        (scripts / "run.py").write_text("")
        monkeypatch.setattr(sys, "path", [str(scripts), str(site)])
        assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    assert len(ep_cache._entries(ep_cache.cache_path())) == 1


def test_a_distribution_installed_into_a_script_folder_is_seen_at_once(site, tmp_path, monkeypatch):
    _dist(site, "vendor", "[gossamer]\nvendor = vendor_mod\n")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    _age(site, scripts)
    monkeypatch.setattr(sys, "path", [str(scripts), str(site)])
    assert _names(ep_cache.entry_points("gossamer")) == {"vendor": "vendor_mod"}
    _dist(scripts, "extra", "[gossamer]\nextra = extra_mod\n")
    found = _names(ep_cache.entry_points("gossamer"))
    assert found == {"vendor": "vendor_mod", "extra": "extra_mod"}
    assert found == {ep.name: ep.value for ep in metadata_entry_points(group="gossamer")}
