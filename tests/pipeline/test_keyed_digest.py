"""The journal's and the staging records' keyed checksum (``keyfiles.keyed_digest``):
HMAC-SHA256 over the engine's SHA-256, checked against the standard library's hmac, the
reference here and never used by the package (importing it loads OpenSSL)."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cinev4.pipeline.keyfiles import keyed_digest, same_digest

# RFC 4231 section 4: test cases 1, 2, 4, 6 and 7 (3 and 5 need no more than these cover:
# 5 is a truncated output, which cinev4 never uses).
RFC_4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
     b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


def test_rfc_4231_vectors() -> None:
    for key, message, expected in RFC_4231:
        assert keyed_digest(key, message) == expected


def test_every_key_length_around_the_block() -> None:
    message = b"cinev4 stage record"
    for length in range(0, 140):
        key = bytes((7 * i + length) % 256 for i in range(length))
        assert keyed_digest(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest(), length


@given(key=st.binary(max_size=200), message=st.binary(max_size=3000))
def test_random_keys_and_messages_match_hmac(key: bytes, message: bytes) -> None:
    assert keyed_digest(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_same_digest_tells_equal_from_different() -> None:
    check = keyed_digest(b"k" * 32, b"body")
    assert same_digest(check, check)
    assert not same_digest(check, check[:-1] + ("0" if check[-1] != "0" else "1"))
    assert not same_digest(check, check[:10])
    assert not same_digest(check, "")
    assert not same_digest("\ud800" * 64, check)  # json.loads gives a lone surrogate from "\\ud800"
    assert not same_digest("é" * 64, check)


def test_a_staged_seal_loads_neither_openssl_tempfile_nor_the_verifier(project: Path) -> None:
    """A real staged seal in a fresh interpreter: no hashlib, hmac or secrets (OpenSSL, about
    3 ms), no tempfile or shutil (bz2, lzma: about 2.5 ms), no verifier modules (about 3 ms)."""
    import subprocess
    import sys

    from helpers import render, run_cli

    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    run_cli("stage", "SH010", *(str(p) for p in sorted(out.iterdir())), cwd=project)
    code = ("import sys\nfrom cinev4.cli import main\n"
            "try:\n    main(['manifest', 'SH010'])\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
            "print(sorted(m for m in ('hashlib', 'hmac', 'secrets', '_hashlib', 'tempfile', 'shutil',"
            " 'cinev4.pipeline.verify', 'cinev4.pipeline.journal') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    assert "manifest written" in done.stdout, done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert not (project / "shots/SH010/staging").exists()  # the records went, without shutil
