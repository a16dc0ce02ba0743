"""Red team of the late refactors: `gate --receipt-out` reads its policy once (01e0998).

The receipt's policy digest was made from bytes read by one open of the policy file while the
images were judged by a policy loaded by another open. A policy that reads differently the second
time (a pipe: `--policy <(...)`, or a file swapped between the two reads) gave a receipt naming
the cluster's strict policy for images judged by another one: the webhook took it in place of its
own check."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.admission.conftest import (  # noqa: F401 (scene is a fixture)
    Scene,
    deployment,
    render,
    review,
    scene,
    start_webhook,
    with_receipt,
)
from tests.conftest import run_cli
from tests.image_signing.conftest import ENV


@contextmanager
def _fifo_serving(path: Path, contents: list[bytes]) -> Iterator[list[int]]:
    """A named pipe at ``path`` that hands ``contents[i]`` to the i-th reader that opens it;
    yields the list of contents served so far (their indexes)."""
    os.mkfifo(path)
    served: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        for i, data in enumerate(contents):
            while not stop.is_set():
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # ENXIO: no reader yet
                    time.sleep(0.01)
                    continue
                os.set_blocking(fd, True)
                try:
                    os.write(fd, data)
                except BrokenPipeError:
                    pass
                finally:
                    os.close(fd)
                served.append(i)
                # the next content only for the next open: wait until this reader has closed the
                # pipe (a reader blocked in open() holds no descriptor yet)
                while not stop.is_set() and _open_by_anyone(path):
                    time.sleep(0.01)
                break

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield served
    finally:
        stop.set()
        t.join(5)


def _open_by_anyone(path: Path) -> bool:
    target = str(path)
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(f) for f in fd_dir.iterdir()]
        except OSError:  # the process ended or is not ours to read
            continue
        if target in links:
            return True
    return False


def _pipeline(scene: Scene, tmp: Path) -> Path:  # noqa: F811 (the fixture)
    where = tmp / "pipeline"
    (where / "keys").mkdir(parents=True)
    shutil.copy(scene.release.public, where / "keys" / "release.pub")
    return where


def test_a_policy_that_reads_otherwise_the_second_time_gives_no_receipt_for_what_it_did_not_judge(
        scene: Scene, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """The first read of the policy gives the cluster's policy (attestations required), the second
    one the same signers without the attestation rule. The gate judged `noattest` (signed, no
    attestation) by the second and wrote a receipt whose digest was the cluster's: the webhook
    admitted the image its own policy denies."""
    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.signing.keys import load_public_key

    strict = scene.policy.read_bytes()
    lax = strict.split(b"attestations:")[0]
    assert lax != strict and b"signers:" in lax
    image = scene.images["noattest"]
    out = tmp_path / "receipt.json"
    policy = _pipeline(scene, tmp_path) / "release.yaml"
    with _fifo_serving(policy, [strict, lax]):
        r = run_cli("gate", "--image", image, "--policy", str(policy), "--receipt-out", str(out),
                    "--receipt-key", str(scene.release.private), cwd=tmp_path, env=ENV, timeout=60)
    if out.exists():  # what such a receipt did in the cluster (it must not exist at all)
        verifier = ReceiptVerifier([load_public_key(scene.release.public)])
        with start_webhook(scene.policy, tmp_path, receipts=verifier) as running:
            resp = running.api.admit(review(with_receipt(image, out.read_text().strip(), tmp_path)))
        assert resp["allowed"] is False, resp
    assert r.exit_code == 1 and not out.exists(), r.stdout + r.stderr
    assert "SC-GATE" in r.stdout


def test_a_policy_given_as_a_pipe_makes_a_receipt_the_webhook_takes(
        scene: Scene, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """`--policy <(cat release.yaml)`: a pipe reads once. With --receipt-out the gate read it twice:
    the second read was empty (the gate refused a policy it had just been given: "not empty
    (null)") or, on a named pipe, waited for a writer for ever."""
    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.signing.keys import load_public_key

    good = scene.images["good"]
    out = tmp_path / "receipt.json"
    policy = _pipeline(scene, tmp_path) / "release.yaml"
    with _fifo_serving(policy, [scene.policy.read_bytes()]) as served:
        r = run_cli("gate", "--image", good, "--policy", str(policy), "--receipt-out", str(out),
                    "--receipt-key", str(scene.release.private), cwd=tmp_path, env=ENV, timeout=60)
    assert r.exit_code == 0 and served == [0], r.stdout + r.stderr
    verifier = ReceiptVerifier([load_public_key(scene.release.public)])
    with start_webhook(scene.policy, tmp_path, receipts=verifier) as running:
        resp = running.api.admit(review(with_receipt(good, out.read_text().strip(), tmp_path)))
        assert resp["allowed"] is True, resp
        assert resp["auditAnnotations"].get("receipt-images") == "1", resp
        plain = running.api.admit(review(render(deployment(scene.images["noattest"]), tmp_path)[0]))
        assert plain["allowed"] is False, plain
