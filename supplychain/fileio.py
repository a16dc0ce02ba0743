"""Small file helpers shared by every layer: atomic writes and friendly reads."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from supplychain.errors import InputError

# (st_dev, st_ino) of every file a CLI command read as input: its output must not replace one
# (`sbom composer . -o composer.lock`, `sign blob f --bundle f`), except where a command
# rewrites its inputs on purpose (`pin`). Only the CLI turns this on (one command per process).
_INPUTS: set[tuple[int, int]] = set()
_TRACK_INPUTS = False


def track_inputs() -> None:
    """Called by the CLI entry point: from now on outputs may not replace files read as input."""
    global _TRACK_INPUTS
    _TRACK_INPUTS = True


def note_input(fileno_or_path: int | str | os.PathLike[str]) -> None:
    """Remember a file (open descriptor or path) as an input of this command (CLI only)."""
    if not _TRACK_INPUTS:
        return
    with contextlib.suppress(OSError):
        st = os.fstat(fileno_or_path) if isinstance(fileno_or_path, int) else os.stat(fileno_or_path)
        if stat.S_ISREG(st.st_mode):
            _INPUTS.add((st.st_dev, st.st_ino))


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = None,
                 may_replace_input: bool = False) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename.

    An interrupted run never leaves a half-written file, and an existing file is only
    replaced once the new content is complete on disk.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, mode=mode, may_replace_input=may_replace_input) as fh:
        try:
            fh.write(raw)
        except OSError as exc:  # e.g. the file system is full: the temp file is removed
            raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], *, mode: int | None = None,
                may_replace_input: bool = False) -> Iterator[IO[bytes]]:
    """Context manager yielding a binary file that replaces ``path`` only on success.

    A symbolic link is followed: the file it points to is replaced and the link stays a link.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError(f"{target}: is a directory, expected a file name to write")
    if st is not None and not may_replace_input and (st.st_dev, st.st_ino) in _INPUTS:
        raise InputError(f"{target}: is an input of this command; writing the output there would destroy it",
                         hint="choose another output file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # A device or FIFO (/dev/null, /dev/stdout, a pipe): renaming over it would replace
        # the device node with a regular file. Write straight into it instead.
        try:
            with open(target, "wb") as direct:
                yield direct
        except OSError as exc:
            raise InputError(f"{target}: cannot write: {exc.strerror}") from exc
        return
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{target}: cannot write: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from exc
    if mode is None:
        # mkstemp makes 0600 files: keep the mode of the file replaced, else what open() would give
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    try:
        fh = os.fdopen(fd, "wb")
        try:
            yield fh
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:  # e.g. the file system is full
                raise InputError(f"{target}: cannot write: {exc.strerror}") from exc
        finally:
            with contextlib.suppress(OSError):  # a failed flush is reported above; the fd is closed anyway
                fh.close()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (threads may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_output(data: bytes | str, output: str | None) -> None:
    """Write to ``output`` atomically, or to stdout when ``output`` is None or '-'."""
    if output is None or output == "-":
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise InputError(f"standard output: cannot write: {exc.strerror}") from exc
    else:
        atomic_write(output, data)


def read_bytes(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None,
               hint: str | None = None, source: str | None = None) -> bytes:
    """Read a file, turning OS errors into InputError naming the path (or ``source``).

    With ``limit``, never reads more than ``limit + 1`` bytes, even if the file grows while read;
    ``hint`` goes with the too-large error.
    """
    if str(path) == STDIN:
        return _read_stdin(what=what, limit=limit, hint=hint)
    p = Path(path)
    name = source or str(p)
    too_large = f"{name}: {what} is too large (larger than {limit} bytes)"
    try:
        if limit is not None and p.stat().st_size > limit:
            raise InputError(too_large, hint=hint)
        with open(p, "rb") as fh:
            note_input(fh.fileno())
            raw = fh.read() if limit is None else fh.read(limit + 1)
    except FileNotFoundError as exc:
        raise InputError(f"{name}: no such {what}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{name}: is a directory, expected a {what}") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: permission denied") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    if limit is not None and len(raw) > limit:
        raise InputError(too_large, hint=hint)
    return raw


STDIN = "-"  # a file argument "-" is standard input (a file named "-" is ./-)
_stdin_data: bytes | None = None


def _read_stdin(*, what: str, limit: int | None, hint: str | None) -> bytes:
    """Standard input as a file argument ``-``: read once, then the same bytes for every later ``-``
    of the process (a command that reads its input twice sees the same document)."""
    global _stdin_data
    if _stdin_data is None:
        import sys

        try:
            _stdin_data = sys.stdin.buffer.read() if limit is None else sys.stdin.buffer.read(limit + 1)
        except (OSError, ValueError, AttributeError) as exc:
            raise InputError(f"-: cannot read standard input as the {what}: {exc}") from None
    if limit is not None and len(_stdin_data) > limit:
        raise InputError(f"-: {what} on standard input is too large (larger than {limit} bytes)", hint=hint)
    return _stdin_data


def load_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """Parse a JSON file; errors name the file, line and column."""
    raw = read_bytes(path, what=what)
    return parse_json(raw, source=str(path))


def parse_json(raw: bytes | str, *, source: str) -> Any:
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not valid UTF-8 (byte {exc.start})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # e.g. an integer with more digits than int() accepts
        raise InputError(f"{source}: invalid JSON: {str(exc).split(';')[0]}") from exc
    except RecursionError as exc:
        raise InputError(f"{source}: invalid JSON: nested too deeply") from exc
    if _SURROGATE_ESCAPE.search(text):
        _reject_lone_surrogates(doc, source)
    return doc


# A \uD800-\uDFFF escape: json.loads turns a pair into one character but keeps a lone one,
# which can then never be written out as UTF-8. Only documents with such an escape are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_lone_surrogates(doc: Any, source: str) -> None:
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(
                    f"{source}: invalid JSON: string {value[:40]!r} holds a lone UTF-16 surrogate "
                    f"escape (\\u{ord(value[exc.start]):04x}), which is not Unicode text"
                ) from exc
