"""A PEP 517 / PEP 660 build backend for the polyphemus package, standard library only.

It exists so that `pip install ./sdk/python` (and `pip install -e`) works with nothing but
pip: no setuptools or hatchling has to be fetched from an index. It packs `polyphemus/` as a
pure-Python wheel; the metadata comes from pyproject.toml's [project] table.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "polyphemus"


def _project():
    """name, version, description, requires-python and the README of pyproject.toml."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def key(name):
        found = re.search(rf'^{re.escape(name)}\s*=\s*"([^"]*)"', table, re.M)
        return found.group(1) if found else ""

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return key("name"), key("version"), key("description"), key("requires-python"), readme


def _metadata():
    name, version, description, requires, readme = _project()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        f"Summary: {description}\n"
        "License: Apache-2.0\n"
        f"Requires-Python: {requires}\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Typing :: Typed\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        f"{readme}"
    )


def _package_files():
    base = os.path.join(ROOT, PACKAGE)
    for entry in sorted(os.listdir(base)):
        if entry.endswith(".py") or entry == "py.typed":
            yield f"{PACKAGE}/{entry}", os.path.join(base, entry)


def _write_wheel(directory, files):
    """files: (archive name, bytes); adds WHEEL, METADATA, RECORD; returns the wheel's name."""
    name, version, *_ = _project()
    dist_info = f"{name}-{version}.dist-info"
    wheel_name = f"{name}-{version}-py3-none-any.whl"
    files = list(files) + [
        (f"{dist_info}/METADATA", _metadata().encode("utf-8")),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: polyphemus-backend\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        ),
    ]
    record = []
    with zipfile.ZipFile(os.path.join(directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, data in files:
            whl.writestr(zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0)), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arcname},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        whl.writestr(
            zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)),
            "\n".join(record) + "\n",
        )
    return wheel_name


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(arc, _read(path)) for arc, path in _package_files()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """A wheel with a .pth file that puts this directory on sys.path."""
    return _write_wheel(wheel_directory, [(f"_{PACKAGE}_editable.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    name, version, *_ = _project()
    base = f"{name}-{version}"
    sdist_name = f"{base}.tar.gz"
    members = ["pyproject.toml", "README.md", "_build/backend.py"]
    members += [arc for arc, _ in _package_files()]
    with tarfile.open(os.path.join(sdist_directory, sdist_name), "w:gz") as tar:
        for member in members:
            tar.add(os.path.join(ROOT, member), arcname=f"{base}/{member}")
        pkg_info = _metadata().encode("utf-8")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    return sdist_name
