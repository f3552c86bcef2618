"""Files that ship with novapool: the seed fleet's allocation (the demo's, the offline audit's
when no allocation file exists, and `novapool init --example`'s). config/allocation.yaml in the
repository is a link to it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def allocation_path() -> Path:
    return Path(str(resources.files("console.examples").joinpath("allocation.yaml")))
