"""ML model files, recognised by their content -> ``machine-learning-model`` components.

A file named like a model (``*.safetensors``, ``*.gguf``, ``*.onnx``, ``*.pt``, ``*.pth``,
``*.ckpt``, ``*.bin``) is read as it streams past in the layer pass (a :class:`FileAnalyzer`:
the bytes are hashed, never kept) and becomes a component only when its first bytes say it is
one (:func:`sniff_model`):

- PyTorch: a zip archive whose first member is ``<name>/data.pkl`` (``torch.save`` since 1.6,
  TorchScript too), or a legacy pickle that starts with torch's magic number;
- safetensors: an 8-byte little-endian header length followed by the JSON header ``{"``;
- GGUF: the magic ``GGUF`` and a known version;
- ONNX: a protobuf ``ModelProto`` starting with ``ir_version`` and a known next field.

Text files never are (setuptools' ``distutils-precedence.pth`` and every other ``.pth`` path
configuration file of site-packages), nor are other ``.bin`` files (firmware, data).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import struct
from collections.abc import Iterator
from typing import Any

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package

MODEL_SUFFIXES = (".safetensors", ".gguf", ".onnx", ".pt", ".pth", ".ckpt", ".bin")
SNIFF_BYTES = 4096
_TORCH_MAGIC = b"\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"  # pickled long 0x1950a86a20f9469cfc6c
_ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})  # ModelProto fields 2..8


def _torch_zip(head: bytes) -> bool:
    if not head.startswith(b"PK\x03\x04") or len(head) < 30:
        return False
    name_len = struct.unpack_from("<H", head, 26)[0]
    name = head[30 : 30 + name_len]
    return name == b"data.pkl" or name.endswith(b"/data.pkl")


def _safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10 or size < 10:
        return False
    n = struct.unpack_from("<Q", head, 0)[0]
    if not (2 <= n <= size - 8 and n <= 100 * 1024 * 1024):
        return False
    if not head[8:10] == b'{"':
        return False
    if 8 + n <= len(head):  # the whole header is here: it must be a JSON object
        try:
            return isinstance(json.loads(head[8 : 8 + n]), dict)
        except ValueError:
            return False
    return True


def _onnx(head: bytes) -> bool:
    # field 1 (ir_version, varint): tag 0x08, a small version, then the next field's tag
    return len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 0x7F and head[2] in _ONNX_NEXT_TAGS


def sniff_model(head: bytes, size: int) -> str | None:
    """The model format of a file from its first bytes ("pytorch", "safetensors", "gguf",
    "onnx"), or None when it is not a model file we know."""
    if head.startswith(b"GGUF") and len(head) >= 8 and 1 <= struct.unpack_from("<I", head, 4)[0] <= 3:
        return "gguf"
    if _torch_zip(head):
        return "pytorch"
    if head[:1] == b"\x80" and _TORCH_MAGIC in head[:32]:
        return "pytorch"
    if _safetensors(head, size):
        return "safetensors"
    if _onnx(head):
        return "onnx"
    return None


class ModelSniffer:
    """Reads model-named files in the layer pass: ``{"format", "sha256"}`` for a model, else None."""

    key = "ml-model"

    def probe(self, path: str, mode: int, size: int) -> bool:
        return size >= 8 and path.lower().endswith(MODEL_SUFFIXES)

    def analyze(self, path: str, size: int, chunks: Iterator[bytes]) -> Any:
        h = hashlib.sha256()
        head = bytearray()
        fmt: str | None = None
        for chunk in chunks:
            if fmt is None:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) < SNIFF_BYTES and len(head) < size:
                    h.update(chunk)
                    continue
                fmt = sniff_model(bytes(head), size)
                if fmt is None:
                    return None  # not a model: stop reading
            h.update(chunk)
        if fmt is None:  # a file shorter than SNIFF_BYTES
            fmt = sniff_model(bytes(head), size)
            if fmt is None:
                return None
        return {"format": fmt, "sha256": h.hexdigest()}


_SNIFFER = ModelSniffer()


class ModelCataloger:
    name = "ml-model"
    analyzers = (_SNIFFER,)

    def wants(self, path: str) -> Want:
        return Want.SKIP  # model files are read by the analyzer (hashed and sniffed, never kept)

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        out: list[Package] = []
        for path in tree.paths():
            if not path.lower().endswith(MODEL_SUFFIXES):
                continue
            entry = tree.get(path)
            if entry is None or not isinstance(entry.facts, dict):
                continue
            facts = entry.facts.get(_SNIFFER.key)
            if not isinstance(facts, dict):
                continue
            directory = posixpath.dirname(path)
            props = [
                ("supplychain:model:format", str(facts["format"])),
                ("supplychain:model:size", str(entry.size)),
            ]
            if directory not in ("", "/"):
                props.append(("supplychain:model:directory", directory))
            out.append(
                Package(
                    name=posixpath.basename(path),
                    version=None,
                    type="machine-learning-model",
                    ecosystem="model",
                    hashes={"SHA-256": str(facts["sha256"])},
                    properties=props,
                    location=path,
                    layer=entry.layer,
                    bom_ref=f"model:{path}",
                )
            )
        return out
