"""MkDocs hooks of the docs site (mkdocs.yml `hooks:`), run by `make docs` and `make docs-build`.

- The served OpenAPI document (functions/docs/openapi.json) joins the site as openapi.json,
  which the API page renders with Swagger UI (mkdocs-swagger-ui-tag, its assets bundled): the page
  shows the document the API serves, never a copy of it.
- Mermaid's browser bundle joins the site from the npm lock (.local/node, `make node-tools`), so the
  architecture picture renders offline (Material fetches Mermaid from a CDN only when the page has
  none).
- The performance page's `<!-- bench:... -->` markers become what `make bench` last wrote to
  docs/performance/results.json: when and where it was measured, a table of every figure with its
  goal, and an inline SVG chart of each figure against its goal. Written here, not by a chart
  library: the chart is a dozen bars, and an SVG string needs no JavaScript and no build step.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "functions" / "docs" / "openapi.json"
MERMAID = ROOT / ".local" / "node" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
RESULTS = ROOT / "docs" / "performance" / "results.json"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    config.watch.extend([str(OPENAPI), str(ROOT / "devtools" / "docs_site.py")])
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    if not MERMAID.is_file():
        raise PluginError(f"{MERMAID.relative_to(ROOT)} is missing: run `make node-tools` (the npm lock holds mermaid)")
    files.append(File.generated(config, "openapi.json", abs_src_path=str(OPENAPI)))
    files.append(File.generated(config, "assets/javascripts/mermaid.min.js", abs_src_path=str(MERMAID)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "<!-- bench:" not in markdown:
        return markdown
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    return (
        markdown.replace("<!-- bench:measured -->", measured(results))
        .replace("<!-- bench:table -->", table(results))
        .replace("<!-- bench:chart -->", chart(results))
    )


def measured(results: dict[str, Any]) -> str:
    run = "a quick run (`make bench QUICK=1`: small counts, goals not asserted)" if results["quick"] else "`make bench`"
    return f"Measured by {run} on {results['measured_at']}, on {html.escape(results['machine'])}."


def show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items())
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def worst(value: Any) -> float:
    """A figure's worst value (a figure measured per operation or per size is a dict)."""
    return float(max(value.values())) if isinstance(value, dict) else float(value)


def table(results: dict[str, Any]) -> str:
    rows = ["| figure | measured | goal | met | against |", "|---|---|---|---|---|"]
    for figure in results["figures"]:
        goal = f"{figure['op']} {show(figure['goal'])}" if figure["op"] else ""
        met = {True: "yes", False: "**no**", None: ""}[figure["met"]]
        cells = [f"`{figure['name']}`", show(figure["value"]), goal, met, figure["baseline"]]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def chart(results: dict[str, Any]) -> str:
    """Each figure with an upper-bound goal as a bar of its worst value over the goal (1.0 = at it)."""
    bars = [
        (f["name"], worst(f["value"]) / float(f["goal"])) for f in results["figures"] if f["op"] == "<=" and f["goal"]
    ]
    left, width, row, scale = 260, 360, 22, 1.5
    height = row * len(bars) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="bench-chart" width="{left + width + 60}" '
        f'height="{height}" viewBox="0 0 {left + width + 60} {height}" font-size="12" font-family="sans-serif">',
        "<title>Each figure as a fraction of its goal (the line at 1.0 is the goal)</title>",
    ]
    for i, (name, ratio) in enumerate(bars):
        y = 10 + i * row
        length = min(ratio, scale) / scale * width
        colour = "#2e7d32" if ratio <= 1 else "#c62828"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y + 13}">{ratio:.2f}</text>')
    goal_x = left + width / scale
    parts.append(
        f'<line x1="{goal_x:.1f}" y1="4" x2="{goal_x:.1f}" y2="{height - 14}" stroke="#333" stroke-dasharray="4 3"/>'
    )
    parts.append(f'<text x="{goal_x:.1f}" y="{height - 2}" text-anchor="middle">goal</text>')
    parts.append("</svg>")
    return "".join(parts)
