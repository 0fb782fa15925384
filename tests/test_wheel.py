"""The wheel holds everything the code reads at run time: it is built, installed into a fresh virtual
environment (that reuses this environment's dependencies, so no network) and run from a folder outside
the source tree: `monitor init`, `monitor playbooks validate`, `monitor demo --days 1` and the dashboard's
app, loaded by Streamlit's AppTest from the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "monitor"
APP_CHECK = '''
import sys
from pathlib import Path

import monitor
from streamlit.testing.v1 import AppTest

app = Path(monitor.__file__).parent / "dashboard" / "app.py"
at = AppTest.from_file(str(app), default_timeout=120).run()
assert not at.exception, [e.message for e in at.exception]
print("app:", app)
print("titles:", [t.value for t in at.title])
at.switch_page("views/incidents.py").run()
assert not at.exception, [e.message for e in at.exception]
print("incident titles:", [t.value for t in at.title])
'''


def reused_site_dirs() -> list[str]:
    """The site-packages folders this interpreter reads (its own and any it reuses), for the dependencies.

    Their ``.pth`` files are not run for a folder named in another ``.pth``, so an editable install of
    this checkout in them does not make the source tree importable (the first test checks it)."""
    return [p for p in dict.fromkeys(sys.path) if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]


def run(command: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(name="installed", scope="module")
def installed_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh environment with the wheel installed, and the environment variables to run it with."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(SOURCE, source / "monitor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MONITOR_CONFIG", "VIRTUAL_ENV")}
    env |= {"HF_HUB_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist",
         source], cwd=work, env=env)
    [wheel] = (work / "dist").glob("monitor-*.whl")

    fresh = work / "venv"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env).stdout
    (Path(purelib.strip()) / "reused.pth").write_text("\n".join(reused_site_dirs()) + "\n", encoding="utf-8")
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel], work, env)
    env["PATH"] = f"{fresh / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return fresh, env


def test_the_installed_package_is_the_wheel_not_the_source(installed, tmp_path):
    fresh, env = installed
    found = run([fresh / "bin" / "python", "-c", "import monitor; print(monitor.__file__)"], tmp_path, env).stdout
    assert Path(found.strip()).is_relative_to(fresh) and not Path(found.strip()).is_relative_to(SOURCE)


def test_init_and_playbooks_validate_from_the_installed_package(installed, tmp_path):
    fresh, env = installed
    monitor = fresh / "bin" / "monitor"
    run([monitor, "init"], tmp_path, env)
    assert len(list((tmp_path / "playbooks").glob("*.yaml"))) == 7
    validated = run([monitor, "playbooks", "validate"], tmp_path, env)
    assert validated.stdout.count("ok  ") == 7


def test_demo_and_dashboard_from_the_installed_package(installed, tmp_path):
    fresh, env = installed
    demo = run([fresh / "bin" / "monitor", "demo", "--days", "1", "--workdir", "demo"], tmp_path, env, timeout=1800)
    assert "Incident" in demo.stdout and "monitor dashboard --config" in demo.stdout
    config = tmp_path / "demo" / "monitor.yaml"
    playbooks = Path(yaml.safe_load(config.read_text(encoding="utf-8"))["alerts"]["playbooks_dir"])
    assert playbooks.is_relative_to(fresh)
    assert str(SOURCE) not in demo.stdout + demo.stderr

    (tmp_path / "app_check.py").write_text(APP_CHECK, encoding="utf-8")
    shown = run([fresh / "bin" / "python", "app_check.py"], tmp_path, env | {"MONITOR_CONFIG": str(config)})
    assert f"app: {fresh}" in shown.stdout
    assert "Aurora Air" in shown.stdout and str(SOURCE) not in shown.stdout + shown.stderr
