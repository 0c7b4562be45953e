"""A verified dataset download with a progress bar on the console (CLI and demo)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from movierecs.data.download import ensure_dataset


def fetch_dataset(name: str, data_dir: Path, base_url: str, console: Console) -> tuple[Path, bool]:
    """``ensure_dataset`` with a transient progress bar; returns (folder, downloaded now)."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"downloading {name}", total=None)
        return ensure_dataset(
            name, data_dir, base_url, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
