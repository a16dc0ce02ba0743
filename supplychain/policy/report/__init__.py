"""One report model, three writers: what `policy check`, `gate` and later checks print.

A check builds a :class:`~.model.Report` (its findings after waivers, the waived ones, a
summary, sections for the text report) and hands it to :func:`render`, which picks the writer for
the :class:`~.model.OutputFormat`:

* :mod:`.text` -- human text: one section per file or image, a ``fix:`` line under each
  finding, the verdict last (coloured on request);
* :mod:`.json` -- ``{**report.document, "findings": [...], "waived": [...], "summary": {...}}``;
* :mod:`.sarif` -- SARIF 2.1.0: one result per finding (waived ones with a ``suppressions``
  entry), rule metadata (``fullDescription``, ``help``, ``helpUri``, default level) for every
  rule the run applied, ``partialFingerprints`` on every result.

Using it from a new check (``verify image``, vulnerability or image-content rules)::

    from supplychain.policy.findings import Finding, Severity
    from supplychain.policy.report import OutputFormat, Report, Section, render

    report = Report(tool="supplychain vuln", findings=found, summary={"images": 1},
                    verdict="vulnerabilities: FAILED (2 errors)", passed=False,
                    sections=[Section("registry.example/app:1", found, notes=["scanned 412 packages"])],
                    rule_ids=[r for r, rule in RULES.items() if rule.kind == "vuln"])
    text = render(report, OutputFormat.SARIF)

Severities are :class:`~supplychain.policy.findings.Severity` values; the writers never meet an
unknown one (``Finding`` refuses it when it is made).
"""

from __future__ import annotations

from supplychain.policy.report.model import Decision, OutputFormat, Report, Section, Waived, render

__all__ = ["Decision", "OutputFormat", "Report", "Section", "Waived", "render"]
