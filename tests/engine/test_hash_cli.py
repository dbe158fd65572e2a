"""`cinev4 hash` through the installed executable, side by side with GNU sha256sum."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHA256SUM = shutil.which("sha256sum")
needs_sha256sum = pytest.mark.skipif(SHA256SUM is None, reason="GNU sha256sum is not installed")
NAMES = ["plain.exr", "with space.exr", "ünïcødé.exr", "back\\slash.exr", "new\nline.exr", "car\rriage.exr",
         "-dash.exr"]


def cinev4_exe() -> list[str]:
    script = Path(sys.executable).parent / "cinev4"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cinev4"]


def run(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, cwd=cwd, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for i, name in enumerate(NAMES):
        (tmp_path / name).write_bytes(os.urandom(1000 * i + 7))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "frame.0001.exr").write_bytes(b"frame")
    return tmp_path


def names_of(tree: Path) -> list[str]:
    return ["./" + n for n in NAMES] + ["sub/frame.0001.exr"]


@needs_sha256sum
def test_output_is_byte_identical_to_sha256sum(tree: Path) -> None:
    args = names_of(tree)
    ours = run([*cinev4_exe(), "hash", "--", *args], tree)
    theirs = run([SHA256SUM, "--", *args], tree)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


@needs_sha256sum
def test_missing_and_directory_fail_like_sha256sum(tree: Path) -> None:
    args = ["plain.exr", "missing.exr", "sub", "with space.exr"]
    ours = run([*cinev4_exe(), "hash", *args], tree)
    theirs = run([SHA256SUM, *args], tree)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stdout == theirs.stdout
    assert ours.stderr.decode().splitlines() == [
        "cinev4: missing.exr: No such file or directory",
        "cinev4: sub: Is a directory",
    ]


@needs_sha256sum
def test_check_agrees_with_sha256sum(tree: Path) -> None:
    sums = run([SHA256SUM, "--", *names_of(tree)], tree).stdout
    (tree / "SUMS").write_bytes(sums)
    for tamper in (False, True):
        if tamper:
            victim = tree / "with space.exr"
            data = bytearray(victim.read_bytes())
            data[3] ^= 1
            victim.write_bytes(bytes(data))
            (tree / "back\\slash.exr").unlink()
        ours = run([*cinev4_exe(), "hash", "-c", "SUMS"], tree)
        theirs = run([SHA256SUM, "-c", "SUMS"], tree)
        assert ours.returncode == theirs.returncode == (1 if tamper else 0)
        assert ours.stdout == theirs.stdout
        assert ours.stderr.decode().replace("cinev4:", "sha256sum:").count("WARNING") == theirs.stderr.decode().count(
            "WARNING"
        )


def test_check_quiet_status_and_json(tree: Path) -> None:
    (tree / "SUMS").write_bytes(run([*cinev4_exe(), "hash", "plain.exr", "sub/frame.0001.exr"], tree).stdout)
    quiet = run([*cinev4_exe(), "hash", "-c", "SUMS", "--quiet"], tree)
    assert (quiet.returncode, quiet.stdout) == (0, b"")
    (tree / "plain.exr").write_bytes(b"changed")
    status = run([*cinev4_exe(), "hash", "-c", "SUMS", "--status"], tree)
    assert (status.returncode, status.stdout, status.stderr) == (1, b"", b"")
    report = json.loads(run([*cinev4_exe(), "hash", "-c", "SUMS", "--json"], tree).stdout)
    assert [f["result"] for f in report["files"]] == ["FAILED", "OK"]
    assert report["mismatched"] == 1


def test_malformed_sums_file(tree: Path) -> None:
    (tree / "SUMS").write_bytes(b"not a checksum line\nzzzz  plain.exr\n")
    out = run([*cinev4_exe(), "hash", "-c", "SUMS"], tree)
    assert out.returncode == 1
    assert out.stderr.decode().strip() == "cinev4: SUMS: no properly formatted checksum lines found"


def test_stdin_is_hashed(tree: Path) -> None:
    out = run([*cinev4_exe(), "hash"], tree, input=b"abc")
    assert out.stdout == b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n"


def test_json_report(tree: Path) -> None:
    out = run([*cinev4_exe(), "hash", "--json", "plain.exr", "missing"], tree)
    report = json.loads(out.stdout)
    assert out.returncode == 1
    assert report["files"][0]["size"] == 7 and len(report["files"][0]["sha256"]) == 64
    assert report["files"][1]["error"]["errno"] == 2


@pytest.mark.parametrize(
    "args, env, message, code",
    [
        (["--kernel", "bogus", "plain.exr"], {}, "unknown or unavailable kernel 'bogus'", 2),
        (["plain.exr"], {"CINEV4_WINDOW": "12345"}, "window must be a multiple of 64 KiB", 2),
        (["--threads", "0", "plain.exr"], {}, "cinev4: invalid number of threads: '0' (at least 1)", 2),
        # a missing sums file is a failed check, as for sha256sum -c: exit 1
        (["-c", "nothere"], {}, "nothere: No such file or directory", 1),
    ],
)
def test_usage_errors_are_one_line(tree: Path, args: list[str], env: dict[str, str], message: str,
                                   code: int) -> None:
    out = run([*cinev4_exe(), "hash", *args], tree, env={**os.environ, **env})
    assert out.returncode == code
    assert message in out.stderr.decode()
    assert b"Traceback" not in out.stderr


@pytest.mark.parametrize("window, why", [
    ("100K", "window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not 102400"),
    ("2G", "window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not 2147483648"),
    ("lots", "window 'lots' is not a size (expected bytes, or a number with K, M or G, e.g. 8M)"),
])
def test_refused_window_is_a_usage_error(tree: Path, window: str, why: str) -> None:
    out = run([*cinev4_exe(), "hash", f"--window={window}", "plain.exr"], tree)
    assert out.returncode == 2
    assert out.stdout == b""
    assert out.stderr.decode().splitlines() == [f"cinev4: invalid argument '{window}' for '--window' ({why})",
                                                "Try 'cinev4 hash --help' for more information."]


@pytest.mark.parametrize("io", ["mmap", "read"])
def test_window_hashes_files_larger_than_the_window(tmp_path: Path, io: str) -> None:
    sizes = [3 * 65536 + 17, 65536, 65535, 10 * 65536 + 4096, 0]  # several windows, exact, under one, empty
    names = []
    for i, size in enumerate(sizes):
        (tmp_path / f"f{i}").write_bytes(os.urandom(size))
        names.append(f"f{i}")
    out = run([*cinev4_exe(), "hash", "--window", "64K", f"--io={io}", "--threads=3", *names], tmp_path)
    assert out.returncode == 0, out.stderr
    expected = "".join(f"{hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    assert out.stdout.decode() == expected
    check = run([*cinev4_exe(), "hash", "--window=128K", "-c", "-"], tmp_path, input=out.stdout)
    assert check.returncode == 0, check.stderr


def test_window_reaches_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--window is handed to the engine's batch, as --threads, --kernel and --io are."""
    from cinev4.hashcli import command

    seen: dict[str, object] = {}
    real = command.hash_files_ordered

    def spy(files, threads=None, **settings):  # type: ignore[no-untyped-def]
        seen.update(settings, threads=threads)
        return real(files, threads, **settings)

    monkeypatch.setattr(command, "hash_files_ordered", spy)
    (tmp_path / "f").write_bytes(b"x" * 200_000)
    monkeypatch.chdir(tmp_path)
    import signal

    sigpipe = signal.getsignal(signal.SIGPIPE)  # run_hash restores the default: a pipe closed on this
    try:  # test process would end it (an xdist worker "crashed")
        assert command.run_hash(["--window=192K", "--threads=2", "--io=read", "--kernel=portable", "f"]) == 0
    finally:
        signal.signal(signal.SIGPIPE, sigpipe)
    assert seen == {"threads": 2, "kernel": "portable", "io": "read", "window": 192 * 1024, "progress": None}

def test_version_names_kernel_and_io() -> None:
    out = subprocess.run([*cinev4_exe(), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("cinev4 ")
    assert "engine: kernel " in out and " io " in out
    forced = subprocess.run([*cinev4_exe(), "--version"], capture_output=True, text=True, check=True,
                            env={**os.environ, "CINEV4_KERNEL": "portable", "CINEV4_IO": "read"}).stdout
    assert "engine: kernel portable, lanes off, io read" in forced
    walk = subprocess.run([*cinev4_exe(), "--version"], capture_output=True, text=True, check=True,
                          env={**os.environ, "CINEV4_ANCHOR": "openat-walk"}).stdout
    assert "\nfile layer: anchored opening openat-walk\n" in walk


def test_python_dash_m_is_the_same_program(tree: Path) -> None:
    a = run([sys.executable, "-m", "cinev4", "hash", "plain.exr"], tree)
    b = run([*cinev4_exe(), "hash", "plain.exr"], tree)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout


def test_cli_start_imports_no_numpy_or_pipeline() -> None:
    code = ("import sys; from cinev4.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'jsonschema_rs')"
            " or m.startswith('cinev4.pipeline')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_hash_start_imports_no_click_typing_or_re(tree: Path) -> None:
    """`cinev4 hash` is what a hook runs on every frame batch: its start-up loads the engine
    and the hash command only (each of these costs milliseconds a run; signal, through
    enum, 3-4 ms: the handlers are set through _signal; collections about 1 ms: its
    abstract classes are imported for annotations only)."""
    code = ("import os, sys; os.chdir(sys.argv[1]); from cinev4._console import main\n"
            "try:\n    main(['hash', 'plain.exr'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('click', 'numpy', 'jsonschema_rs', 'typing', 're', 'dataclasses', 'json', 'signal', 'enum', 'collections')))")
    out = subprocess.run([sys.executable, "-c", code, str(tree)], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("signame, code, line", [("SIGINT", 130, "cinev4: interrupted"),
                                                 ("SIGTERM", 143, "cinev4: terminated"),
                                                 ("SIGHUP", 129, "cinev4: hung up")])
def test_signal_stops_the_workers_with_one_line(tmp_path: Path, signame: str, code: int, line: str) -> None:
    import signal
    import time

    chunk = os.urandom(1 << 20)
    paths = []
    for i in range(12):
        path = tmp_path / f"frame.{i:04d}.exr"
        with open(path, "wb") as handle:
            for _ in range(32):
                handle.write(chunk)
        paths.append(str(path))
    # The portable kernel on one thread keeps the batch busy for about a second even on a
    # fast core; the signal goes once the first line is out, so it lands mid-batch however
    # slowly the process started.
    with subprocess.Popen([*cinev4_exe(), "hash", "--kernel", "portable", "--threads", "1", *paths],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None
        first = child.stdout.readline()
        sent = time.monotonic()
        child.send_signal(getattr(signal, signame))
        rest, err = child.communicate(timeout=30)
        stopped_after = time.monotonic() - sent
        out = first + rest
    assert child.returncode == code
    assert err.decode() == line + "\n"  # exactly one line
    # Lines go out as files complete: what was printed is whole lines, in input order.
    expected = [f"{hashlib.sha256(Path(p).read_bytes()).hexdigest()}  {p}\n".encode()
                for p in paths[:len(out.splitlines())]]
    assert out == b"".join(expected)
    assert len(out.splitlines()) < len(paths)
    assert stopped_after < 1.0


def test_a_signal_the_caller_ignores_stays_ignored(tmp_path: Path) -> None:
    # `nohup cinev4 hash ...`, a background job's Ctrl-C: it stopped the run anyway.
    import signal
    import time

    path = tmp_path / "big.bin"
    with open(path, "wb") as handle:
        handle.truncate(48 << 20)
    ignore = lambda: [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGHUP, signal.SIGINT)]  # noqa: E731
    with subprocess.Popen([*cinev4_exe(), "hash", "--kernel", "portable", "--threads", "1", str(path), str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ignore) as child:
        assert child.stdout is not None
        first = child.stdout.readline()  # mid-run: the second file is being hashed
        child.send_signal(signal.SIGHUP)
        time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=60)
    assert (child.returncode, err) == (0, b"")
    assert first + rest == 2 * f"{hashlib.sha256(bytes(48 << 20)).hexdigest()}  {path}\n".encode()
