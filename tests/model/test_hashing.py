"""The parallel segment hasher gives exactly hashlib's / blake3's digests, whatever the scheduling."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError, VerificationError
from supplychain.signing import hashing
from supplychain.signing.model_manifest import manifest_from_statement


def _ref(data: bytes, alg: str) -> bytes:
    if alg == "blake3":
        return blake3.blake3(data).digest()
    return hashlib.new(alg, data).digest()


@pytest.mark.parametrize("alg", ["sha256", "blake3", "blake2b"])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("mmap_windows", [True, False])
def test_files_and_shards_match_reference(tmp_path: Path, alg: str, threads: int, mmap_windows: bool) -> None:
    sizes = [0, 1, 4095, 300_000, 1_048_577, 2_500_000]
    blobs = []
    segments = []
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        p = tmp_path / f"f{i}"
        p.write_bytes(data)
        blobs.append(data)
        segments.append(hashing.Segment(str(p), 0, size))
    # shards of the largest file, including an unaligned start
    big = tmp_path / "f5"
    for start, end in ((0, 1_000_000), (1_000_000, 1_234_567), (1_234_567, 2_500_000)):
        segments.append(hashing.Segment(str(big), start, end))
        blobs.append(blobs[5][start:end])
    got = hashing.hash_segments(segments, alg, threads=threads, chunk_size=300_000, mmap_windows=mmap_windows)
    assert got == [_ref(b, alg) for b in blobs]


def test_progress_reports_total(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(os.urandom(3_000_000))
    seen: list[tuple[int, int]] = []
    hashing.hash_segments([hashing.Segment(str(p), 0, 3_000_000)], chunk_size=1 << 20,
                          progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3_000_000, 3_000_000)


def test_unreadable_and_shrunk_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing"):
        hashing.hash_segments([hashing.Segment(str(tmp_path / "missing"), 0, 10)])
    p = tmp_path / "short"
    p.write_bytes(b"x" * 1000)
    with pytest.raises(InputError, match="shrank"):
        hashing.hash_segments([hashing.Segment(str(p), 0, 5000)], threads=2)


def test_unknown_algorithm() -> None:
    with pytest.raises(InputError, match="unsupported hash algorithm"):
        hashing.check_algorithm("md5")


# --- the signed-manifest parser takes hostile input ------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)

statement_like = st.fixed_dictionaries(
    {
        "_type": st.sampled_from(["https://in-toto.io/Statement/v1", "x"]),
        "subject": st.lists(st.fixed_dictionaries({"name": st.text(max_size=10),
                                                   "digest": st.dictionaries(st.just("sha256"),
                                                                             st.text(max_size=64))}),
                            max_size=3) | json_values,
        "predicateType": st.sampled_from(["https://model_signing/signature/v1.0",
                                          "https://model_signing/Digests/v0.1", "other"]),
        "predicate": st.fixed_dictionaries({
            "serialization": st.fixed_dictionaries({
                "method": st.sampled_from(["files", "shards", "x"]),
                "hash_type": st.sampled_from(["sha256", "blake3", "md5"]),
                "shard_size": st.integers(-5, 10**9) | st.floats(allow_nan=False) | st.text(max_size=3),
                "allow_symlinks": st.booleans() | st.text(max_size=5),
                "ignore_paths": st.lists(st.text(max_size=8), max_size=3) | json_values,
            }) | json_values,
            "resources": st.lists(st.fixed_dictionaries({"name": st.text(max_size=12), "algorithm": st.text(max_size=8),
                                                         "digest": st.text("0123456789abcdefg", max_size=64)})
                                  | json_values, max_size=4) | json_values,
        }) | json_values,
    }
)


@settings(max_examples=150, deadline=None)
@given(statement_like | json_values)
def test_manifest_parser_never_crashes(stmt: object) -> None:
    try:
        man = manifest_from_statement(stmt, source="fuzz")
    except VerificationError:
        return
    man.ordered()
    man.root_digest()
