"""The squashed root filesystem of an image, built by streaming each layer once.

Whiteouts (``.wh.NAME``) and opaque directories (``.wh..wh..opq``) are applied, only the
paths ``select`` wants are kept, and every layer is treated as hostile: paths are
normalised inside the root, links are resolved inside the root (loops cut off), device
files and fifos are ignored, oversized members are only hashed, and the total amount
of decompressed data is bounded. Anything skipped is noted in ``MemoryTree.notes``.
"""

from __future__ import annotations

import bisect
import hashlib
import posixpath
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

from supplychain.errors import InputError, VerificationError
from supplychain.oci.descriptor import Descriptor
from supplychain.oci.fs import MAX_CONTENT, Analyze, Analyzer, FileEntry, MemoryTree, Select, Want, normpath
from supplychain.oci.image import Image
from supplychain.oci.tarstream import BLOCKDEV, CHAR, DIRECTORY, FIFO, HARDLINK, SYMLINK, TarStream

GiB = 1 << 30

# progress(done_bytes, total_bytes, label): compressed bytes read so far over all layers
Progress = Callable[[int, int, str], None]


class LayerWatch(Protocol):
    """Told where the one layer pass is, for checks that need the layer of what they see (a
    secret deleted by a later layer is still shipped in its own) and directory owners."""

    def begin_layer(self, index: int, desc: Descriptor) -> None:
        """Layer ``index`` (0 = bottom) starts streaming; ``analyze`` calls that follow are its files."""

    def directory(self, path: str, mode: int, uid: int, gid: int) -> None:
        """A directory member of the current layer (uid / gid -1 when the header has none)."""

    def end_layer(self, index: int, desc: Descriptor, files: Mapping[str, FileEntry]) -> None:
        """Layer ``index`` is applied: ``files`` is the squashed view so far (read only)."""


@dataclass
class Limits:
    """Bounds for hostile layers. Raise them for unusual but legitimate images."""

    max_total_bytes: int = 48 * GiB  # decompressed bytes over all layers
    # decompressed / compressed bytes over the image, checked once past ratio_floor. Real
    # layers compress 2-10x; gzip cannot exceed ~1030x, so a bomb trips this long before
    # max_total_bytes.
    max_ratio: int = 250
    ratio_floor: int = 2 * GiB
    max_kept_bytes: int = 4 * GiB  # file contents kept in memory over the whole tree
    max_members: int = 5_000_000  # tar members per layer
    max_notes_examples: int = 3


@dataclass
class _LayerNotes:
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str, limit: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        ex = self.examples.setdefault(kind, [])
        if len(ex) < limit:
            ex.append(example)


_NOTE_TEXT = {
    "outside": "member path(s) outside the image root were kept inside it",
    "device": "device file(s) / fifo(s) ignored",
    "sparse": "GNU sparse file(s) ignored",
    "huge": f"file(s) larger than {MAX_CONTENT} bytes only hashed, content not kept",
    "budget": "file(s) only hashed because the in-memory content budget was used up",
    "hardlink": "hardlink(s) to files that were not read; their content is unavailable",
    "symlink-escape": "symlink(s) pointing outside the image; resolved inside the root",
    "trailing": "stretch(es) of data after the end of the tar archive ignored",
    "analyze": "file(s) that could not be analyzed (corrupt or hostile content), skipped",
}


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class _Budget:
    def __init__(self, limits: Limits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.decompressed = 0
        self.compressed = 0  # updated from the raw reader
        self.on_add: Callable[[], None] | None = None

    def add(self, n: int) -> None:
        self.decompressed += n
        if self.on_add is not None:
            self.on_add()
        lim = self.limits
        if self.decompressed > lim.max_total_bytes:
            raise InputError(
                f"{self.what}: layers decompress to more than {lim.max_total_bytes} bytes; refusing "
                "(possible decompression bomb)",
                hint="raise Limits.max_total_bytes if this image is really that large",
            )
        if self.decompressed > lim.ratio_floor and self.decompressed > lim.max_ratio * max(self.compressed, 1):
            raise InputError(
                f"{self.what}: layer decompresses more than {lim.max_ratio}x its compressed size; refusing "
                "(possible decompression bomb)",
                hint="raise Limits.max_ratio if this image is legitimate",
            )


def squash(image: Image, select: Select, *, progress: Progress | None = None,
           limits: Limits | None = None, analyze: Analyze | None = None,
           watch: LayerWatch | None = None) -> MemoryTree:
    """Stream every layer of ``image`` once, in order, and return the squashed view of
    the files ``select`` wants (plus every symlink and hardlink).

    ``analyze(path, mode, size)`` may hand a regular file's bytes, as they stream, to an
    analyzer; a file it returns facts for is kept (facts only, no bytes) in the same pass.
    ``watch`` is told when each layer begins and ends and sees every directory member."""
    limits = limits or Limits()
    tree = MemoryTree()
    total = sum(d.size for d in image.layers)
    done = 0
    last_report = 0
    budget = _Budget(limits, image.source)
    kept_bytes = [0]
    files: dict[str, FileEntry] = {}
    links: dict[str, str] = {}
    hardlinks: dict[str, str] = {}

    def on_read(n: int) -> None:  # may run in the decompression thread: only count here
        nonlocal done
        done += n
        budget.compressed += n

    if progress is not None:
        callback = progress

        def report() -> None:  # runs in the calling thread, as the tar stream is consumed
            nonlocal last_report
            if done - last_report >= (4 << 20):
                last_report = done
                callback(done, total, label)

        budget.on_add = report

    label = ""
    for index, desc in enumerate(image.layers):
        label = f"layer {index + 1}/{len(image.layers)} {_short(desc.digest)}"
        if progress is not None:
            progress(done, total, label)
        notes = _LayerNotes()
        upper_files: dict[str, FileEntry] = {}
        upper_links: dict[str, str] = {}
        upper_hard: dict[str, str] = {}
        whiteouts: list[str] = []
        opaques: list[str] = []
        replaced_exact: set[str] = set()
        replaced_tree: list[str] = []
        lower_dirs = _ancestors(files, links, hardlinks)
        aliases = _LinkAliases(links)
        what = f"{image.source}: layer {desc.digest}"
        if watch is not None:
            watch.begin_layer(index, desc)
        stream = image.open_layer(desc, on_read)
        try:
            _read_layer(stream, what, desc, select, limits, budget, kept_bytes, notes, files,
                        upper_files, upper_links, upper_hard, whiteouts, opaques, replaced_exact,
                        replaced_tree, lower_dirs, links, aliases, analyze, watch)
        except InputError:
            stream.close()
            _reverify(image, desc)  # a tampered blob reports as a digest mismatch
            raise
        except _decompression_errors() as exc:
            stream.close()
            _reverify(image, desc)
            raise InputError(f"{what}: corrupt layer ({type(exc).__name__}: {exc})") from exc
        finally:
            stream.close()
        # apply this layer's deletions to the lower layers, then lay it on top
        deletions = [(p, True) for p in whiteouts] + [(p, False) for p in opaques] + \
                    [(p, False) for p in replaced_tree]
        if deletions:
            for store in (files, links, hardlinks):
                _delete_prefixes(store, deletions)
        for p in replaced_exact:
            files.pop(p, None)
            links.pop(p, None)
            hardlinks.pop(p, None)
        for p in upper_files:
            links.pop(p, None)
        for p in upper_links:
            files.pop(p, None)
            hardlinks.pop(p, None)
        files.update(upper_files)
        links.update(upper_links)
        hardlinks.update(upper_hard)
        if watch is not None:
            watch.end_layer(index, desc, files)
        for kind, count in notes.counts.items():
            ex = ", ".join(notes.examples.get(kind, []))
            tree.notes.append(f"layer {_short(desc.digest)}: {count} {_NOTE_TEXT[kind]} (e.g. {ex})")
    if progress is not None:
        progress(done, total, "done")
    tree.files = files
    tree.links = links
    tree.hardlinks = hardlinks
    _note_link_problems(tree, limits)
    return tree


class _LinkAliases:
    """Which symlinks point at a path, so a file is kept when a cataloger wants it under a
    symlinked name (``/etc/os-release`` -> ``../usr/lib/os-release``, ``/lib`` -> ``usr/lib``).
    Follows one link per path prefix, at most two deep; symlinks the tar lists after their
    target are not seen for that target."""

    def __init__(self, links: dict[str, str]) -> None:
        self._by_target: dict[str, list[str]] = {}
        for path, target in links.items():
            self.add(path, target)

    def __bool__(self) -> bool:
        return bool(self._by_target)

    def add(self, path: str, target: str) -> None:
        base = target if target.startswith("/") else posixpath.join(posixpath.dirname(path), target)
        resolved = normpath(base)
        if resolved != path and resolved != "/":
            names = self._by_target.setdefault(resolved, [])
            if len(names) < 8:  # bounded: a hostile layer may point thousands of links at one dir
                names.append(path)

    def names(self, path: str, depth: int = 0) -> list[str]:
        out: list[str] = []
        by_target = self._by_target
        end = len(path)
        while end > 0:  # "/a/b/c", "/a/b", "/a" (never "/")
            links = by_target.get(path[:end])
            if links:
                rest = path[end:]
                for link in links:
                    alias = link + rest
                    out.append(alias)
                    if depth < 1:
                        out.extend(self.names(alias, depth + 1))
            end = path.rfind("/", 0, end)
        return out

    def want(self, path: str, select: Select) -> Want:
        best = Want.SKIP
        for alias in self.names(path)[:16]:
            w = select(alias)
            if w == Want.CONTENT:
                return w
            best = max(best, w)
        return best


def _decompression_errors() -> tuple[type[BaseException], ...]:
    """What a corrupt compressed stream raises (gzip via isal, zlib, zstd)."""
    errors: list[type[BaseException]] = [OSError, EOFError, zlib.error]
    try:
        from isal import isal_zlib

        errors.append(cast(type[BaseException], isal_zlib.error))
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


def _reverify(image: Image, desc: Descriptor) -> None:
    try:
        with image.open_blob(desc) as fh:
            fh.drain()
    except VerificationError:
        raise
    except Exception:
        return


def _ancestors(*stores: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for store in stores:
        for p in store:
            end = p.rfind("/")
            while end > 0:
                d = p[:end]
                if d in out:
                    break
                out.add(d)
                end = p.rfind("/", 0, end)
    return out


def _delete_prefixes(store: dict[str, Any], deletions: list[tuple[str, bool]]) -> None:
    """Delete keys under each prefix (and the prefix itself when its flag is set)."""
    if not store:
        return
    keys = sorted(store)
    doomed: list[str] = []
    for path, exact in deletions:
        if exact and path in store:
            doomed.append(path)
        prefix = path.rstrip("/") + "/"
        i = bisect.bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            doomed.append(keys[i])
            i += 1
    for k in doomed:
        store.pop(k, None)


def _read_layer(stream: IO[bytes], what: str, desc: Descriptor, select: Select, limits: Limits,
                budget: _Budget, kept_bytes: list[int], notes: _LayerNotes, lower_files: dict[str, FileEntry],
                upper_files: dict[str, FileEntry], upper_links: dict[str, str], upper_hard: dict[str, str],
                whiteouts: list[str], opaques: list[str], replaced_exact: set[str], replaced_tree: list[str],
                lower_dirs: set[str], lower_links: dict[str, str], aliases: _LinkAliases,
                analyze: Analyze | None = None, watch: LayerWatch | None = None) -> None:
    tar = TarStream(stream, what, budget.add)
    ex_limit = limits.max_notes_examples
    count = 0
    layer = desc.digest
    for m in tar:
        count += 1
        if count > limits.max_members:
            raise InputError(f"{what}: more than {limits.max_members} members in one layer; refusing")
        raw = m.name
        path = normpath(raw)
        if raw.startswith("/") or ".." in raw.split("/"):
            notes.add("outside", raw[:200], ex_limit)
        if path == "/":
            continue
        cut = path.rfind("/")
        parent, base = path[:cut] or "/", path[cut + 1 :]
        if base.startswith(".wh."):
            if base == ".wh..wh..opq":
                opaques.append(parent)
            elif not base.startswith(".wh..wh."):
                target = posixpath.join(parent, base[4:])
                whiteouts.append(target)
                upper_files.pop(target, None)
                upper_links.pop(target, None)
                upper_hard.pop(target, None)
            continue
        typ = m.type
        if typ != DIRECTORY:
            if path in lower_dirs:
                replaced_tree.append(path)
        if path in lower_files or path in lower_links:
            replaced_exact.add(path)
        if m.is_file and not m.sparse:
            upper_links.pop(path, None)
            upper_hard.pop(path, None)
            want = select(path)
            if want == Want.SKIP and aliases:
                want = aliases.want(path, select)
            analyzer = analyze(path, m.mode, m.size) if analyze is not None else None
            if want == Want.SKIP:
                upper_files.pop(path, None)
                if analyzer is not None:
                    facts = _run_analyzer(analyzer, tar.iter_data(m), path, notes, ex_limit)
                    if facts is not None:
                        upper_files[path] = FileEntry(path=path, size=m.size, layer=layer, mode=m.mode, facts=facts)
                continue
            entry = FileEntry(path=path, size=m.size, layer=layer, mode=m.mode)
            if want == Want.CONTENT and m.size <= MAX_CONTENT and kept_bytes[0] + m.size <= limits.max_kept_bytes:
                entry.data = tar.read_data(m)
                kept_bytes[0] += m.size
                if analyzer is not None:
                    entry.facts = _run_analyzer(analyzer, iter((entry.data,)), path, notes, ex_limit)
            else:
                if want == Want.CONTENT:
                    notes.add("huge" if m.size > MAX_CONTENT else "budget", path, ex_limit)
                h = hashlib.sha256()
                if analyzer is not None:
                    entry.facts = _run_analyzer(analyzer, _hashing(tar.iter_data(m), h), path, notes, ex_limit)
                else:
                    for chunk in tar.iter_data(m):
                        h.update(chunk)
                entry.sha256 = h.hexdigest()
            upper_files[path] = entry
        elif typ == SYMLINK:
            upper_files.pop(path, None)
            upper_hard.pop(path, None)
            target = m.linkname
            if _escapes(parent, target):
                notes.add("symlink-escape", f"{path} -> {target}"[:200], ex_limit)
            upper_links[path] = target
            aliases.add(path, target)
        elif typ == HARDLINK:
            upper_links.pop(path, None)
            target = normpath(m.linkname)
            upper_hard[path] = target
            src = upper_files.get(target) or lower_files.get(target)
            if src is not None:
                upper_files[path] = FileEntry(path=path, size=src.size, layer=layer, data=src.data,
                                              sha256=src.sha256, mode=src.mode, facts=src.facts)
            else:
                upper_files.pop(path, None)
                if select(path) != Want.SKIP:
                    notes.add("hardlink", f"{path} -> {target}", ex_limit)
        elif typ in (CHAR, BLOCKDEV, FIFO):
            upper_files.pop(path, None)
            upper_links.pop(path, None)
            if not path.startswith("/dev/"):
                # device nodes under /dev are normal in a base root filesystem: not news
                notes.add("device", path, ex_limit)
        elif m.sparse:
            upper_files.pop(path, None)
            notes.add("sparse", path, ex_limit)
        elif typ == DIRECTORY:
            upper_files.pop(path, None)
            upper_links.pop(path, None)
            upper_hard.pop(path, None)
            if watch is not None:
                watch.directory(path, m.mode, m.uid, m.gid)
        # other types (GNU dumpdir, volume labels, ...) carry nothing we keep
    if tar.drain():
        notes.add("trailing", "after the end-of-archive marker", ex_limit)


def _hashing(chunks: Iterator[bytes], h: Any) -> Iterator[bytes]:
    for chunk in chunks:
        h.update(chunk)
        yield chunk


def _run_analyzer(analyzer: Analyzer, chunks: Iterator[bytes], path: str, notes: _LayerNotes,
                  ex_limit: int) -> Any:
    """Facts from ``analyzer`` over ``chunks``; the member is always read to its end (the tar
    stream must stay in step), whatever the analyzer does. Our own InputError (a truncated
    archive, a bomb limit) propagates; an analyzer's failure on odd bytes is a note."""
    feed = _Feed(chunks)
    try:
        facts = analyzer(feed)
    except Exception as exc:
        if feed.error is not None:  # the layer stream failed (truncated, corrupt, bomb): not the file
            raise
        notes.add("analyze", f"{path} ({type(exc).__name__})"[:200], ex_limit)
        facts = None
    for _ in feed:  # drain what the analyzer did not read
        pass
    return facts


class _Feed:
    """The chunks of one member; remembers whether reading them (not analyzing them) failed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            raise


def _escapes(parent: str, target: str) -> bool:
    """A relative symlink target that climbs above the root from ``parent``."""
    if target.startswith("/"):
        return False
    depth = len([p for p in parent.split("/") if p])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _note_link_problems(tree: MemoryTree, limits: Limits) -> None:
    loops: list[str] = []
    for path in sorted(tree.links):
        seen: set[str] = set()
        cur = path
        for _ in range(41):
            if cur in seen:
                loops.append(path)
                break
            seen.add(cur)
            target = tree.links.get(cur)
            if target is None:
                break
            base = target if target.startswith("/") else posixpath.join(posixpath.dirname(cur), target)
            cur = normpath(base)
        else:
            loops.append(path)
    if loops:
        ex = ", ".join(loops[: limits.max_notes_examples])
        tree.notes.append(f"{len(loops)} symlink(s) form loops and resolve to nothing (e.g. {ex})")
