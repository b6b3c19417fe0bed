"""The comparison report: a self-contained HTML page and a summary plot (PNG)."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from imaging._shared.atomic import atomic_write

__all__ = ["write_plot", "write_report", "write_text"]

THUMB = 224


def _png_data_uri(image: np.ndarray) -> str:
    import cv2

    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - encoding a uint8 image does not fail
        raise RuntimeError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def _thumb(image: np.ndarray) -> np.ndarray:
    import cv2

    from imaging.draw import to_display

    shown = to_display(image)
    h, w = shown.shape[:2]
    scale = THUMB / max(h, w)
    if scale < 1:
        shown = cv2.resize(
            shown,
            (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
    return shown


def _heat(diff: np.ndarray) -> np.ndarray:
    import cv2

    diff = np.nan_to_num(np.abs(diff.astype(np.float32)))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    top = float(diff.max()) or 1.0
    scaled = (diff / top * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def _boxes_picture(item: dict[str, Any]) -> np.ndarray | None:
    import cv2

    boxes = [o["box"] for o in item.get("truth", []) + item.get("pred", []) if o.get("box")]
    if not boxes:
        return None
    arr = np.asarray(boxes, np.float64)
    x0, y0 = arr[:, :2].min(axis=0)
    x1, y1 = arr[:, 2:].max(axis=0)
    pad = 0.1 * max(x1 - x0, y1 - y0, 1.0)
    scale = THUMB / max(x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
    h = max(1, int((y1 - y0 + 2 * pad) * scale))
    w = max(1, int((x1 - x0 + 2 * pad) * scale))
    canvas = np.full((h, w, 3), 245, np.uint8)

    def draw(objects: list[dict[str, Any]], colour: tuple[int, int, int], width: int) -> None:
        for o in objects:
            if not o.get("box"):
                continue
            bx0, by0, bx1, by1 = o["box"]
            p0 = (int((bx0 - x0 + pad) * scale), int((by0 - y0 + pad) * scale))
            p1 = (int((bx1 - x0 + pad) * scale), int((by1 - y0 + pad) * scale))
            cv2.rectangle(canvas, p0, p1, colour, width)

    draw(item.get("truth", []), (0, 160, 0), 3)
    draw(item.get("pred", []), (0, 90, 255), 1)
    return canvas


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        if math.isnan(value):
            return "–"
        return f"{value:.4g}"
    return html.escape(str(value))


_METRIC_COLUMNS = [
    "psnr_db",
    "ssim",
    "max_abs_diff",
    "mean_abs_c",
    "max_abs_c",
    "p99_abs_c",
    "precision",
    "recall",
    "f1",
    "exact",
    "char_accuracy",
]


def write_report(items: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> Path:
    """Write a self-contained HTML report (images inlined as data URIs), worst items first."""
    from imaging.io import imread

    rows = []
    for item in items:
        pictures = []
        if item.get("status") == "ok" and item.get("kind") in ("image", "thermal"):
            try:
                out, ref = imread(item["output"]), imread(item["reference"])
                diff = out.astype(np.float32) - ref.astype(np.float32)
                for caption, image in (
                    ("output", _thumb(out)),
                    ("reference", _thumb(ref)),
                    ("difference", _thumb(_heat(diff))),
                ):
                    pictures.append((caption, _png_data_uri(image)))
            except Exception as exc:  # a thumbnail must never break the report
                item.setdefault("note", f"no thumbnails ({exc})")
        elif item.get("kind") in ("detections", "plates"):
            picture = _boxes_picture(item)
            if picture is not None:
                pictures.append(("reference (green) / output (blue)", _png_data_uri(picture)))
        figures = "".join(
            f'<figure><img src="{uri}" alt="{html.escape(cap)}"><figcaption>{html.escape(cap)}'
            "</figcaption></figure>"
            for cap, uri in pictures
        )
        cells = "".join(
            f"<td>{_fmt(item[c])}</td>" if c in item else "<td></td>" for c in _METRIC_COLUMNS
        )
        status = html.escape(str(item.get("status")))
        note = html.escape(str(item.get("error", item.get("note", ""))))
        rows.append(
            f'<tr class="{status}"><td>{html.escape(item["name"])}<div class="note">{note}</div>'
            f"</td><td>{html.escape(str(item.get('kind')))}</td><td>{status}</td>{cells}"
            f'<td class="pics">{figures}</td></tr>'
        )
    summary_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>"
        for k, v in summary.items()
        if not isinstance(v, list)
    )
    failed = summary.get("thresholds_failed") or []
    verdict = (
        "<p class='bad'>Thresholds missed: " + html.escape("; ".join(failed)) + "</p>"
        if failed
        else "<p class='good'>All thresholds met.</p>"
    )
    header = "".join(f"<th>{c}</th>" for c in _METRIC_COLUMNS)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>imaging comparison report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 6px; font-size: 13px; vertical-align: top; }}
tr.missing, tr.failed {{ background: #fde8e8; }}
figure {{ display: inline-block; margin: 0 6px 0 0; }}
figcaption {{ font-size: 11px; color: #555; text-align: center; }}
.note {{ font-size: 11px; color: #a00; max-width: 28em; }}
.bad {{ color: #a00; font-weight: bold; }} .good {{ color: #070; font-weight: bold; }}
</style></head>
<body>
<h1>Comparison report</h1>
{verdict}
<h2>Summary</h2>
<table id="summary">{summary_rows}</table>
<h2>Items, worst first</h2>
<table id="items"><thead><tr><th>name</th><th>kind</th><th>status</th>{header}<th>pictures</th>
</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (im) {{ return im.complete && im.naturalWidth > 0; }});
  document.body.setAttribute("data-images-total", images.length);
  document.body.setAttribute("data-images-decoded", decoded.length);
  document.body.setAttribute("data-rows", document.querySelectorAll("#items tbody tr").length);
}});
</script>
</body></html>
"""
    write_text(path, page)
    return path


def write_plot(items: list[dict[str, Any]], path: Path) -> Path:
    """A bar chart (PNG) of each item's badness, worst first: 1−SSIM, 1−F1, error in °C."""
    import cv2

    from imaging.compare.run import _badness

    shown = items[:40]
    values = [_badness(i) for i in shown]
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite) if finite else 1.0
    top = top or 1.0
    bar, gap, left = 14, 4, 260
    height = 40 + len(shown) * (bar + gap)
    canvas = np.full((height, 760, 3), 255, np.uint8)
    cv2.putText(
        canvas,
        "badness per item (1-SSIM, 1-F1, 1-char acc., max err C); red: missing",
        (8, 22),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    for k, (item, value) in enumerate(zip(shown, values, strict=True)):
        y = 34 + k * (bar + gap)
        name = item["name"] if len(item["name"]) <= 34 else "..." + item["name"][-31:]
        cv2.putText(
            canvas, name, (8, y + bar - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA
        )
        if math.isfinite(value):
            width = int(480 * value / top)
            cv2.rectangle(canvas, (left, y), (left + max(width, 1), y + bar), (60, 110, 200), -1)
            cv2.putText(
                canvas,
                f"{value:.3g}",
                (left + max(width, 1) + 4, y + bar - 3),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
        else:
            cv2.rectangle(canvas, (left, y), (left + 480, y + bar), (220, 60, 60), -1)
    from imaging.io import imwrite

    imwrite(path, canvas)
    return path


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    atomic_write(path, text)
