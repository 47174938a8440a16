"""After a run: the row check against the acknowledgements, and the RSS/descriptor plot."""

from __future__ import annotations

from decimal import Decimal

from .cluster import Cluster


def rowcheck(cluster: Cluster, acks: dict[int, Decimal]) -> dict:
    """Every acknowledged bid is stored with exactly the adjusted_cpc returned; rows vs. acks."""
    stored = cluster.bids()
    rows = {i: adjusted for i, (adjusted, _) in stored.items()}
    missing = [i for i in acks if i not in rows]
    mismatched = [i for i, adjusted in acks.items() if i in rows and rows[i] != adjusted]
    unacknowledged = [i for i in rows if i not in acks]
    return {
        "acknowledged": len(acks),
        "rows": len(rows),
        "missing_rows": len(missing),
        "missing_examples": sorted(missing)[:20],
        "mismatched_adjusted_cpc": len(mismatched),
        "mismatched_examples": [(i, str(acks[i]), str(rows[i])) for i in sorted(mismatched)[:20]],
        "rows_never_acknowledged": len(unacknowledged),
        "rows_never_acknowledged_examples": sorted(unacknowledged)[:20],
        # When they were written (Unix time), so a caller can tell which fault they belong to.
        "rows_never_acknowledged_at": sorted(stored[i][1] for i in unacknowledged),
    }




def svg_plot(samples: list[dict], title: str, warmup_s: float | None = None, width: int = 900,
             height: int = 420) -> str:
    """Two panels, RSS (MiB) above and open descriptors below, against seconds since start."""
    if not samples:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60">'
                '<text x="10" y="30">no samples</text></svg>')
    left, right, top, gap, bottom = 70, 20, 40, 50, 40
    panel = (height - top - gap - bottom) / 2
    t_max = max(s["t"] for s in samples) or 1.0

    def x(t: float) -> float:
        return left + (width - left - right) * t / t_max

    def panel_svg(key: str, scale: float, label: str, y0: float, color: str) -> list[str]:
        values = [s[key] * scale for s in samples]
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.1, hi * 0.02, 1.0)
        lo, hi = max(0.0, lo - pad), hi + pad

        def y(v: float) -> float:
            return y0 + panel - panel * (v - lo) / (hi - lo)

        out = [f'<rect x="{left}" y="{y0}" width="{width - left - right}" height="{panel}" fill="none" stroke="#999"/>']
        for i in range(5):
            v = lo + (hi - lo) * i / 4
            out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.1f}</text>')
            out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        points = " ".join(f"{x(s['t']):.1f},{y(v):.1f}" for s, v in zip(samples, values))
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{points}"/>')
        out.append(f'<text x="{left + 6}" y="{y0 + 14}" font-size="12" fill="{color}">{label}</text>')
        if warmup_s:
            out.append(f'<line x1="{x(warmup_s):.1f}" x2="{x(warmup_s):.1f}" y1="{y0}" y2="{y0 + panel}" '
                       'stroke="#c60" stroke-dasharray="4,3"/>')
        return out

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" font-family="sans-serif">'),
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="22" font-size="14" text-anchor="middle">{_xml(title)}</text>']
    parts += panel_svg("rss_kb", 1 / 1024, "RSS (MiB)", top, "#1f5fbf")
    parts += panel_svg("fds", 1, "open descriptors", top + panel + gap, "#2a8a2a")
    base = height - bottom
    for i in range(6):
        t = t_max * i / 5
        parts.append(f'<text x="{x(t):.1f}" y="{base + 16}" font-size="11" text-anchor="middle">{t:.0f}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" font-size="12" text-anchor="middle">seconds since start'
                 + (' (dashed: end of warm-up)' if warmup_s else '') + '</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
