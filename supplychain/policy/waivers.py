"""The one waiver matcher: does an active waiver of the policy cover a finding?

Used by ``policy check`` (:func:`supplychain.policy.engine.apply_waivers`), the deploy gate (per
image and for skipped templates) and any later check that produces
:class:`~supplychain.policy.findings.Finding` records. The rules, the same everywhere:

* the waiver has not expired (it applies through its ``expires`` day);
* its ``rule`` glob (``K8S-*``) matches the rule id (case-sensitive ``fnmatch``);
* ``path`` (when given) matches **every** file the finding is about. A finding about one position
  names one file; a finding about an image names every file that deploys it, so a waiver for
  ``dev/*`` does not waive an image that ``prod/`` deploys too. A leading ``./`` of the glob is
  ignored; ``*`` and ``?`` match across ``/`` (``fnmatch``; a ``[`` the glob means literally
  matches too), and an absolute path given on the
  command line is also tried relative to the working directory;
* ``image`` (when given) matches the finding's image (:func:`~supplychain.policy.images.glob_match`:
  against ``registry/repository``, or the full reference when the glob has a tag or digest). A
  finding with no image is never waived by an image waiver (fail closed).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
from collections.abc import Collection, Iterable

from supplychain.policy.config import Waiver
from supplychain.policy.findings import Finding
from supplychain.policy.images import ImageRef, _glob_regex, glob_match, parse_image


def path_matches(pattern: str, path: str) -> bool:
    """Does a waiver's path glob match ``path`` (as shown in reports)?"""
    glob = pattern[2:] if pattern.startswith("./") else pattern
    candidates = {path}
    if os.path.isabs(path):  # absolute paths on the command line: also try relative to cwd
        candidates.add(os.path.normpath(os.path.relpath(path)).replace(os.sep, "/"))
    return any(fnmatch.fnmatchcase(c, glob) or _glob_regex(glob).match(c) for c in candidates)


# Rules only a waiver naming them exactly lifts (SC-GATE-007: an input the gate cannot resolve).
EXPLICIT_ONLY: frozenset[str] = frozenset({"SC-GATE-007"})


def find_waiver(waivers: Iterable[Waiver], rule_id: str, *, files: Collection[str], image: ImageRef | None,
                today: datetime.date) -> Waiver | None:
    """The first active waiver covering ``rule_id`` for ``files`` and ``image``, or None."""
    for w in waivers:
        if w.expired(today) or not w.matches_rule(rule_id):
            continue
        if rule_id in EXPLICIT_ONLY and w.rule != rule_id:  # a glob never lifts these
            continue
        if w.path is not None and not (files and all(path_matches(w.path, f) for f in files)):
            continue
        if w.image is not None and (image is None or not glob_match(w.image, image)):
            continue
        return w
    return None


def finding_image(finding: Finding) -> ImageRef | None:
    """The parsed image of a finding (None when it has none or it does not parse)."""
    if finding.image is None:
        return None
    try:
        return parse_image(finding.image)
    except ValueError:
        return None


def waiver_for(waivers: Iterable[Waiver], finding: Finding, today: datetime.date, *,
               files: Collection[str] | None = None, image: ImageRef | None = None) -> Waiver | None:
    """:func:`find_waiver` for a finding: its own file and image unless ``files`` / ``image`` say more."""
    return find_waiver(waivers, finding.rule, files=files if files is not None else (finding.file,),
                       image=image if image is not None else finding_image(finding), today=today)
