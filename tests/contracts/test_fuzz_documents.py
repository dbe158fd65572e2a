"""Generated and hostile documents through every reader and through the command line.

Whatever the bytes (random nesting, types, unicode, sizes, broken JSON), a reader answers
with a document or a ContractError of one-line problems, and a command with exit 2 and
one-line errors: never a traceback, never a hang. The example counts are bounded so that
this file runs in seconds; the corpus under tests/data/hostile/ is run every time.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinev4.cli import main
from cinev4.contracts import parse_document, read_json_file
from cinev4.errors import ContractError

from helpers import make_writable, render, run_cli

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
CORPUS = sorted(HOSTILE.glob("bad_*.json"))
BAD_JSON = [path for path in CORPUS if path.name.startswith("bad_json_")]
KINDS = ("project", "shot", "artifact", "manifest", "release")
MANIFEST = "shots/SH010/manifests/v0001/manifest.json"

# --- generated documents ---------------------------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(2**80), 2**80)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
_VALID_MANIFEST = {
    "schema": "cinev4/manifest@1", "project_id": "FILM01", "shot_id": "SH010", "version": "v0001",
    "created_utc": "2024-05-01T12:00:00Z", "hash_alg": "sha256",
    "artifacts": [{"path": "shots/SH010/outputs/v0001/preview.mp4", "size": 6, "sha256": "0" * 64}],
}


@st.composite
def near_manifests(draw: st.DrawFn) -> object:
    """A valid manifest with one field (top level or in its artifact) replaced by anything."""
    doc = json.loads(json.dumps(_VALID_MANIFEST))
    target = doc if draw(st.booleans()) else doc["artifacts"][0]
    target[draw(st.sampled_from(sorted(target)) | st.text(max_size=6))] = draw(json_values)
    return doc


def _hostile(raw: bytes, how: str, depth: int, cut: int) -> bytes:
    """One way of breaking ``raw`` that a reader must survive."""
    if how == "nest":
        return b"[" * depth + raw + b"]" * depth
    if how == "truncate":
        return raw[: cut % (len(raw) + 1)]
    if how == "garbage":
        return raw + b" }]\xff"
    if how == "duplicate" and raw.startswith(b"{") and len(raw) > 2:
        return b'{"k": 1, "k": 2, ' + raw[1:]
    if how == "surrogate":
        return b'{"x": "\\udc80", "y": ' + raw + b"}"
    if how == "nan":
        return b'{"size": NaN, "v": ' + raw + b"}"
    if how == "fraction":
        return b'{"size": 6.0, "v": ' + raw + b"}"
    return raw


@st.composite
def document_bytes(draw: st.DrawFn, always_bad_json: bool = False) -> bytes:
    value = draw(near_manifests() | json_values)
    raw = json.dumps(value, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    hows = ["nest", "truncate", "garbage", "surrogate", "nan"] if always_bad_json else \
        ["none", "nest", "truncate", "garbage", "duplicate", "surrogate", "nan", "fraction"]
    how = draw(st.sampled_from(hows))
    depth = draw(st.integers(65, 3000)) if always_bad_json else draw(st.integers(0, 3000))
    cut = draw(st.integers(0, 10**6))
    broken = _hostile(raw, how, depth, cut)
    if always_bad_json and how == "truncate":
        broken += b"["  # a cut that happens to leave a whole value must still be broken
    return broken


def _assert_one_line_problems(problems: list[str], source: str) -> None:
    assert problems
    for problem in problems:
        assert problem.startswith(f"{source}: "), problem
        assert "\n" not in problem and "\r" not in problem, problem
        problem.encode("utf-8")  # printable on any UTF-8 stream


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document_bytes())
def test_every_reader_answers_a_document_or_one_line_problems(raw: bytes) -> None:
    for kind in KINDS:
        try:
            parse_document(raw, kind, "doc.json")  # type: ignore[arg-type]
        except ContractError as exc:
            _assert_one_line_problems(exc.problems, "doc.json")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document_bytes())
def test_qc_reader_answers_json_or_one_line_problems(tmp_path: Path, raw: bytes) -> None:
    qc = tmp_path / "qc.json"
    qc.write_bytes(raw)
    try:
        read_json_file(qc, "qc", "qc.json")
    except ContractError as exc:
        _assert_one_line_problems(exc.problems, "qc.json")


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_through_every_reader(path: Path) -> None:
    raw = path.read_bytes()
    for kind in KINDS:
        with pytest.raises(ContractError) as caught:
            parse_document(raw, kind, path.name)  # type: ignore[arg-type]
        _assert_one_line_problems(caught.value.problems, path.name)
    if path in BAD_JSON:
        with pytest.raises(ContractError) as caught:
            read_json_file(path, "qc", path.name)
        _assert_one_line_problems(caught.value.problems, path.name)


# --- through the command line ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One project for every example (a shot in QC, its manifest pinned); each example puts
    its bytes in place of one document and the original back afterwards."""
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "proj"
    run_cli("init", str(root), "--id", "FILM01", cwd=base)
    run_cli("shot", "new", "SH010", cwd=root)
    render(root)
    run_cli("shot", "qc", "SH010", cwd=root)
    run_cli("manifest", "SH010", cwd=root)
    yield root
    make_writable(base)


# target -> (file replaced, command run, a line it must print)
TARGETS: dict[str, tuple[str, list[str], str]] = {
    "manifest": (MANIFEST, ["verify", "SH010"], "manifest_invalid"),
    "shot": ("shots/SH010/shot.json", ["shot", "show", "SH010"], "shots/SH010/shot.json: "),
    "project": ("project.json", ["status"], "project.json: "),
    "qc": ("shots/SH010/outputs/v0001/qc.json", ["shot", "done", "SH010"], "shots/SH010/outputs/v0001/qc.json: "),
}


@contextlib.contextmanager
def _in_place(root: Path, relative: str, raw: bytes) -> Iterator[None]:
    target = root / relative
    saved = target.read_bytes()
    os.chmod(target, 0o644)
    target.write_bytes(raw)
    try:
        yield
    finally:
        target.write_bytes(saved)


def _run_in_process(args: list[str]) -> tuple[int, str, str]:
    """``cinev4.cli.main`` in this process (the subprocess runs cost ~0.3 s each)."""
    out, err = io.StringIO(), io.StringIO()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
            main(args)
    finally:
        for sig, handler in handlers.items():  # main() installs its own: give pytest's back
            signal.signal(sig, handler)
    code = stop.value.code
    return code if isinstance(code, int) else 0, out.getvalue(), err.getvalue()


def _assert_refused(code: int, stdout: str, stderr: str, must_show: str) -> None:
    report = f"exit {code}\nstdout:\n{stdout[-2000:]}\nstderr:\n{stderr[-2000:]}"
    assert code == 2, report
    assert "Traceback" not in stderr, report
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("cinev4: error: ") for line in lines), report
    assert must_show in stdout + stderr, report


def _check_target(runner: Callable[[list[str]], tuple[int, str, str]], root: Path, target: str, raw: bytes) -> None:
    relative, command, must_show = TARGETS[target]
    with _in_place(root, relative, raw):
        _assert_refused(*runner([*command, "--project", str(root)]), must_show)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(sorted(TARGETS)), data=st.data())
def test_generated_documents_through_the_cli(fuzz_project: Path, target: str, data: st.DataObject) -> None:
    raw = data.draw(document_bytes(always_bad_json=target == "qc"))
    _check_target(_run_in_process, fuzz_project, target, raw)


def _run_real(args: list[str]) -> tuple[int, str, str]:
    result = run_cli(*args, cwd=Path.cwd(), expect=None, timeout=60)
    return result.returncode, result.stdout, result.stderr


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(sorted(TARGETS)), data=st.data())
def test_generated_documents_through_the_real_executable(fuzz_project: Path, target: str,
                                                          data: st.DataObject) -> None:
    raw = data.draw(document_bytes(always_bad_json=target == "qc"))
    _check_target(_run_real, fuzz_project, target, raw)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_through_the_cli(fuzz_project: Path, path: Path) -> None:
    raw = path.read_bytes()
    _check_target(_run_real, fuzz_project, "manifest", raw)  # the real executable, once per file
    for target in ("shot", "project") + (("qc",) if path in BAD_JSON else ()):
        _check_target(_run_in_process, fuzz_project, target, raw)


def test_fixture_project_is_intact_after_the_examples(fuzz_project: Path) -> None:
    """Each example put the original document back: the project still verifies."""
    run_cli("verify", "SH010", cwd=fuzz_project)
