"""Dask is an optional extra: without it the options fail with one line naming
the extra (exit 2), and nothing else ever imports it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Runs cinev4's CLI in a fresh interpreter where importing dask fails, as on
# a machine without the extra: None in sys.modules makes `import x` raise
# ImportError.
NO_DASK = """
import sys
for name in ("dask", "distributed"):
    sys.modules[name] = None
from cinev4.cli import main
main(sys.argv[1:])
"""

# Runs something, then prints which Dask modules got imported.
IMPORTED = """
import sys
{body}
print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
"""


def _python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [
    ["verify", "--all", "--local-cluster", "2"],
    ["verify", "SH020", "--scheduler", "tcp://127.0.0.1:8786", "--json"],
    ["manifest", "SH030", "--local-cluster", "2"],
])
def test_options_without_dask_name_the_extra(damaged_project: Path, command: list[str]) -> None:
    proc = _python(NO_DASK, *command, cwd=damaged_project)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("cinev4: error: --"), proc.stderr
    assert "needs Dask distributed" in lines[0] and "pip install 'cinev4[dask]'" in lines[0]


def test_plain_verify_works_without_dask(damaged_project: Path) -> None:
    proc = _python(NO_DASK, "verify", "SH020", cwd=damaged_project)
    assert proc.returncode == 0 and proc.stdout.startswith("SH020 v0001: OK"), proc.stderr


@pytest.mark.parametrize("body", [
    "import cinev4, cinev4.pipeline",
    "from cinev4.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
    "from cinev4.cli import main\ntry:\n    main(['verify', '--all', '--json'])\nexcept SystemExit:\n    pass",
    "from cinev4.cli import main\ntry:\n    main(['verify', '--help'])\nexcept SystemExit:\n    pass",
], ids=["import", "version", "verify", "verify-help"])
def test_core_never_imports_dask(damaged_project: Path, body: str) -> None:
    proc = _python(IMPORTED.format(body=body), cwd=damaged_project)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
