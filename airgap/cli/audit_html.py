"""The audit report as one self-contained HTML page (and CSV): no scripts, no fonts, no requests;
one inline style allowed by its hash in a strict Content-Security-Policy; the timeline an inline
SVG; every proof in a ``<details>`` an auditor opens without anything else installed."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime
from html import escape

from airgap.ledger.audit import AuditReport, Row

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111;background:#fff}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0;table-layout:fixed}
td,th{border:1px solid #ddd;padding:.25em .45em;vertical-align:top;text-align:left;
overflow-wrap:anywhere}
th{background:#f3f3f3}tr.bad td{background:#fde8e8}code,pre{font:12px ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.5em}
.ok{color:#17622d}.bad{color:#a4161a}.meta td:first-child{width:14em;font-weight:600}
""".strip()


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
        "form-action 'none'; base-uri 'none'"
    )


def _files(paths: dict[str, str]) -> str:
    return (
        "<br>".join(
            f"{escape(p)} <code>{escape(d.removeprefix('sha256:')[:16])}…</code>"
            for p, d in paths.items()
        )
        or "-"
    )


def _who(row: Row) -> str:
    name = escape(row.person or "unknown person")
    return f"{name}<br>{escape(row.role or '-')}<br><code>{escape(row.key_id)}</code>"


def _rows(rows: list[Row]) -> str:
    head = (
        "<tr><th>#</th><th>when</th><th>step</th><th>who (person, role, key)</th>"
        "<th>host</th><th>device</th><th>materials</th><th>products</th><th>result</th>"
        "<th>note</th></tr>"
    )
    body = "".join(
        f'<tr class="{"bad" if r.exception else ""}"><td><a href="#entry-{r.seq}">{r.seq}'
        f"</a></td><td>{escape(r.time)}</td><td>{escape(r.step)}</td><td>{_who(r)}</td>"
        f"<td>{escape(r.host)}</td><td>{escape(r.device or '-')}</td>"
        f"<td>{_files(dict(r.materials))}</td><td>{_files(dict(r.products))}</td>"
        f'<td class="{"bad" if r.exception else "ok"}">{escape(r.result)}</td>'
        f"<td>{escape(r.note)}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>" if rows else "<p>None.</p>"


def _timeline(report: AuditReport) -> str:
    """Each row a dot on a time axis (red when it did not end well), deadlines as ticks."""
    times = [(r, datetime.fromisoformat(r.time.replace("Z", "+00:00"))) for r in report.rows]
    dues: list[tuple[str, str, datetime]] = []
    for device in report.devices:
        for which in ("ack_by", "report_by"):
            found = device.get(which)
            if isinstance(found, dict) and found.get("date"):
                dues.append(
                    (
                        str(device.get("device")),
                        which,
                        datetime.fromisoformat(f"{found['date']}T00:00:00+00:00"),
                    )
                )
    moments = [t for _, t in times] + [t for *_, t in dues]
    if not moments:
        return "<p>Nothing in this window.</p>"
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    width, height = 1000, 120

    def x(when: datetime) -> float:
        return 20 + (width - 40) * (when - start).total_seconds() / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="timeline of transfers and deadlines">',
        f'<line x1="20" y1="60" x2="{width - 20}" y2="60" stroke="#888"/>',
        f'<text x="20" y="110" font-size="12">{escape(start.date().isoformat())}</text>',
        f'<text x="{width - 20}" y="110" font-size="12" text-anchor="end">'
        f"{escape(end.date().isoformat())}</text>",
    ]
    for row, when in times:
        colour = "#a4161a" if row.exception else "#17622d"
        parts.append(
            f'<circle cx="{x(when):.1f}" cy="60" r="5" fill="{colour}"><title>'
            f"#{row.seq} {escape(row.step)} {escape(row.time)}</title></circle>"
        )
    for name, which, when in dues:
        parts.append(
            f'<line x1="{x(when):.1f}" y1="25" x2="{x(when):.1f}" y2="95" '
            f'stroke="#c77d00" stroke-dasharray="3,2"><title>{escape(name)} '
            f"{escape(which)} {escape(when.date().isoformat())}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _devices(report: AuditReport) -> str:
    if not report.devices:
        return "<p>No captures given (--captures).</p>"
    rows = "".join(
        f'<tr class="{"bad" if d.get("status") in ("overdue", "due") else ""}">'
        f"<td>{escape(str(d.get('device')))}</td><td>{escape(str(d.get('hostname') or '-'))}"
        f"</td><td>{escape(str(d.get('status')))}</td>"
        f"<td>{escape(str((d.get('ack_by') or {}).get('date', '-')))}</td>"
        f"<td>{escape(str((d.get('report_by') or {}).get('date', '-')))}</td></tr>"
        for d in report.devices
    )
    return (
        "<table><tr><th>device</th><th>hostname</th><th>status</th><th>ACK by</th>"
        f"<th>report by</th></tr>{rows}</table>"
    )


def _controls(report: AuditReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.control)}</td><td>{escape(c.asks)}</td>"
        f"<td>{escape(', '.join(c.steps) or 'every entry is signed')}</td>"
        f'<td class="{"ok" if c.rows else "bad"}">'
        + (
            ", ".join(f'<a href="#entry-{n}">{n}</a>' for n in c.rows[:50])
            + (f" and {len(c.rows) - 50} more" if len(c.rows) > 50 else "")
            if c.rows
            else "no evidence in this window"
        )
        + "</td></tr>"
        for c in report.controls
    )
    return (
        "<table><tr><th>control</th><th>asks for</th><th>evidenced by steps</th>"
        f"<th>rows</th></tr>{rows}</table>"
    )


def _proofs(report: AuditReport) -> str:
    return "".join(
        f'<details id="entry-{r.seq}"><summary>entry {r.seq}: {escape(r.step)} '
        f"({escape(r.time)})</summary><p>The entry's exact line (save as entry{r.seq}.json):"
        f"</p><pre>{escape(r.line)}</pre><p>Its inclusion proof (save as entry{r.seq}.proof, "
        f"then <code>airgap ledger verify-proof entry{r.seq}.proof entry{r.seq}.json "
        f"--trusted-key host.pub</code>):</p><pre>{escape(r.proof)}</pre></details>"
        for r in sorted(report.rows, key=lambda r: r.seq)
    )


def html(report: AuditReport, generated: str) -> str:
    """The whole page."""
    meta = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>"
        for k, v in (
            ("ledger", report.ledger),
            ("origin", report.origin),
            ("window", f"{report.since} to {report.until}"),
            ("generated", generated),
            ("entries in the ledger", str(report.entries)),
            ("rows in the window", str(len(report.rows))),
            ("exceptions", str(len(report.exceptions))),
            ("unreadable lines", ", ".join(map(str, report.unreadable)) or "none"),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
        f"<title>airgap audit report: {escape(report.origin)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<h1>Audit report: {escape(report.origin)}</h1><table class="meta">{meta}</table>'
        f"<h2>Exceptions</h2>{_rows(report.exceptions)}"
        f"<h2>Timeline</h2>{_timeline(report)}"
        f"<h2>Every recorded step</h2>{_rows(sorted(report.rows, key=lambda r: r.seq))}"
        f"<h2>Devices and deadlines</h2>{_devices(report)}"
        f"<h2>Controls</h2>{_controls(report)}"
        f"<h2>Signed checkpoint</h2><p>Signed by this host's key; every proof below is checked "
        f"against it.</p><pre>{escape(report.checkpoint)}</pre>"
        f"<h2>Entries and their proofs</h2>{_proofs(report)}"
        "</body></html>\n"
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a file name can start with =)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(report: AuditReport) -> str:
    """One line per row, for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "seq",
            "time",
            "step",
            "person",
            "role",
            "key_id",
            "host",
            "device",
            "result",
            "materials",
            "products",
            "note",
        ]
    )
    for r in sorted(report.rows, key=lambda r: r.seq):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    r.seq,
                    r.time,
                    r.step,
                    r.person or "",
                    r.role or "",
                    r.key_id,
                    r.host,
                    r.device or "",
                    r.result,
                    "; ".join(f"{p}={d}" for p, d in r.materials.items()),
                    "; ".join(f"{p}={d}" for p, d in r.products.items()),
                    r.note,
                )
            ]
        )
    return buffer.getvalue()
