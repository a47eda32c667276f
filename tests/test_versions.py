"""Installed versions from one listing of sys.path (bayesglm._versions), against
importlib.metadata's own answer."""

from __future__ import annotations

import sys
from importlib import metadata

from bayesglm._versions import installed_versions, version_of


def test_every_installed_distribution_has_the_version_importlib_metadata_reads() -> None:
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert len(names) > 20
    found = {name: version_of(name) for name in names}
    assert found == {name: metadata.version(name) for name in names}
    assert installed_versions()["numpy"] == metadata.version("numpy")


def test_names_compare_as_pep_503_says(fresh_listing, tmp_path) -> None:
    (tmp_path / "Some_Package-2.0.1.dist-info").mkdir()
    fresh_listing.setattr(sys, "path", [str(tmp_path)])
    for spelling in ("some-package", "Some.Package", "some__package", "SOME-PACKAGE"):
        assert version_of(spelling) == "2.0.1"
    assert version_of("some-packages") is None


def test_the_first_folder_on_the_path_wins(fresh_listing, tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "thing-1.0.dist-info").mkdir(parents=True)
    (second / "thing-9.0.dist-info").mkdir(parents=True)
    fresh_listing.setattr(sys, "path", [str(tmp_path / "missing"), str(first), str(second)])
    assert version_of("thing") == "1.0"


def test_a_distribution_without_a_dist_info_folder_falls_back_to_importlib(
    fresh_listing, tmp_path
) -> None:
    egg = tmp_path / "old_style.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: old-style\nVersion: 0.4\n")
    fresh_listing.setattr(sys, "path", [str(tmp_path)])
    assert version_of("old-style") == metadata.version("old-style") == "0.4"
