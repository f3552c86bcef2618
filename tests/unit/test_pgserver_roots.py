"""Temp dirs of the demo's servers: an owner that died without cleaning up is reaped."""

import os
import subprocess

from console.demo.pgserver import make_root


def test_dead_owners_dirs_are_reaped_live_ones_kept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / "novapool-x-stale"
    stale.mkdir()
    (stale / "owner.pid").write_text(str(dead.pid))
    alive = tmp_path / "novapool-x-alive"
    alive.mkdir()
    (alive / "owner.pid").write_text(str(os.getpid()))
    foreign = tmp_path / "novapool-x-foreign"  # no owner file: not ours to judge
    foreign.mkdir()
    root = make_root("novapool-x-", str(tmp_path))
    assert not stale.exists()
    assert alive.exists() and foreign.exists()
    assert (root / "owner.pid").read_text() == str(os.getpid())
