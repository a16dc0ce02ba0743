"""Inventory of an ML model directory as SBOM ``Package`` records, hashed like its signature.

One ``machine-learning-model`` component per weight file and one ``file`` component per other
file (configs, tokenizers), each with the same digest a file-serialized model signature holds for
it (the same hashing code and the same file selection: git paths and the signature file are left
out). The root component carries the manifest digest, which equals ``subject[0].digest.sha256``
of a model signature made with the same options.

It sits at the gate's level because it joins two domains (the signing layer's model hashing and
the SBOM layer's ``Package``); it only builds plain ``Package`` records, and rendering CycloneDX
is the caller's job (``supplychain.sbom.cyclonedx.render_bom``).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from pathlib import Path

from supplychain.errors import InputError
from supplychain.sbom.package import Package
from supplychain.signing import hashing
from supplychain.signing.model import DEFAULT_SIGNATURE_NAME, resolve_ignore_paths
from supplychain.signing.model_manifest import GIT_PATHS, Serialization, hash_model

WEIGHT_FORMATS = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".ggml": "ggml",
    ".onnx": "onnx",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".bin": "pytorch-bin",
    ".ckpt": "checkpoint",
    ".h5": "keras-hdf5",
    ".hdf5": "keras-hdf5",
    ".keras": "keras",
    ".tflite": "tflite",
    ".pb": "tensorflow",
    ".msgpack": "flax",
    ".npz": "numpy",
    ".pkl": "pickle",
    ".joblib": "joblib",
    ".mlmodel": "coreml",
    ".pdparams": "paddle",
    ".nemo": "nemo",
    ".llamafile": "llamafile",
}

CDX_ALG = {"sha256": "SHA-256", "blake3": "BLAKE3"}


def weight_format(name: str) -> str | None:
    """The weight-file format of a file name, or None when it is not a weight file."""
    return WEIGHT_FORMATS.get(posixpath.splitext(name)[1].lower())


def model_packages(
    model: str | os.PathLike[str],
    *,
    hash_algorithm: str = "sha256",
    ignore_paths: Sequence[str] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    threads: int | None = None,
    progress: hashing.ProgressFn | None = None,
) -> tuple[Package, list[Package]]:
    """(root component, components) for the model at ``model`` (a directory or one file)."""
    path = Path(model)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    hashing.check_algorithm(hash_algorithm)
    ignores: list[str] = []
    if path.is_dir():
        ignores = resolve_ignore_paths(path, ignore_paths)
        if ignore_git_paths:
            ignores += [g for g in GIT_PATHS if g not in ignores]
        if DEFAULT_SIGNATURE_NAME not in ignores:
            ignores.append(DEFAULT_SIGNATURE_NAME)
    ser = Serialization("files", hash_algorithm, None, allow_symlinks, tuple(sorted(ignores)))
    manifest = hash_model(path, ser, threads=threads, progress=progress)
    alg = CDX_ALG[hash_algorithm]
    packages: list[Package] = []
    for name, _, digest in manifest.ordered():
        shown = path.name if name == "." else name
        try:
            shown.encode("utf-8")
        except UnicodeEncodeError as exc:  # os.fsdecode keeps undecodable bytes as lone surrogates
            raise InputError(f"{path / name if name != '.' else path}: file name is not valid UTF-8, so it "
                             "cannot be named in a CycloneDX SBOM",
                             hint="rename the file, or leave it out with --ignore-paths") from exc
        fmt = weight_format(shown)
        size = manifest.sizes.get(name, 0)
        props = [("supplychain:model:size", str(size))]
        if fmt:
            props.insert(0, ("supplychain:model:format", fmt))
        packages.append(Package(
            name=shown,
            version=None,
            type="machine-learning-model" if fmt else "file",
            ecosystem="model",
            hashes={alg: digest},
            properties=props,
            location=shown,
            bom_ref=f"model:{shown}",
        ))
    root = Package(
        name=manifest.model_name,
        version=None,
        type="machine-learning-model",
        ecosystem="model",
        properties=[
            ("supplychain:model:files", str(len(packages))),
            ("supplychain:model:weight-files", str(sum(p.type == "machine-learning-model" for p in packages))),
            ("supplychain:model:size", str(sum(manifest.sizes.values()))),
            ("supplychain:model:hash-algorithm", hash_algorithm),
            ("supplychain:model-signing:manifest-digest", manifest.root_digest()),
        ],
        bom_ref=f"model-root:{manifest.model_name}",
        dependencies=[p.bom_ref for p in packages],
    )
    return root, packages
