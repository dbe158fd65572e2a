#!/usr/bin/env python3
"""The README Quickstart demo: the whole life of a shot, on data made here.

Runs the real command line (``python -m cinev4 ...``) in a temporary project:
init, shot new, a "render" writing frames, a preview and qc.json, qc,
manifest, done, verify, release publish --to, verify --release of the
delivery, then flips one byte of a frame
and shows verify and the release gate catching it (exit 1).

Exits 0 when every command behaved as expected, 1 otherwise.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

SHOT = "SH010"


def run(args: list[str], cwd: Path, expect: int, failures: list[str]) -> subprocess.CompletedProcess[str]:
    shown = " ".join(shlex.quote(a) for a in ["cinev4", *args])
    print(f"\n$ {shown}")
    proc = subprocess.run([sys.executable, "-m", "cinev4", *args], cwd=cwd, capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).rstrip().splitlines():
        print(f"  {line}")
    verdict = "as expected" if proc.returncode == expect else f"UNEXPECTED (wanted {expect})"
    print(f"  -> exit {proc.returncode}, {verdict}")
    if proc.returncode != expect:
        failures.append(f"{shown}: exit {proc.returncode}, expected {expect}")
    return proc


def render(outputs: Path) -> None:
    """Stand-in for a render task: 24 frames, a preview movie and the QC note."""
    outputs.mkdir(parents=True, exist_ok=True)
    for frame in range(1001, 1025):
        (outputs / f"sh010.{frame}.exr").write_bytes(os.urandom(256 * 1024))
    (outputs / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(512 * 1024))
    (outputs / "qc.json").write_text(json.dumps({"reviewer": "demo", "approved": True}) + "\n")


def main() -> int:
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cinev4-demo-") as tmp:
        base = Path(tmp)
        root, delivery = base / "film", base / "delivery"
        print(f"cinev4 demo in {base}")

        run(["init", str(root), "--id", "DEMO", "--name", "cinev4 demo"], base, 0, failures)
        run(["shot", "new", SHOT], root, 0, failures)
        outputs = root / "shots" / SHOT / "outputs" / "v0001"
        render(outputs)
        print(f"\n(render) wrote 24 frames, preview.mp4 and qc.json into {outputs.relative_to(root)}/")
        run(["shot", "qc", SHOT], root, 0, failures)
        run(["manifest", SHOT], root, 0, failures)
        run(["manifest", SHOT], root, 2, failures)  # written once: a second run is refused
        run(["shot", "done", SHOT], root, 0, failures)
        run(["verify", SHOT], root, 0, failures)
        run(["release", "publish", "R001", SHOT, "--to", str(delivery)], root, 0, failures)
        # The delivery checked on its own, from its release record (no project there).
        run(["verify", "--release", str(delivery / "releases" / "R001" / "release.json")], base, 0, failures)
        run(["status"], root, 0, failures)

        victim = outputs / "sh010.1012.exr"
        data = bytearray(victim.read_bytes())
        data[4096] ^= 0x01
        victim.write_bytes(bytes(data))
        print(f"\n(tamper) flipped one bit of {victim.relative_to(root)} (same size)")
        run(["verify", SHOT], root, 1, failures)
        run(["release", "check", SHOT], root, 1, failures)
        run(["release", "publish", "R002", SHOT], root, 1, failures)
        if (root / "releases" / "R002").exists():
            failures.append("a release record was written although the gate failed")

        for dirpath, dirnames, filenames in os.walk(base):  # manifests are read-only
            for name in dirnames + filenames:
                os.chmod(os.path.join(dirpath, name), 0o755)

    print("\nsummary:")
    if failures:
        for failure in failures:
            print(f"  FAILED: {failure}")
        return 1
    print("  init -> shot new -> render -> qc -> manifest -> done -> verify -> release publish --to: all passed")
    print("  the one-bit tampering was caught by verify and by the release gate (exit 1), no record written")
    command = Path(sys.executable).parent / ("cinev4.exe" if os.name == "nt" else "cinev4")
    print(f"\nthe cinev4 command is {command} (or activate its venv: . {command.parent}/activate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
