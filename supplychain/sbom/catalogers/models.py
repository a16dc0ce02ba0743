"""ML model files: ``*.safetensors``, ``*.gguf``, ``*.onnx``, ``*.pt`` / ``*.pth``, and ``*.bin``
beside a model config (``config.json``) -> ``machine-learning-model`` components with their
SHA-256. Weights are hashed while the layer streams (Want.DIGEST); they are never held in memory.
"""

from __future__ import annotations

import posixpath

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.package import Package

MODEL_SUFFIXES = (".safetensors", ".gguf", ".onnx", ".pt", ".pth")
CONFIG_NAMES = ("config.json",)
FORMATS = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".bin": "pytorch-bin",
}


class ModelCataloger:
    name = "ml-model"

    def wants(self, path: str) -> Want:
        if path.endswith(MODEL_SUFFIXES) or path.endswith(".bin"):
            return Want.DIGEST
        if path.rsplit("/", 1)[-1] in CONFIG_NAMES:
            return Want.DIGEST  # only its presence matters (a .bin beside it is a model)
        return Want.SKIP

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        out: list[Package] = []
        for path in tree.paths():
            suffix = posixpath.splitext(path)[1].lower()
            if suffix not in FORMATS:
                continue
            if suffix == ".bin" and not any(
                tree.get(posixpath.join(posixpath.dirname(path), c)) is not None for c in CONFIG_NAMES
            ):
                continue
            entry = tree.get(path)
            if entry is None:
                continue
            if entry.sha256 is None:
                ctx.notes.append(f"{path}: model file without a digest, skipped")
                continue
            directory = posixpath.dirname(path)
            props = [
                ("supplychain:model:format", FORMATS[suffix]),
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
                    hashes={"SHA-256": entry.sha256},
                    properties=props,
                    location=path,
                    layer=entry.layer,
                    bom_ref=f"model:{path}",
                )
            )
        return out
