"""Headless Chromium for the HTML report tests: the DOM of a page after its scripts ran."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    """The Chromium executable; fails under AZCOST_REQUIRE_CHROMIUM=1, else skips, without one."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("AZCOST_REQUIRE_CHROMIUM") == "1":
        pytest.fail("AZCOST_REQUIRE_CHROMIUM=1 but chromium is not installed")
    pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run does it)")


def rendered_dom(page: Path) -> str:
    """The DOM of ``page`` as headless Chromium leaves it once its scripts have run."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout
