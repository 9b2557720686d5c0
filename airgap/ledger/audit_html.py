"""The audit report as one self-contained HTML page (and CSV, one line per transfer): no scripts,
no fonts, no requests; one inline style allowed by its hash in a strict Content-Security-Policy;
the timeline an inline SVG; every proof in a ``<details>`` an auditor opens without anything else
installed."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime
from html import escape

from airgap.ledger.audit import NOT_RECORDED, AuditReport, Evidence, Row, Transfer, Unchecked, Who
from airgap.ledger.store import Result, Step
from airgap.state.deadlines import FAILING

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111;background:#fff}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0;table-layout:fixed}
td,th{border:1px solid #ddd;padding:.25em .45em;vertical-align:top;text-align:left;
overflow-wrap:anywhere}
th{background:#f3f3f3}tr.bad td{background:#fde8e8}code,pre{font:12px ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.5em}
.ok{color:#17622d}.bad{color:#a4161a}.meta td:first-child{width:14em;font-weight:600}
.transfers th:nth-child(6){width:24%}.transfers th:first-child{width:11%}
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


def _who(who: Who) -> str:
    name = escape(who.person or "unknown person")
    return f"{name}<br>{escape(who.role or '-')}<br><code>{escape(who.key_id or '-')}</code>"


def _links(seqs: tuple[int, ...]) -> str:
    return ", ".join(f'<a href="#entry-{n}">{n}</a>' for n in seqs) or "-"


def _rows(rows: list[Row], part_of: dict[int, list[int]], report: AuditReport) -> str:
    head = (
        "<tr><th>#</th><th>when</th><th>step</th><th>who (person, role, key)</th>"
        "<th>host</th><th>device</th><th>materials</th><th>products</th><th>result</th>"
        "<th>note</th><th>transfer</th></tr>"
    )
    body = "".join(
        f'<tr class="{"bad" if r.exception else ""}"><td><a href="#entry-{r.seq}">{r.seq}'
        f"</a></td><td>{escape(r.time)}</td><td>{escape(r.step)}</td>"
        f"<td>{_who(Who(r.key_id, r.person, r.role))}</td>"
        f"<td>{escape(r.host)}</td><td>{escape(r.device or '-')}</td>"
        f"<td>{_files(dict(r.materials))}</td><td>{_files(dict(r.products))}</td>"
        f'<td class="{"bad" if r.exception else "ok"}">{escape(r.result)}</td>'
        f"<td>{escape(r.note)}</td><td>"
        + (
            "<br>".join(
                f'<a href="#transfer-{i}">{escape(report.transfers[i].name)}</a>'
                for i in part_of.get(r.seq, [])
            )
            or "-"
        )
        + "</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>" if rows else "<p>None.</p>"


def _evidence(evidence: Evidence) -> str:
    """A check's result: green only when entries show it ok; none to check is not red."""
    colours: dict[str, str] = {Result.OK: "ok", Unchecked.NOT_APPLICABLE: ""}
    colour = colours.get(evidence.result, "bad")
    return f'<span class="{colour}">{escape(evidence.result)}</span> ({_links(evidence.entries)})'


def _receipt(t: Transfer) -> str:
    if t.receipt is None:
        return escape(t.receipt_status)
    found = t.receipt
    parts = [f"bundle {escape(found.bundle_id)}" if found.bundle_id else str(Step.IMPORT_AFTER)]
    if found.checkpoint:
        parts.append(f"checkpoint {escape(found.checkpoint)}")
    colour = "ok" if found.result is Result.OK else "bad"
    parts.append(f'<span class="{colour}">{escape(found.result)}</span> ({_links(found.entries)})')
    return "<br>".join(parts)


def _transfer_row(index: int, t: Transfer) -> str:
    """A transfer's line; its anchor ``transfer-<index>`` is what entries link back to."""
    what = f"{escape(t.kind)}, {escape(t.direction or 'direction not recorded')}"
    if t.answers:
        what += f"<br>answers {escape(t.answers)}"
    approvals = "<br>".join(f"{_who(a.who)} (#{a.seq})" for a in t.approvals)
    cells = (
        f"{escape(t.name)}<br>{what}",
        _who(t.who),
        escape(t.first) + (f"<br>{escape(t.last)}" if t.last != t.first else ""),
        escape(t.medium or "-"),
        f"{escape(t.from_host or NOT_RECORDED)}<br>to {escape(t.to_host or NOT_RECORDED)}",
        _files({**t.archive, **t.files}),
        _evidence(t.validation),
        _evidence(t.scan),
        approvals or ("none recorded" if t.kind == "bundle" else "-"),
        _receipt(t),
        _links(t.entries),
    )
    row = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr id="transfer-{index}" class="{"bad" if t.exception else ""}">{row}</tr>'


def _transfers(report: AuditReport) -> str:
    """One line per transfer, exceptions first: who, when, medium, hosts, files, checks."""
    if not report.transfers:
        return "<p>No transfer in this window.</p>"
    head = (
        "<tr><th>transfer</th><th>who (person, role, key)</th><th>when</th><th>medium</th>"
        "<th>from, to</th><th>files (SHA-256)</th><th>validation</th><th>scan</th>"
        "<th>approvals</th><th>receipt</th><th>entries</th></tr>"
    )
    body = "".join(_transfer_row(i, t) for i, t in enumerate(report.transfers))
    return f'<table class="transfers">{head}{body}</table>'


def _timeline(report: AuditReport) -> str:
    """Each transfer a dot on a time axis at its first step (red when a step did not end well),
    deadlines as ticks."""
    times = [(t, _when(t.first)) for t in report.transfers]
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
    for transfer, when in times:
        colour = "#a4161a" if transfer.exception else "#17622d"
        parts.append(
            f'<circle cx="{x(when):.1f}" cy="60" r="5" fill="{colour}"><title>'
            f"{escape(transfer.name)} {escape(transfer.first)}</title></circle>"
        )
    for name, which, when in dues:
        parts.append(
            f'<line x1="{x(when):.1f}" y1="25" x2="{x(when):.1f}" y2="95" '
            f'stroke="#c77d00" stroke-dasharray="3,2"><title>{escape(name)} '
            f"{escape(which)} {escape(when.date().isoformat())}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _devices(report: AuditReport) -> str:
    if not report.devices:
        return "<p>No captures given (--captures).</p>"
    rows = "".join(
        f'<tr class="{"bad" if d.get("status") in FAILING else ""}">'
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
    """The whole page: exceptions, transfers, devices, timeline, entries with their proofs,
    controls, the signed checkpoint."""
    part_of: dict[int, list[int]] = {}  # entry -> the transfers it is a step of
    for i, t in enumerate(report.transfers):
        for seq in t.entries:
            part_of.setdefault(seq, []).append(i)
    meta = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>"
        for k, v in (
            ("ledger", report.ledger),
            ("origin", report.origin),
            ("window", f"{report.since} to {report.until}"),
            ("generated", generated),
            ("entries in the ledger", str(report.entries)),
            ("transfers in the window", str(len(report.transfers))),
            ("entries in the window", str(len(report.rows))),
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
        f"<h2>Exceptions</h2>{_rows(report.exceptions, part_of, report)}"
        f"<h2>Transfers</h2>{_transfers(report)}"
        f"<h2>Devices and deadlines</h2>{_devices(report)}"
        f"<h2>Timeline</h2>{_timeline(report)}"
        f"<h2>Every recorded step, with its proof</h2>"
        f"{_rows(sorted(report.rows, key=lambda r: r.seq), part_of, report)}{_proofs(report)}"
        f"<h2>Controls</h2>{_controls(report)}"
        f"<h2>Signed checkpoint</h2><p>Signed by this host's key; every proof above is checked "
        f"against it.</p><pre>{escape(report.checkpoint)}</pre>"
        "</body></html>\n"
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a file name can start with =)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = (
    "transfer",
    "kind",
    "direction",
    "answers",
    "person",
    "role",
    "key_id",
    "first",
    "last",
    "medium",
    "from_host",
    "to_host",
    "archive",
    "files",
    "validation",
    "validation_entries",
    "scan",
    "scan_entries",
    "approvals",
    "receipt",
    "receipt_checkpoint",
    "receipt_result",
    "receipt_status",
    "entries",
    "exception",
)


def _csv_line(t: Transfer) -> list[object]:
    """One transfer's cells, in :data:`CSV_COLUMNS` order; lists joined by '; '."""

    def seqs(values: tuple[int, ...]) -> str:
        return " ".join(map(str, values))

    found = t.receipt
    return [
        t.name,
        t.kind,
        t.direction or "",
        t.answers or "",
        t.who.person or "",
        t.who.role or "",
        t.who.key_id,
        t.first,
        t.last,
        t.medium or "",
        t.from_host or "",
        t.to_host or "",
        "; ".join(f"{p}={d}" for p, d in t.archive.items()),
        "; ".join(f"{p}={d}" for p, d in t.files.items()),
        t.validation.result,
        seqs(t.validation.entries),
        t.scan.result,
        seqs(t.scan.entries),
        "; ".join(
            f"{a.who.person or a.who.key_id} ({a.who.role or '-'}, {a.who.key_id})"
            for a in t.approvals
        ),
        (found.bundle_id or str(Step.IMPORT_AFTER)) if found else "",
        (found.checkpoint or "") if found else "",
        found.result if found else "",
        t.receipt_status,
        seqs(t.entries),
        "yes" if t.exception else "no",
    ]


def csv_text(report: AuditReport) -> str:
    """One line per transfer (exceptions first), for a spreadsheet; the columns are
    :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for t in report.transfers:
        writer.writerow([_cell(v) for v in _csv_line(t)])
    return buffer.getvalue()
