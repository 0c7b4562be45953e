"""Start the Streamlit UI as a child process (used by ``movierecs ui`` and ``make demo``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")


def ui_command(host: str, port: int) -> list[str]:
    """The command line that serves the UI script headless on ``host:port``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # no file watcher: the UI is not edited while it runs, and polling costs CPU on small boxes
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",  # no "Deploy" button in a demo
    ]  # fmt: skip


def run_ui(api_url: str, host: str, port: int) -> subprocess.Popen[bytes]:
    """Start the UI (``python -m streamlit run app.py``) pointed at ``api_url``; returns the process.

    The caller owns the process: ``proc.terminate(); proc.wait()`` stops it. The UI is ready when
    ``http://host:port/_stcore/health`` answers ``ok``.
    """
    env = {**os.environ, "MOVIERECS_API_URL": api_url}
    return subprocess.Popen(ui_command(host, port), env=env, stdin=subprocess.DEVNULL)
