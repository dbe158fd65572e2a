"""The Python API refuses the wrong types loudly: one path is not a list of paths, None is
not a buffer; ``window=`` takes the same forms as CINEV4_WINDOW."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import cinev4
from cinev4._fasthash import engine_info


@pytest.mark.parametrize("single", ["ab", b"ab", bytearray(b"ab"), Path("ab")])
def test_hash_files_refuses_one_path_for_a_list(tmp_path: Path, single: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b", "ab"):
        (tmp_path / name).write_bytes(name.encode())
    with pytest.raises(TypeError, match=rf"^paths must be an iterable of paths, not a single {type(single).__name__}; "):
        cinev4.hash_files(single)  # type: ignore[arg-type]


def test_hash_bytes_refuses_none() -> None:
    with pytest.raises(TypeError, match=r"^hash_bytes\(\) needs a bytes-like object, not None$"):
        cinev4.hash_bytes(None)  # type: ignore[arg-type]
    assert cinev4.hash_bytes(b"") == hashlib.sha256(b"").hexdigest()


def test_threads_must_be_whole(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"x")
    with pytest.raises(TypeError, match=r"^threads must be an int or None, not float$"):
        cinev4.hash_files([target], 2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^threads must be an int or None, not bool$"):
        cinev4.hash_files([target], True)


@pytest.mark.parametrize(("window", "size"), [("1M", 2**20), ("8M", 8 * 2**20), ("512k", 512 * 1024),
                                              (65536, 65536), ("131072", 131072)])
def test_window_accepts_the_variable_forms(tmp_path: Path, window: object, size: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f"
    data = bytes(range(256)) * 5000
    target.write_bytes(data)
    assert cinev4.hash_file(target, window=window).sha256 == hashlib.sha256(data).hexdigest()  # type: ignore[arg-type]
    assert cinev4.hash_files([target], window=window)[0].sha256 == hashlib.sha256(data).hexdigest()  # type: ignore[arg-type]
    monkeypatch.setenv("CINEV4_WINDOW", str(window))
    assert engine_info()["window_bytes"] == size


@pytest.mark.parametrize(("window", "error", "message"), [
    (1.5, TypeError, "window must be an int or a size text such as '8M', not float"),
    (True, TypeError, "window must be an int or a size text such as '8M', not bool"),
    ("1X", ValueError, "window '1X' is not a size (expected bytes, or a number with K, M or G, e.g. 8M)"),
    (1, ValueError, "window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not 1"),
    ("2G", ValueError, "window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not 2147483648"),
])
def test_window_refusals(tmp_path: Path, window: object, error: type[Exception], message: str) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"x")
    with pytest.raises(error) as caught:
        cinev4.hash_file(target, window=window)  # type: ignore[arg-type]
    assert str(caught.value) == message
