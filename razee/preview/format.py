"""Showing a preview: a coloured terminal report, JSON, or a compact Markdown summary for a pull request."""

from __future__ import annotations

import json

from rich.text import Text

from razee.preview.model import Preview

_STYLE = {"+": "green", "-": "red", "@": "cyan"}
MARKDOWN_MAX_SPOKES = 30


def preview_lines(preview: Preview, diffs: bool = True) -> list[Text]:
    """The terminal report as styled lines: the CLI prints them (nothing below the CLI writes to a terminal)."""
    out: list[Text] = []
    for sp in preview.changed_spokes():
        out.append(Text(f"spoke {sp.spoke} (region {sp.region}): {sp.status}", style="bold"))
        for o in sp.objects:
            mark = {"added": "+", "removed": "-", "changed": "~"}[o.action]
            where = f"  [{o.source}]" if o.source else ""
            extra = f" at {', '.join(o.paths)}" if o.paths else ""
            out.append(Text(f"  {mark} {o.action} {o.key}{extra}{where}"))
            if diffs and o.action == "changed":
                for line in o.diff.splitlines():
                    style = _STYLE.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
                    out.append(Text("      " + line, style=style or ""))
        for d in sp.infra:
            out.append(Text(f"  infra: cluster {d.cluster} {d.action}: {'; '.join(d.details)}", style="yellow"))
        for note in sp.notes:
            out.append(Text(f"  note: {note}", style="yellow"))
    out.append(Text(summary_line(preview), style="bold"))
    return out


def summary_line(preview: Preview) -> str:
    s = preview.summary()
    actions = ", ".join(f"{n} {a}" for a, n in s["objectsByAction"].items()) or "no object changes"
    return (
        f"{preview.old} -> {preview.new}: {s['regions']} regions, {s['spokes']} spokes, {s['clusters']} "
        f"clusters, {s['objects']} objects change ({actions}); rendered {s['spokesRendered']} of "
        f"{s['spokesTotal']} spokes"
    )


def preview_json(preview: Preview) -> str:
    return json.dumps(preview.to_json(), indent=2) + "\n"


def preview_markdown(preview: Preview) -> str:
    s = preview.summary()
    lines = [f"### razee preview: `{preview.old}` → `{preview.new}`", ""]
    if not preview.has_changes:
        lines.append("No change to any spoke's desired state.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"**{s['regions']}** regions, **{s['spokes']}** spokes, **{s['clusters']}** clusters and "
        f"**{s['objects']}** objects change."
    )
    lines += ["", "| region | objects changing |", "|---|---:|"]
    lines += [f"| {r} | {n} |" for r, n in s["objectsByRegion"].items()]
    lines += ["", "| kind | objects changing |", "|---|---:|"]
    lines += [f"| {k} | {n} |" for k, n in s["objectsByKind"].items()]
    lines += ["", "| spoke | added | changed | removed | infrastructure |", "|---|---:|---:|---:|---|"]
    changed = preview.changed_spokes()
    for sp in changed[:MARKDOWN_MAX_SPOKES]:
        counts = {a: sum(1 for o in sp.objects if o.action == a) for a in ("added", "changed", "removed")}
        infra = "; ".join(f"{d.cluster} {d.action}" for d in sp.infra) or ""
        lines.append(f"| {sp.spoke} | {counts['added']} | {counts['changed']} | {counts['removed']} | {infra} |")
    if len(changed) > MARKDOWN_MAX_SPOKES:
        lines.append(f"| … and {len(changed) - MARKDOWN_MAX_SPOKES} more spokes | | | | |")
    return "\n".join(lines) + "\n"
