"""Version ordering checked against the real tools, on hand-picked and on generated pairs:
dpkg (``dpkg --compare-versions`` and python3-apt), rpm (``rpm.labelCompare`` from python3-rpm),
Composer (composer/semver's VersionParser and PHP's version_compare, run with php), npm's
``semver`` (run with node). Each reference runs once per test over all pairs."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from supplychain.vuln.composer_constraint import satisfies
from supplychain.vuln.versions import (
    BadVersion,
    apk_compare,
    composer_normalize,
    dpkg_compare,
    pep440_compare,
    php_version_compare,
    rpm_compare,
    semver_compare,
)

SYS_PYTHON = "/usr/bin/python3"
COMPOSER_SEMVER = Path("/usr/share/php/Composer/Semver/autoload.php")
JS = Path(__file__).resolve().parents[1] / "js"


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _sys_python_has(module: str) -> bool:
    if not os.path.exists(SYS_PYTHON):
        return False
    return subprocess.run([SYS_PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


def _run_json(cmd: list[str], payload: object, cwd: Path | None = None) -> list[int]:
    proc = subprocess.run(cmd, input=json.dumps(payload).encode(), capture_output=True, timeout=120, cwd=cwd)
    assert proc.returncode == 0, proc.stderr.decode()
    return [int(x) for x in json.loads(proc.stdout)]


# --- generators (seeded: the same pairs every run) ------------------------------------------------


def gen_debian(rnd: random.Random) -> str:
    up = ".".join(str(rnd.choice([0, 1, 2, 9, 10, 11, 99, 100])) for _ in range(rnd.randint(1, 4)))
    up += rnd.choice(["", "", "~rc1", "~beta2", "+dfsg", "+dfsg1", "a", "b", "+git20240101", "~~", "~"])
    rev = rnd.choice(["", "-1", "-2", "-1~deb12u1", "-1+deb12u1", "-1+b1", "-0ubuntu1", "-1.1", "-10", "-1~bpo12+1"])
    epoch = rnd.choice(["", "", "", "1:", "2:"])
    return epoch + up + rev


def gen_rpm(rnd: random.Random) -> tuple[str, str, str]:
    v = ".".join(rnd.choice(["0", "1", "2", "10", "01", "a", "rc1", "1a", "2b"]) for _ in range(rnd.randint(1, 4)))
    v += rnd.choice(["", "", "~rc1", "^git1", "~", "^", "_1", "+2"])
    r = rnd.choice(["1", "2", "1.el9", "1.el9_2", "10.fc39", "0.1.rc1", "1~beta", "1^post"])
    return str(rnd.choice([0, 0, 0, 1, 2])), v, r


def gen_composer(rnd: random.Random) -> str:
    parts = [str(rnd.choice([0, 1, 2, 3, 10])) for _ in range(rnd.randint(1, 4))]
    v = rnd.choice(["", "", "v"]) + ".".join(parts)
    v += rnd.choice(["", "", "", "-beta1", "-alpha2", "-RC1", "-rc2", "-p1", "-patch2", "-dev", "-beta", "-b2", "-pl3",
                     "-stable"])
    return v


def gen_semver(rnd: random.Random) -> str:
    v = ".".join(str(rnd.choice([0, 1, 2, 10])) for _ in range(3))
    pre = rnd.choice(["", "", "alpha", "alpha.1", "beta.2", "rc.1", "1", "0", "alpha.beta", "x-y-z.-"])
    build = rnd.choice(["", "", "+build.1", "+sha.abc"])
    return v + (f"-{pre}" if pre else "") + build


# --- dpkg -------------------------------------------------------------------------------------------

DEB_CASES = [
    ("1.0", "1.0-0"), ("1.0~rc1-1", "1.0-1"), ("1:0.9", "2.0"), ("3.0.11-1~deb12u2", "3.0.11-1"),
    ("3.0.11-1+deb12u1", "3.0.11-1"), ("2.36-9+deb12u4", "2.36-9+deb12u10"), ("1.0a", "1.0+"),
    ("1.0~~", "1.0~"), ("0:1.2", "1.2"), ("1.2.3", "1.2.3-1"), ("10", "9"), ("1.00", "1.0"), ("1.0.0", "1.0"),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"), ("1.2+dfsg-1", "1.2-1"), ("2.0-1+b1", "2.0-1"),
]


@pytest.mark.skipif(not _sys_python_has("apt_pkg"), reason="Debian python3-apt not installed (scripts/setup-test-env.sh)")
def test_dpkg_order_matches_python3_apt() -> None:
    rnd = random.Random(12)
    pairs = DEB_CASES + [(gen_debian(rnd), gen_debian(rnd)) for _ in range(4000)]
    ref = _run_json([SYS_PYTHON, "-c",
                     "import json,sys,apt_pkg; apt_pkg.init_system(); "
                     "print(json.dumps([(lambda r:(r>0)-(r<0))(apt_pkg.version_compare(a,b)) for a,b in json.load(sys.stdin)]))"],
                    pairs)
    mismatches = [(a, b, r, dpkg_compare(a, b)) for (a, b), r in zip(pairs, ref, strict=True) if sign(dpkg_compare(a, b)) != r]
    assert not mismatches, mismatches[:10]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg not installed")
def test_dpkg_order_matches_dpkg_compare_versions() -> None:
    rnd = random.Random(7)
    pairs = DEB_CASES + [(gen_debian(rnd), gen_debian(rnd)) for _ in range(60)]
    for a, b in pairs:
        lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
        eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
        assert sign(dpkg_compare(a, b)) == (-1 if lt else 0 if eq else 1), (a, b)


def test_dpkg_rejects_garbage() -> None:
    for bad in ("", "abc", "1.0 2", "x:1.0", "-1"):
        with pytest.raises(BadVersion):
            dpkg_compare(bad, "1.0")


# --- rpm --------------------------------------------------------------------------------------------

RPM_CASES = [(("0", "1.0", "1"), ("0", "1.0", "2")), (("0", "1.0~rc1", "1"), ("0", "1.0", "1")),
             (("0", "1.0^git1", "1"), ("0", "1.0", "1")), (("1", "0.1", "1"), ("0", "9.9", "9")),
             (("0", "1.0a", "1"), ("0", "1.0.1", "1")), (("0", "1.01", "1"), ("0", "1.1", "1")),
             (("0", "2.4.57", "5.el9"), ("0", "2.4.57", "5.el9_2.1"))]


@pytest.mark.skipif(not _sys_python_has("rpm"), reason="Debian python3-rpm not installed (scripts/setup-test-env.sh)")
def test_rpm_order_matches_rpm_labelcompare() -> None:
    rnd = random.Random(5)
    pairs = RPM_CASES + [(gen_rpm(rnd), gen_rpm(rnd)) for _ in range(4000)]
    ref = _run_json([SYS_PYTHON, "-c",
                     "import json,sys,rpm; print(json.dumps([rpm.labelCompare(tuple(a),tuple(b)) for a,b in json.load(sys.stdin)]))"],
                    pairs)
    mismatches = []
    for (a, b), r in zip(pairs, ref, strict=True):
        ours = sign(rpm_compare(f"{a[0]}:{a[1]}-{a[2]}", f"{b[0]}:{b[1]}-{b[2]}"))
        if ours != r:
            mismatches.append((a, b, r, ours))
    assert not mismatches, mismatches[:10]


# --- apk --------------------------------------------------------------------------------------------
# No apk-tools in Debian: cases follow apk-tools' documented order
# (_alpha < _beta < _pre < _rc < release < _cvs < _svn < _git < _hg < _p; -rN last).

APK_LESS = [
    ("1.2.12-r1", "1.2.12-r2"), ("1.2.3_rc1-r0", "1.2.3-r0"), ("1.2.3-r0", "1.2.3_p1-r0"),
    ("1.2.3_alpha", "1.2.3_beta"), ("1.2.3_beta", "1.2.3_pre"), ("1.2.3_pre", "1.2.3_rc"),
    ("1.2.3", "1.2.3_cvs"), ("1.2.3_cvs", "1.2.3_svn"), ("1.2.3_svn", "1.2.3_git"), ("1.2.3_git", "1.2.3_hg"),
    ("1.2.3_hg", "1.2.3_p"), ("1.2.3_p9", "1.2.3_p10"), ("1.2", "1.2.1"), ("1.2.3", "1.2.3-r1"),
    ("1.2.3a", "1.2.3b"), ("1.2.3", "1.2.3a"), ("1.36.1-r27", "1.36.1-r28"), ("3.0.8-r0", "3.0.10-r0"),
    ("1.0.05", "1.0.4"), ("2.0_git20210101-r0", "2.0_git20220101-r0"), ("1.2.12-r1", "1.2.13-r0"),
    ("0.1.0_alpha_pre2", "0.1.0_alpha"), ("1.0_p9-r0", "1.0_p10-r0"),
]


@pytest.mark.parametrize(("a", "b"), APK_LESS)
def test_apk_order(a: str, b: str) -> None:
    assert apk_compare(a, b) < 0
    assert apk_compare(b, a) > 0
    assert apk_compare(a, a) == 0


def test_apk_rejects_invalid() -> None:
    for bad in ("1.0-x", "abc", "1.0_foo", ""):
        with pytest.raises(BadVersion):
            apk_compare(bad, "1.0")


# --- Composer ---------------------------------------------------------------------------------------

_PHP_NORMALIZE = r"""
require '/usr/share/php/Composer/Semver/autoload.php';
$p = new Composer\Semver\VersionParser();
$in = json_decode(file_get_contents('php://stdin'), true);
$out = ['norm' => [], 'cmp' => [], 'sat' => []];
foreach ($in['versions'] as $v) { try { $out['norm'][] = $p->normalize($v); } catch (\Throwable $e) { $out['norm'][] = null; } }
foreach ($in['pairs'] as [$a, $b]) { $out['cmp'][] = version_compare($a, $b); }
foreach ($in['sat'] as [$v, $c]) { try { $out['sat'][] = Composer\Semver\Semver::satisfies($v, $c) ? 1 : 0; } catch (\Throwable $e) { $out['sat'][] = -1; } }
echo json_encode($out);
"""

php_ok = pytest.mark.skipif(shutil.which("php") is None or not COMPOSER_SEMVER.is_file(),
                            reason="php-cli / php-composer-semver not installed (scripts/setup-test-env.sh)")


def _php(payload: dict[str, object]) -> dict[str, list[object]]:
    proc = subprocess.run(["php", "-r", _PHP_NORMALIZE], input=json.dumps(payload).encode(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    out: dict[str, list[object]] = json.loads(proc.stdout)
    return out


COMPOSER_VERSIONS = ["v6.2.7", "1.0.8", "1.0.0-beta3", "2.0.0-alpha4", "1.2.3-p1", "1.2.3-pl2", "1.0-RC1", "1.0.0.1",
                     "2.1.x-dev", "dev-master", "dev-feature/x", "1.0.0+build", "20240101", "2024.01.01",
                     "1.0.0-stable", "1.x-dev", "v1.0.0-b2", "10.4.5", "1.2.3.4.5", "not a version"]


@php_ok
def test_composer_normalize_matches_composer_semver() -> None:
    rnd = random.Random(3)
    versions = COMPOSER_VERSIONS + [gen_composer(rnd) for _ in range(1500)]
    ref = _php({"versions": versions, "pairs": [], "sat": []})["norm"]
    mismatches = []
    for v, r in zip(versions, ref, strict=True):
        try:
            ours: str | None = composer_normalize(v)
        except BadVersion:
            ours = None
        if ours != r:
            mismatches.append((v, r, ours))
    assert not mismatches, mismatches[:10]


@php_ok
def test_php_version_compare_matches_php() -> None:
    rnd = random.Random(4)
    norm = [composer_normalize(gen_composer(rnd)) for _ in range(3000)]
    pairs = [(norm[i], norm[i + 1]) for i in range(0, len(norm) - 1, 1)]
    pairs += [("1.0.0.0-dev", "1.0.0.0-alpha1"), ("1.0.0.0-patch1", "1.0.0.0"), ("1.0", "1.0.0"), ("1.0pl1", "1.0p1"),
              ("1.0-foo", "1.0-dev"), ("1.0.0.0-RC1", "1.0.0.0-rc1")]
    ref = _php({"versions": [], "pairs": pairs, "sat": []})["cmp"]
    mismatches = [(a, b, r) for (a, b), r in zip(pairs, ref, strict=True) if sign(php_version_compare(a, b)) != r]
    assert not mismatches, mismatches[:10]


@php_ok
def test_composer_constraints_match_composer_semver(vulns: Path) -> None:
    """Every FriendsOfPHP constraint against generated versions: Semver::satisfies is the oracle."""
    import yaml

    constraints: set[str] = set()
    for f in sorted((vulns / "friendsofphp-security-advisories").glob("*/*/*.yaml")):
        doc = yaml.load(f.read_bytes(), Loader=yaml.CSafeLoader)
        for b in (doc.get("branches") or {}).values():
            constraints.add(",".join(str(v) for v in b["versions"]))
    constraints |= {"^1.2", "~1.2.3", "1.2.*", ">=1.0 <2.0 || >=3.0", "1.0 - 2.0", "!=1.0.0", "^0.3", ">=1.0.0-beta1"}
    rnd = random.Random(9)
    versions = [v for v in (gen_composer(rnd) for _ in range(400)) if not v.endswith("-dev")]
    cl = sorted(constraints)
    sat = [(rnd.choice(versions), rnd.choice(cl)) for _ in range(6000)]
    sat += [("1.1.4-RC1", "<1.1.4"), ("2.0.0-beta1", ">=2.0.0"), ("1.0.8", "<1.1.4"), ("dev-master", "<1.0")]
    ref = _php({"versions": [], "pairs": [], "sat": sat})["sat"]
    mismatches = []
    for (v, c), r in zip(sat, ref, strict=True):
        try:
            ours = int(satisfies(v, c))
        except (BadVersion, ValueError):
            ours = -1
        if ours != r:
            mismatches.append((v, c, r, ours))
    assert not mismatches, mismatches[:10]


# --- npm semver, PEP 440 --------------------------------------------------------------------------


@pytest.mark.npm
@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules" / "semver").is_dir(),
                    reason="node or tests/js npm helpers (semver) not installed (scripts/setup-test-env.sh)")
def test_semver_order_matches_npm_semver() -> None:
    rnd = random.Random(11)
    pairs = [(gen_semver(rnd), gen_semver(rnd)) for _ in range(4000)]
    pairs += [("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.beta", "1.0.0-beta"), ("1.0.0-rc.1", "1.0.0"),
              ("1.0.0-2", "1.0.0-11"), ("1.0.0-a", "1.0.0-1"), ("1.0.0+a", "1.0.0+b")]
    script = ("const s=require('semver');let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{"
              "console.log(JSON.stringify(JSON.parse(d).map(([a,b])=>s.compare(a,b))))})")
    ref = _run_json(["node", "-e", script], pairs, cwd=JS)
    mismatches = [(a, b, r) for (a, b), r in zip(pairs, ref, strict=True) if sign(semver_compare(a, b)) != r]
    assert not mismatches, mismatches[:10]


def test_pep440_is_packaging_order() -> None:
    # PEP 440 ordering *is* packaging (the reference implementation); check the dispatch and rejects
    assert pep440_compare("1.0rc1", "1.0") < 0
    assert pep440_compare("1.0.post1", "1.0") > 0
    assert pep440_compare("1.0", "1.0.0") == 0
    assert pep440_compare("1!0.1", "2.0") > 0
    with pytest.raises(BadVersion):
        pep440_compare("not-a-version!", "1.0")
