"""The console script ends a finished command without the interpreter's clean-up
(cinev4._console._leave), except where something may still need that clean-up."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# The console script's entry point, run as the program runs it (no argv given).
_RUN = "import sys\nfrom cinev4._console import main\n{setup}\nsys.argv = ['cinev4', *sys.argv[1:]]\nmain()\n"


def _run(tmp_path: Path, setup: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUN.format(setup=setup), *args], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


# An object whose finaliser writes when the interpreter takes the modules apart at exit.
_TEARDOWN = ("import os\nclass _Witness:\n    def __del__(self):\n        os.write(1, b'teardown ran')\n"
             "witness = _Witness()")


@pytest.mark.parametrize("args", [("--version",), ("hash", "-"), ("frobnicate",)])
def test_an_atexit_callback_still_runs(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A library that registered an atexit callback (the Dask client does) gets it run."""
    done = _run(tmp_path, "import atexit\natexit.register(lambda: print('callback ran', flush=True))", *args)
    assert done.stdout.endswith("callback ran\n"), done


def test_a_thread_still_alive_is_waited_for(tmp_path: Path) -> None:
    # The thread ends only once the main thread has: a quick exit would never let it print.
    setup = ("import threading\n"
             "threading.Thread(target=lambda: (threading.main_thread().join(), print('thread done', flush=True)))"
             ".start()")
    done = _run(tmp_path, setup, "--version")
    assert done.returncode == 0 and done.stdout.endswith("thread done\n"), done


@pytest.mark.parametrize("args", [("--version",), ("hash", "-"), ("frobnicate",)])
def test_a_finished_command_skips_the_interpreters_teardown(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert "teardown ran" not in _run(tmp_path, _TEARDOWN, *args).stdout
    # The witness itself works: with an atexit callback the usual exit runs, teardown included.
    with_callback = _run(tmp_path, _TEARDOWN + "\nimport atexit\natexit.register(print, 'callback ran')", *args)
    assert "teardown ran" in with_callback.stdout, with_callback


@pytest.mark.parametrize("args, code", [(("--version",), 0), (("frobnicate",), 2), (("hash", "missing"), 1)])
def test_output_and_exit_code_of_a_fast_exit(tmp_path: Path, args: tuple[str, ...], code: int) -> None:
    """Without callbacks or threads the process ends at once: what was printed is all there
    (text buffered in sys.stdout included), and the exit code is the command's."""
    done = _run(tmp_path, "sys.stdout.write('buffered before: ')", *args)
    assert done.returncode == code, done
    assert done.stdout.startswith("buffered before: "), done
    if code == 0:
        assert "cinev4 " in done.stdout
    else:
        assert done.stderr.startswith("cinev4: "), done
