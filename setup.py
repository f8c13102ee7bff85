"""Package discovery for the one installed package, ``spinecheck``, whose source is this folder.

pyproject.toml maps ``spinecheck`` to the repository root; setuptools' own discovery does not apply
such a mapping to sub-packages, so they are found here, every folder with an ``__init__.py`` under
``alignment/`` and ``landmarks/``, never from a hand-kept list.
"""

from setuptools import find_packages, setup

setup(
    packages=["spinecheck"]
    + [
        f"spinecheck.{name}"
        for name in find_packages(include=["alignment", "alignment.*", "landmarks", "landmarks.*"])
    ]
)
