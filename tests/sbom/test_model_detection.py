"""Model files are recognised by content: real files written by the libraries that write them."""

from __future__ import annotations

import hashlib
import site
from pathlib import Path

import pytest

from supplychain.oci.fs import DirectoryTree
from supplychain.sbom.catalogers import union_analyze
from supplychain.sbom.catalogers.base import CatalogContext
from supplychain.sbom.catalogers.models import ModelCataloger, sniff_model

DATA = Path(__file__).resolve().parent / "data" / "models"


def _safetensors(path: Path) -> None:
    np = pytest.importorskip("numpy")
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"w": np.arange(4, dtype=np.float32)}, str(path))


def _gguf(path: Path) -> None:
    np = pytest.importorskip("numpy")
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_tensor("w", np.arange(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _onnx(path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    h, tp = onnx.helper, onnx.TensorProto
    graph = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g",
                         [h.make_tensor_value_info("x", tp.FLOAT, [1])], [h.make_tensor_value_info("y", tp.FLOAT, [1])])
    onnx.save(h.make_model(graph), str(path))


def _setuptools_pth() -> list[Path]:
    """The real path-configuration files of the installed setuptools / editable installs."""
    found = [p for d in site.getsitepackages() for p in Path(d).glob("*.pth")]
    if not found:
        pytest.skip("no .pth files in this interpreter's site-packages")
    return found


def test_real_model_files_detected(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "models").mkdir(parents=True)
    _safetensors(root / "models" / "model.safetensors")
    _gguf(root / "models" / "llm.gguf")
    _onnx(root / "models" / "net.onnx")
    (root / "models" / "ckpt.pt").write_bytes((DATA / "tiny.pt").read_bytes())
    (root / "models" / "old.pth").write_bytes((DATA / "tiny_legacy.pth").read_bytes())
    (root / "models" / "pytorch_model.bin").write_bytes((DATA / "tiny.pt").read_bytes())
    # negatives: the site-packages .pth files of this very interpreter (setuptools' 151-byte
    # distutils-precedence.pth among them), a text file named like weights, an ELF .bin
    site_dir = root / "usr" / "lib" / "python3" / "dist-packages"
    site_dir.mkdir(parents=True)
    negatives = _setuptools_pth()
    for p in negatives:
        (site_dir / p.name).write_bytes(p.read_bytes())
    (root / "models" / "notes.safetensors").write_text("these are not weights\n" * 20)
    (root / "models" / "firmware.bin").write_bytes(b"\x7fELF" + bytes(100))
    (root / "models" / "empty.onnx").write_bytes(b"")
    cat = ModelCataloger()
    tree = DirectoryTree(root, cat.wants, analyze=union_analyze([cat]))
    got = {p.location: p for p in cat.catalog(tree, CatalogContext())}
    formats = {loc: dict(p.properties)["supplychain:model:format"] for loc, p in got.items()}
    assert formats == {
        "/models/model.safetensors": "safetensors",
        "/models/llm.gguf": "gguf",
        "/models/net.onnx": "onnx",
        "/models/ckpt.pt": "pytorch",
        "/models/old.pth": "pytorch",
        "/models/pytorch_model.bin": "pytorch",
    }
    for loc, pkg in got.items():
        assert pkg.hashes == {"SHA-256": hashlib.sha256((root / loc.lstrip("/")).read_bytes()).hexdigest()}
        assert pkg.type == "machine-learning-model"


def test_sniff_negatives() -> None:
    for p in _setuptools_pth():
        data = p.read_bytes()
        assert sniff_model(data[:4096], len(data)) is None, p
    assert sniff_model(b"PK\x03\x04" + bytes(26) + b"other.txt", 100) is None  # a zip, not torch's
    assert sniff_model(b"\x80\x04\x95" + bytes(30), 40) is None  # a pickle, not torch's
    assert sniff_model((10**9).to_bytes(8, "little") + b'{"a":1}', 100) is None  # header beyond the file
    assert sniff_model((6).to_bytes(8, "little") + b'{"a":1' + bytes(20), 34) is None  # header is not JSON
    assert sniff_model(b"GGUF\x63\x00\x00\x00", 8) is None  # unknown GGUF version


def test_large_file_streams(tmp_path: Path) -> None:
    """A model bigger than the sniff window is hashed whole (chunks of 1 MiB)."""
    header = b'{"__metadata__":{"k":"v"}}'
    data = len(header).to_bytes(8, "little") + header + bytes(3 * 1024 * 1024 + 5)
    (tmp_path / "big.safetensors").write_bytes(data)
    cat = ModelCataloger()
    tree = DirectoryTree(tmp_path, cat.wants, analyze=union_analyze([cat]))
    [pkg] = cat.catalog(tree, CatalogContext())
    assert pkg.hashes["SHA-256"] == hashlib.sha256(data).hexdigest()
