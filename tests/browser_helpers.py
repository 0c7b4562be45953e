"""What the headless-Chromium tests share (the UI's and the MLflow UI's): where the browser is, how
it is started, and how a screenshot for docs/ is kept small. Imported by name: tests/ has no packages."""

from __future__ import annotations

import io
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]  # fmt: skip
MAX_SCREENSHOT_BYTES = 300_000


def save_screenshot(png: bytes, path: Path) -> None:
    """Write ``png``; re-encode with a 256-colour palette if it is over the docs' budget."""
    if len(png) > MAX_SCREENSHOT_BYTES:
        from PIL import Image

        buf = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(buf, "PNG", optimize=True)
        png = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
