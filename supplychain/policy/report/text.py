"""Human text writer: one block per section, a ``fix:`` line under each finding, the verdict last."""

from __future__ import annotations

from supplychain.policy.findings import Finding
from supplychain.policy.report.model import Report

_COLOURS = {"error": "\033[31;1m", "warning": "\033[33;1m", "note": "\033[36m"}
_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
_GREEN = "\033[32;1m"
_RED = "\033[31;1m"


def render_text(report: Report, *, colour: bool = False) -> str:
    def c(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    def finding(f: Finding, in_file: bool, label: str | None = None) -> None:
        where = (f"{f.line}:{f.column}" if f.column else f"{f.line}") if in_file else f"{f.file}:{f.line}"
        sev = c(_COLOURS[f.severity.value], f"{label or f.severity.value:<7}")
        out.append(f"  {where:>7}  {sev} {f.rule:<10} {f.message}")
        if label is None:
            out.append(c(_DIM, f"{'':>9}  fix: {f.fix}"))

    out: list[str] = []
    for i, section in enumerate(report.sections):
        if i:
            out.append("")
        out.append(c(_BOLD, section.title))
        out.extend(f"      {note}" for note in section.notes)
        for f in section.findings:
            finding(f, section.in_file)
        for w in section.waived:
            finding(w.finding, section.in_file, label="waived")
            out.append(c(_DIM, f"{'':>9}  waiver: {w.reason} ({w.until})"))
    if report.sections:
        out.append("")
    out.append(c(_GREEN if report.passed else _RED, report.verdict))
    return "\n".join(out) + "\n"
