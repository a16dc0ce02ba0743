"""The squashed root filesystem of an image, built by streaming each layer once.

Whiteouts (``.wh.NAME``) and opaque directories (``.wh..wh..opq``) are applied, only the
paths ``select`` wants are kept, and every layer is treated as hostile: paths are
normalised inside the root, links are resolved inside the root (loops cut off), device
files and fifos are ignored, oversized members are only hashed, and the total amount
of decompressed data is bounded. Anything skipped is noted in ``MemoryTree.notes``.

Bounds and notes: :mod:`supplychain.oci.layer_limits` (:class:`Limits` is re-exported here);
symlinks: :mod:`supplychain.oci.layer_links`; analyzers fed while streaming:
:mod:`supplychain.oci.layer_analyze`.
"""

from __future__ import annotations

import bisect
import hashlib
import posixpath
import zlib
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol, cast

from supplychain.errors import InputError, VerificationError
from supplychain.oci.descriptor import Descriptor
from supplychain.oci.fs import MAX_CONTENT, Analyze, FileEntry, MemoryTree, Select, Want, normpath
from supplychain.oci.image import Image
from supplychain.oci.layer_analyze import _hashing, _run_analyzer
from supplychain.oci.layer_limits import _NOTE_TEXT, GiB, Limits, _Budget, _LayerNotes, _short
from supplychain.oci.layer_links import _escapes, _LinkAliases, _note_link_problems
from supplychain.oci.tarstream import BLOCKDEV, CHAR, DIRECTORY, FIFO, HARDLINK, SYMLINK, TarStream

__all__ = ["GiB", "LayerWatch", "Limits", "Progress", "squash"]


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
