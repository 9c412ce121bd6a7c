"""The import contracts in ``.importlinter`` catch what they promise to catch: a plugin that goes
around ``core.sdk``, and a private name taken from another package. (``scripts/test`` runs
``lint-imports`` over the real tree; here it runs over a copy with one bad module added.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_with(tmp_path: Path, module: str, source: str) -> subprocess.CompletedProcess[str]:
    """lint-imports with our configuration, over core and a copy of plugins holding ``module``."""
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "plugins" / Path(*module.split(".")[1:])).with_suffix(".py").write_text(source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "scripts"), str(ROOT)])}
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / ".importlinter"), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def _tree_is_clean():
    # The checks below mean something only if the real tree passes them.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)])}
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_a_plugin_importing_core_internals_breaks_the_check(tmp_path):
    result = _lint_with(
        tmp_path, "plugins.coupons.sneaky", "from core.db.session import Database\n\nDB = Database\n"
    )
    assert result.returncode == 1
    assert "Plugins import core only through core.sdk BROKEN" in result.stdout
    assert "plugins.coupons.sneaky -> core.db.session" in result.stdout


def test_a_plugin_importing_from_the_sdk_passes(tmp_path):
    result = _lint_with(tmp_path, "plugins.coupons.polite", "from core.sdk import Ctx\n\nC = Ctx\n")
    assert result.returncode == 0, result.stdout


def test_a_private_name_from_another_package_breaks_the_check(tmp_path):
    result = _lint_with(tmp_path, "plugins.coupons.nosy", "from core.sdk import _private_helper\n")
    assert result.returncode == 1
    assert "No private name imported across packages BROKEN" in result.stdout
    assert "from core.sdk import _private_helper" in " ".join(result.stdout.split())
