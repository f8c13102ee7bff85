"""Package discovery for the one installed package, ``spinecheck``, whose source is this folder.

pyproject.toml maps ``spinecheck`` to the repository root. setuptools' own discovery does not
apply such a mapping to sub-packages, so they are found here, every folder with an ``__init__.py``
under ``alignment/`` and ``landmarks/``, never from a hand-kept list; and this script, which sits
among the package's modules, is kept out of it.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    """Build the package's modules, less this build script."""

    def find_package_modules(self, package, package_dir):  # noqa: D102 - setuptools' hook
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "spinecheck" and m[1] == "setup")]


ROOMS = find_packages(include=["alignment", "alignment.*", "landmarks", "landmarks.*"])

setup(packages=["spinecheck", *(f"spinecheck.{name}" for name in ROOMS)], cmdclass={"build_py": BuildPy})
