"""`cinev4 hash` when what surrounds it fails: standard streams closed or full, --json on
every kind of failure, a names list that is not one, the locale. Each runs the command in
a subprocess; what GNU sha256sum does alike is compared case by case in
test_gnu_sha256sum.py (stdout-*, stdin-*, stderr-*, quoted-names-*).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="closes descriptors in the child (POSIX)")
BADF = os.strerror(9)  # "Bad file descriptor"
TRY = b"Try 'cinev4 hash --help' for more information."


def cinev4_exe() -> list[str]:
    return [sys.executable, "-m", "cinev4"]


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)


def run(args: list[str], cwd: Path, *, closed: tuple[int, ...] = (), stdout: Any = subprocess.PIPE,
        env: dict[str, str] | None = None, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``cinev4 hash ARGS``; ``closed``: descriptors closed in the child (``>&-``)."""
    return subprocess.run([*cinev4_exe(), "hash", *args], cwd=cwd, input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, env=env, timeout=60,
                          preexec_fn=(lambda: _close(closed)) if closed else None)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a").write_bytes(b"hi\n")
    (tmp_path / "good.sum").write_bytes(f"{hashlib.sha256(b'hi' + bytes([10])).hexdigest()}  a\n".encode())
    return tmp_path


# --- 1. stdout closed: a write error where a line was due, never an internal error -----------


@posix_only
@pytest.mark.parametrize("args", [["a"], ["--json", "a"], ["-c", "good.sum"], ["--help"], ["--version"],
                                  ["-c", "--json", "good.sum"]])
def test_closed_stdout_is_a_write_error(tree: Path, args: list[str]) -> None:
    out = run(args, tree, closed=(1,))
    assert (out.returncode, out.stderr) == (1, f"cinev4: write error: {BADF}\n".encode())


@posix_only
@pytest.mark.parametrize("args", [["-c", "--status", "good.sum"], ["-c", "--quiet", "good.sum"]])
def test_closed_stdout_with_nothing_to_write_is_no_error(tree: Path, args: list[str]) -> None:
    out = run(args, tree, closed=(1,))
    assert (out.returncode, out.stderr) == (0, b"")


@posix_only
def test_closed_stdout_goes_on_with_the_run(tree: Path) -> None:
    """The other files' errors still come, then the write error (as GNU: stdio keeps it until exit)."""
    out = run(["a", "nope", "a"], tree, closed=(1,))
    assert out.returncode == 1
    assert out.stderr.decode().splitlines() == ["cinev4: nope: No such file or directory",
                                                f"cinev4: write error: {BADF}"]


@posix_only
def test_closed_stdin_is_never_a_file_the_engine_opened(tmp_path: Path) -> None:
    """With descriptor 0 closed, the engine's files must not take its number: "-" would
    read one of them and print its digest as standard input's."""
    names = []
    for i in range(64):
        (tmp_path / f"f{i:02d}").write_bytes(os.urandom(4096 + i))
        names.append(f"f{i:02d}")
    out = run([*names[:32], "-", *names[32:]], tmp_path, closed=(0,))
    assert out.returncode == 1
    assert out.stderr.decode().splitlines() == [f"cinev4: -: {BADF}", f"cinev4: standard input: {BADF}"]
    assert len(out.stdout.splitlines()) == 64 and b"  -\n" not in out.stdout


@posix_only
def test_closed_stderr_does_not_stop_the_run(tree: Path) -> None:
    out = run(["a"], tree, closed=(2,))
    assert out.returncode == 0
    assert out.stdout == f"{hashlib.sha256(b'hi' + bytes([10])).hexdigest()}  a\n".encode()


# --- 2. --json: one document for usage errors and unreadable lists too ------------------------


def _errors_document(stdout: bytes) -> dict[str, Any]:
    document = json.loads(stdout)
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("args, message", [
    (["--json", "--threads", "0", "a"], "invalid number of threads: '0' (at least 1)"),
    (["--json", "--bogus"], "unrecognized option '--bogus'"),
    (["--bogus", "--json"], "unrecognized option '--bogus'"),  # asked for, though never parsed
    (["--json", "--status", "a"], "the --status option is meaningful only when verifying checksums"),
    (["--jso", "-x"], "invalid option -- 'x'"),  # a prefix is the option, as getopt_long reads it
    (["--json=yes", "a"], "option '--json' doesn't allow an argument"),
    (["-c", "--json", "--tag", "a"], "the --tag option is meaningless when verifying checksums"),
])
def test_json_usage_error_is_a_document(tree: Path, args: list[str], message: str) -> None:
    out = run(args, tree)
    assert out.returncode == 2
    assert _errors_document(out.stdout) == {"errors": [message], "ok": False, "exit_code": 2}
    assert out.stderr.splitlines() == [f"cinev4: {message}".encode(), TRY]


def test_json_unknown_kernel_is_a_document(tree: Path) -> None:
    out = run(["--json", "--kernel", "bogus", "a"], tree)
    document = _errors_document(out.stdout)
    assert (out.returncode, document["exit_code"], document["ok"]) == (2, 2, False)
    assert [line.split(";")[0] for line in document["errors"]] == ["unknown or unavailable kernel 'bogus'"]


def test_json_unreadable_list_is_a_document(tree: Path) -> None:
    out = run(["--json", "--files-from", "/nonexistent/list", "a"], tree)
    line = "/nonexistent/list: No such file or directory"
    assert out.returncode == 2
    assert _errors_document(out.stdout) == {"errors": [line], "ok": False, "exit_code": 2}
    assert out.stderr == f"cinev4: {line}\n".encode()


def test_json_environment_problem_is_a_document(tree: Path) -> None:
    out = run(["--json", "a"], tree, env={**os.environ, "CINEV4_THREADS": "0"})
    assert out.returncode == 2
    document = _errors_document(out.stdout)
    assert (document["ok"], document["exit_code"]) == (False, 2)
    assert out.stderr.decode() == "".join(f"cinev4: error: {line}\n" for line in document["errors"])


@pytest.mark.parametrize("args", [["--", "--json"], ["--files-from", "--json", "a"], ["--bogus", "--", "--json"]])
def test_json_only_when_asked_for(tree: Path, args: list[str]) -> None:
    """``--json`` after ``--`` is a file; as an option's value, a list's name."""
    out = run(args, tree)
    assert out.stdout == b"" and out.returncode in (1, 2)


@pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="needs /proc/PID/wchan to see the read wait")
def test_json_interrupt_is_a_document(tmp_path: Path) -> None:
    with subprocess.Popen([*cinev4_exe(), "hash", "--json", "-"], cwd=tmp_path, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        wchan = Path(f"/proc/{child.pid}/wchan")
        deadline = time.monotonic() + 30
        while "pipe" not in wchan.read_text() and time.monotonic() < deadline:  # waiting on stdin
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=30)
    assert (child.returncode, stderr) == (143, b"cinev4: terminated\n")
    assert _errors_document(stdout) == {"errors": ["terminated"], "ok": False, "exit_code": 143}


# --- 3. stdout full: the same write error with --json as without -----------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["a"], ["--json", "a"], ["-c", "good.sum"], ["-c", "--json", "good.sum"]])
def test_full_stdout_is_one_write_error(tree: Path, args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        out = run(args, tree, stdout=full)
    assert (out.returncode, out.stderr) == (1, b"cinev4: write error\n")  # GNU coreutils 9.1's words


# --- 4. a NUL in a list read by lines -----------------------------------------------------------


@pytest.mark.parametrize("content, line", [(b"a\0good.sum\0", 1), (b"a\ngood.sum\0x\n", 2)])
def test_nul_in_a_list_read_by_lines(tree: Path, content: bytes, line: int) -> None:
    (tree / "names.nul").write_bytes(content)
    out = run(["--files-from", "names.nul"], tree)
    message = (f"names.nul: line {line}: a name holds a NUL byte "
               "(a NUL-separated list, as find -print0 writes, needs -z)")
    assert (out.returncode, out.stdout) == (2, b"")
    assert out.stderr == f"cinev4: {message}\n".encode()
    as_json = run(["--json", "--files-from", "names.nul"], tree)
    assert _errors_document(as_json.stdout) == {"errors": [message], "ok": False, "exit_code": 2}


def test_nul_separated_list_with_z(tree: Path) -> None:
    (tree / "names.nul").write_bytes(b"a\0good.sum\0")
    out = run(["-z", "--files-from", "names.nul"], tree)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(b"\0") == 2


@pytest.fixture()
def signals_kept() -> Iterator[None]:
    """The handlers a command run in this process sets (SIGPIPE's default: a pipe that a
    child closes would end the test process), put back after the test."""
    names = [name for name in ("SIGPIPE", "SIGINT", "SIGTERM") if hasattr(signal, name)]
    kept = {name: signal.getsignal(getattr(signal, name)) for name in names}
    yield
    for name, handler in kept.items():
        signal.signal(getattr(signal, name), handler)


@pytest.mark.usefixtures("signals_kept")
def test_unexpected_value_error_is_an_internal_error(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    """Only the arguments' and settings' refusals are usage errors: a ValueError from
    elsewhere is a bug, said as one (exit 2 all the same)."""
    from cinev4.hashcli import command

    def broken(_options: object) -> None:
        raise ValueError("embedded null byte")

    monkeypatch.setattr(command, "_names_to_hash", broken)
    monkeypatch.chdir(tree)
    assert command.run_standalone(["a"]) == 2
    assert capfd.readouterr().err == ("cinev4: internal error: ValueError: embedded null byte "
                                      "(set CINEV4_DEBUG=1 for the traceback)\n")


def test_multibuffer_kernel_hashes_stdin(tree: Path) -> None:
    from cinev4._fasthash import multibuffer_kernels

    if not multibuffer_kernels():
        pytest.skip("no multi-buffer kernel on this CPU")
    out = run(["--kernel", multibuffer_kernels()[0], "-", "a"], tree, stdin=b"abc")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"{hashlib.sha256(b'abc').hexdigest()}  -".encode()


# --- 5. names in error lines: the locale the C library really has -----------------------------

ESCAPED_E_ACUTE = b"cinev4: 'miss'$'\\303\\251': No such file or directory\n"


def _clean_env(**variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONCOERCECLOCALE"))}
    return {**env, **variables}


@pytest.mark.parametrize("variables", [
    {"LC_ALL": "xx_NOT_INSTALLED.UTF-8"},  # setlocale fails: the C locale
    {},  # no locale at all: C (Python's start-up switches itself to C.UTF-8; GNU stays in C)
    {"LANG": "C"},
    {"LANG": "xx_NOT_INSTALLED.UTF-8"},
    {"PYTHONUTF8": "0"},  # the switch to C.UTF-8 without the UTF-8 mode
])
def test_non_utf8_locale_escapes_non_ascii(tree: Path, variables: dict[str, str]) -> None:
    out = run(["missé"], tree, env=_clean_env(**variables))
    assert (out.returncode, out.stderr) == (1, ESCAPED_E_ACUTE)


@pytest.mark.parametrize("variables", [{"LC_ALL": "C.UTF-8"}, {"LC_CTYPE": "C.UTF-8"}, {"LANG": "C.UTF-8"},
                                       {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}])
def test_utf8_locale_shows_glibc_printable_characters(tree: Path, variables: dict[str, str]) -> None:
    names = ["missé", "miss\u00a0nbsp", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen"]
    out = run(names, tree, env=_clean_env(**variables))
    assert out.returncode == 1
    assert out.stderr.decode().splitlines() == [f"cinev4: {name}: No such file or directory" for name in names]


@pytest.mark.parametrize("char, printable", [
    ("\u00a0", True), ("\u00ad", True), ("\u3000", True), ("\ufeff", True), ("\u200b", True), ("\u202e", True),
    ("\ue000", True), ("\U000e0041", True), ("\u2000", True), ("é", True), ("\U0001f600", True),
    ("\u0085", False), ("\u2028", False), ("\u2029", False), ("\u0378", False), ("\ufffe", False),
])
def test_unicode_rule_is_glibcs_iswprint(char: str, printable: bool) -> None:
    """The rule used where the C library cannot be asked (no ctypes, not a UTF-8 C locale):
    glibc's is_print, every assigned character but Cc, Zl and Zp."""
    from cinev4.hashcli.quoting import _unicode_rule

    assert _unicode_rule(char) is printable


def test_start_imports_nothing_for_quoting(tree: Path) -> None:
    """The printable test is found only for a name that needs it: a run, or an error on an
    ASCII name, imports neither ctypes nor unicodedata."""
    code = ("import os, sys; os.chdir(sys.argv[1]); from cinev4._console import main\n"
            "try:\n    main(['hash', 'a', 'nope'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m in ('ctypes', 'unicodedata', 'locale', 'json')))")
    out = subprocess.run([sys.executable, "-c", code, str(tree)], capture_output=True, text=True,
                         env=_clean_env(LC_ALL="C.UTF-8"), timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"
