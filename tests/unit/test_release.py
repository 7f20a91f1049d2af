"""A release is consistent: the CHANGELOG has a section for the version `execd --version`
reports, and the service image's tag and label, the Kubernetes manifests and the README's
commands all name that version."""
import datetime
import pathlib
import re
import subprocess

import yaml

from execd import __version__
from tests.conftest import ROOT

SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?$", re.MULTILINE)


def sections():
    return [(m["version"], m["date"]) for m in SECTION.finditer((ROOT / "CHANGELOG.md").read_text("utf-8"))]


def test_the_changelog_has_a_dated_section_for_this_version_and_unreleased_on_top():
    found = sections()
    assert found[0] == ("Unreleased", None)
    versions = [v for v, _ in found[1:]]
    assert __version__ in versions, "CHANGELOG.md has no section for %s (execd --version)" % __version__
    assert versions[0] == __version__, "the newest section is %s, not %s" % (versions[0], __version__)
    dates = [datetime.date.fromisoformat(d) for _, d in found[1:]]
    assert dates == sorted(dates, reverse=True), "sections are not newest first"
    keys = [tuple(int(part) for part in v.split(".")) for v in versions]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)


def test_the_version_is_semantic():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_service_image_and_the_manifests_carry_this_version():
    made = subprocess.run(["make", "-n", "image"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "--build-arg VERSION=%s -t execd:%s ." % (__version__, __version__) in made
    assert "org.opencontainers.image.version=$VERSION" in (ROOT / "Dockerfile").read_text()
    images = []
    for path in (ROOT / "k8s").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            images += re.findall(r"'image': '(execd:[^']+)'", str(doc))
    assert images and set(images) == {"execd:" + __version__}, images


def test_the_readme_commands_name_this_version():
    named = set(re.findall(r"execd:(\d+\.\d+\.\d+)", (ROOT / "README.md").read_text("utf-8")))
    assert named == {__version__}, named


def test_the_package_ships_every_file_an_image_is_built_from():
    """The installed package hashes its language folders into the image tags: a file left out of
    the wheel gives the service image other tags than `execd images build` made."""
    import configparser
    import fnmatch

    from execd import languages

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["execd.languages"].split(",")]
    for lang in languages.LANGUAGES.values():
        for name, path in lang.context():
            relative = str(pathlib.Path(path).resolve().relative_to(ROOT / "execd" / "languages"))
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), "%s is not in the wheel" % relative
        folder = ROOT / "execd" / "languages" / lang.name
        for path in folder.iterdir():
            if path.is_file():
                relative = "%s/%s" % (lang.name, path.name)
                assert any(fnmatch.fnmatch(relative, p) for p in patterns), "%s is not in the wheel" % relative
