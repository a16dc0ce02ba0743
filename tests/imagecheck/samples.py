"""Secret-shaped test values, made at run time (never real credentials, never stored in the repo)."""

from __future__ import annotations

import base64
import json
import random
import string

_RNG = random.Random(1414)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def pem_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def openssh_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwt(claims: dict[str, object] | None = None) -> str:
    claims = claims if claims is not None else {"iss": "https://auth.acme.test", "sub": "svc-" + rand(6), "exp": 4102444800}
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims)}.{rand(43, ALNUM + '-_')}"


def putty_key() -> str:
    body = "\n".join(rand(64, ALNUM + "+/") for _ in range(4))
    return ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: key\nPublic-Lines: 2\n"
            f"{rand(64, ALNUM + '+/')}\n{rand(20, ALNUM + '+/')}\nPrivate-Lines: 4\n{body}\nPrivate-MAC: {rand(64, '0123456789abcdef')}\n")


def gcp_json() -> str:
    return json.dumps({"type": "service_account", "project_id": "acme-prod", "private_key_id": rand(40, "0123456789abcdef"),
                       "private_key": pem_key().decode(), "client_email": "ci@acme-prod.iam.gserviceaccount.com"})


# (rule id, text that must be found, text that must not be found)
CONTENT_CASES: list[tuple[str, str, str]] = [
    ("IMG-SEC-001", pem_key().decode(), "key = b'-----BEGIN PRIVATE KEY-----'  # header constant only"),
    ("IMG-SEC-001", openssh_key().decode(), "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----"),
    ("IMG-SEC-002", putty_key(), "PuTTY-User-Key-File-3: ssh-ed25519 (see the PuTTY manual)"),
    ("IMG-SEC-003", "aws_access_key_id = AKIA" + rand(16, string.ascii_uppercase + "234567"),
     "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("IMG-SEC-004", "aws_secret_access_key = " + rand(40, ALNUM + "/+"),
     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("IMG-SEC-005", gcp_json(), json.dumps({"type": "service_account", "project_id": "x"})),
    ("IMG-SEC-006", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + rand(86, ALNUM + "+/") + "==;",
     "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50u"
     "SRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"),
    ("IMG-SEC-007", "token: ghp_" + rand(36), "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("IMG-SEC-007", "GITHUB_TOKEN=github_pat_" + rand(82, ALNUM + "_"), "prefix github_pat_ is documented"),
    ("IMG-SEC-008", "glpat-" + rand(20), "glpat-<your token>"),
    ("IMG-SEC-009", "xoxb-" + rand(11, string.digits) + "-" + rand(24), "xoxb-your-token"),
    ("IMG-SEC-009", "https://hooks.slack.com/services/T" + rand(8, string.ascii_uppercase) + "/B"
     + rand(8, string.ascii_uppercase) + "/" + rand(24), "https://hooks.slack.com/services/T000/B000/XXXX"),
    ("IMG-SEC-010", "STRIPE=sk_live_" + rand(24), "STRIPE=sk_test_" + rand(24)),
    ("IMG-SEC-011", "//registry.npmjs.org/:_authToken=npm_" + rand(36), "process.env.npm_config_cache"),
    ("IMG-SEC-012", "password = pypi-AgEIcHlwaS5vcmc" + rand(60, ALNUM + "-_"), "username = __token__"),
    ("IMG-SEC-013", "token packagist_ort_" + rand(64, "0123456789abcdef"), "packagist_url = https://packagist.org"),
    ("IMG-SEC-014", "Authorization: Bearer " + jwt(), "Authorization: Bearer " + jwt({"name": "John Doe", "sub": "1234567890"})),
    ("IMG-SEC-014", jwt(), "sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbXX0="),
]
