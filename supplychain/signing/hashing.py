"""Fast, bounded-memory, parallel hashing of file segments (whole files or shards of files).

Every core works: a pool of worker threads hashes *segments* (a whole file, or one
``[start, end)`` shard of a file). A digest over one segment is inherently sequential, so the
scheduler interleaves segments: each worker repeatedly takes the idle segment with the most bytes
left, reads one chunk of it with ``os.preadv`` into the worker's own preallocated buffer and feeds
it to that segment's hash object. hashlib and blake3 release the GIL while hashing large buffers,
so the threads really run in parallel. The time to hash a model is therefore about
``max(largest segment, total / cores) / per-core speed``; memory is ``threads x chunk size``
(the page cache is not mapped into the process, so peak RSS stays far below the model size).

Algorithms: ``sha256`` (default, what every model_signing version computes), ``blake3`` (the
whole-file BLAKE3 digest model_signing computes; blake3's own threads split a file that is more
than one core's share of the work),
``blake2b`` (verification of older signatures only).

This module imports nothing above ``supplychain.errors`` and nothing heavy.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from supplychain.errors import InputError

ALGORITHMS = ("sha256", "blake3")
VERIFY_ALGORITHMS = ("sha256", "blake3", "blake2b")

DEFAULT_CHUNK = 8 << 20
BLAKE3_CHUNK = 16 << 20
_MMAP_MIN = 256 << 10
_MMAP_FLAGS: int | None = (mmap.MAP_SHARED | mmap.MAP_POPULATE) if hasattr(mmap, "MAP_POPULATE") else None

ProgressFn = Callable[[int, int], None]


class _Hasher(Protocol):
    def update(self, data: Any, /) -> object: ...

    def digest(self) -> bytes: ...


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start, end)`` of ``path`` (an absolute or cwd-relative filesystem path)."""

    path: str
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_algorithm(name: str, *, verifying: bool = False) -> str:
    allowed = VERIFY_ALGORITHMS if verifying else ALGORITHMS
    if name not in allowed:
        raise InputError(f"unsupported hash algorithm {name!r}", hint="use one of " + ", ".join(allowed))
    return name


def new_hasher(algorithm: str, *, threads: int = 1) -> _Hasher:
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake2b":
        return hashlib.blake2b()
    if algorithm == "blake3":
        import blake3

        h: _Hasher = blake3.blake3(max_threads=threads if threads > 1 else 1)
        return h
    raise InputError(f"unsupported hash algorithm {algorithm!r}")


@dataclass
class _Stream:
    index: int
    seg: Segment
    pos: int
    hasher: _Hasher
    fd: int = -1
    busy: bool = False
    done: bool = False

    @property
    def remaining(self) -> int:
        return self.seg.end - self.pos


@dataclass
class _State:
    pending: list[_Stream]  # not yet started, largest last (pop() takes the largest)
    active: list[_Stream] = field(default_factory=list)
    error: BaseException | None = None
    done_bytes: int = 0
    last_report: float = 0.0


def hash_segments(
    segments: Sequence[Segment],
    algorithm: str = "sha256",
    *,
    threads: int | None = None,
    chunk_size: int | None = None,
    progress: ProgressFn | None = None,
    mmap_windows: bool = True,
) -> list[bytes]:
    """Digest of every segment, in input order, hashed in parallel by ``threads`` workers.

    Raises InputError naming the file when a file cannot be read or changes size while hashing.
    """
    check_algorithm(algorithm, verifying=True)
    n_threads = threads or default_threads()
    chunk = chunk_size or (BLAKE3_CHUNK if algorithm == "blake3" else DEFAULT_CHUNK)
    use_mmap = mmap_windows and _MMAP_FLAGS is not None
    total = sum(s.size for s in segments)
    digests: list[bytes | None] = [None] * len(segments)
    # Interleaving segments keeps every core busy unless one segment is more than a core's share
    # of the work; blake3 can split such a segment over its own threads (sha256 cannot).
    # Single-threaded blake3 objects are faster otherwise (no cross-thread joins).
    share = total / n_threads

    def hasher_for(seg: Segment) -> _Hasher:
        big = algorithm == "blake3" and n_threads > 1 and seg.size > share
        return new_hasher(algorithm, threads=n_threads if big else 1)

    streams = [_Stream(i, s, s.start, hasher_for(s)) for i, s in enumerate(segments)]
    for st in streams:
        if st.seg.size <= 0:
            digests[st.index] = st.hasher.digest()
            st.done = True
    work = sorted((s for s in streams if not s.done), key=lambda s: (s.seg.size, -s.index))
    state = _State(pending=work)
    # Interleave at most this many segments at once: enough to keep every worker busy, few
    # enough to bound open files.
    window = max(2 * n_threads, 2)
    cond = threading.Condition()

    def take() -> _Stream | None:
        with cond:
            while True:
                if state.error is not None:
                    return None
                while len(state.active) < window and state.pending:
                    state.active.append(state.pending.pop())
                idle = [s for s in state.active if not s.busy]
                if idle:
                    best = max(idle, key=lambda s: s.remaining)
                    best.busy = True
                    return best
                if not state.active:
                    return None
                cond.wait()

    def release(st: _Stream, n: int) -> None:
        with cond:
            st.busy = False
            state.done_bytes += n
            if st.done:
                state.active.remove(st)
            cond.notify_all()
            if progress is not None:
                now = time.monotonic()
                if now - state.last_report >= 0.1 or (not state.active and not state.pending):
                    state.last_report = now
                    progress(state.done_bytes, total)

    def worker() -> None:
        buf = bytearray(_MMAP_MIN if use_mmap else chunk)
        view = memoryview(buf)
        while True:
            st = take()
            if st is None:
                return
            n = 0
            try:
                if st.fd < 0:
                    try:
                        st.fd = os.open(st.seg.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                    except OSError as exc:
                        raise InputError(f"{st.seg.path}: cannot read: {exc.strerror}") from exc
                want = min(chunk, st.remaining)
                n = _mapped_update(st, want) if use_mmap and want >= _MMAP_MIN else -1
                if n < 0:
                    n = os.preadv(st.fd, [view[:want]], st.pos)
                    if n > 0:
                        st.hasher.update(view[:n])
                if n <= 0:
                    raise InputError(
                        f"{st.seg.path}: file shrank while it was being hashed",
                        hint="do not modify the model while signing or verifying it",
                    )
                st.pos += n
                if st.remaining <= 0:
                    digests[st.index] = st.hasher.digest()
                    st.done = True
                    os.close(st.fd)
                    st.fd = -1
            except BaseException as exc:
                with cond:
                    if state.error is None:
                        state.error = exc
                    st.busy = False
                    cond.notify_all()
                return
            release(st, n)

    try:
        if len(work) == 0:
            pass
        elif n_threads == 1:
            worker()
        else:
            pool = [threading.Thread(target=worker, name=f"hash-{i}", daemon=True) for i in range(n_threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
    finally:
        for st in streams:
            if st.fd >= 0:
                os.close(st.fd)
                st.fd = -1
    if state.error is not None:
        if isinstance(state.error, OSError):
            raise InputError(f"cannot read model files: {state.error}") from state.error
        raise state.error
    out: list[bytes] = []
    for i, d in enumerate(digests):
        if d is None:  # pragma: no cover - every stream finishes or an error was raised
            raise RuntimeError(f"segment {segments[i].path} was not hashed")
        out.append(d)
    return out


def _mapped_update(st: _Stream, want: int) -> int:
    """Hash the next ``want`` bytes of ``st`` through a short-lived read-only mapping.

    Mapping a window of the page cache saves the copy ``pread`` makes (about a fifth of the CPU
    time of sha256); the window is unmapped right away, so memory stays bounded. Returns -1 when
    the file cannot be mapped (the caller falls back to ``pread``). The file size is checked
    before every window: touching a mapping past the end of a file that shrank would be fatal.
    """
    if os.fstat(st.fd).st_size < st.pos + want:
        raise InputError(f"{st.seg.path}: file shrank while it was being hashed",
                         hint="do not modify the model while signing or verifying it")
    aligned = st.pos - st.pos % mmap.ALLOCATIONGRANULARITY
    skip = st.pos - aligned
    try:
        assert _MMAP_FLAGS is not None
        m = mmap.mmap(st.fd, skip + want, flags=_MMAP_FLAGS, prot=mmap.PROT_READ, offset=aligned)
    except (OSError, ValueError, OverflowError):
        return -1
    try:
        with memoryview(m) as whole, whole[skip:] as part:
            st.hasher.update(part)
    finally:
        m.close()
    return want


def hash_file(path: str, algorithm: str = "sha256", *, threads: int | None = None) -> bytes:
    """Digest of one whole file."""
    size = os.stat(path).st_size
    return hash_segments([Segment(path, 0, size)], algorithm, threads=threads)[0]
