"""DuckDB allows one writing process per file; a second process gets a clear StoreError, not a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twin.store import DuckDBStore

SCRIPT = """
import sys
from twin.errors import StoreError
from twin.store import DuckDBStore
try:
    DuckDBStore(sys.argv[1])
except StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def test_second_process_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    with DuckDBStore(path):
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert f"path = '{path}'" in proc.stdout
    assert "a DuckDB file this process can open for writing" in proc.stdout
