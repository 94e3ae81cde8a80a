from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from levpref.adapters.secretbox import SecretBox, load_master_keys, pending_key_file, write_key_file

_LOAD = (
    "import sys; from pathlib import Path; from levpref.adapters.secretbox import load_master_keys; "
    "sys.stdout.write(load_master_keys(None, Path(sys.argv[1]))[0].hex())"
)


def test_processes_starting_at_once_agree_on_one_master_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    procs = [
        subprocess.Popen([sys.executable, "-c", _LOAD, str(key_file)], stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    keys = {p.communicate(timeout=60)[0] for p in procs}
    assert len(keys) == 1
    assert bytes.fromhex(keys.pop()) == load_master_keys(None, key_file)[0]
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["master.key"]


def test_a_pending_rotation_key_still_opens_secrets(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    old = load_master_keys(None, key_file)[0]
    sealed_old = SecretBox(old).seal("pub", b"s3cret")
    write_key_file(pending_key_file(key_file), b"n" * 32)
    sealed_new = SecretBox(b"n" * 32).seal("pub", b"s3cret")
    box = SecretBox(*load_master_keys(None, key_file))
    assert box.open("pub", sealed_old) == b"s3cret"
    assert box.open("pub", sealed_new) == b"s3cret"


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    first = load_master_keys(None, key_file)[0]
    write_key_file(key_file, b"x" * 32)
    assert load_master_keys(None, key_file)[0] == first
