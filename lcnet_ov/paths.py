"""Every path under ``$LCNET_OV_HOME``, computed in one place.

``LCNET_OV_HOME`` overrides the default root, the platform's user cache folder from
``platformdirs`` (``~/.cache/lcnet-ov`` on Linux, ``~/Library/Caches/lcnet-ov`` on macOS,
``%LOCALAPPDATA%\\lcnet-ov\\Cache`` on Windows). It is read at call time, so tests and services
can point it elsewhere without re-importing.

Layout::

    $LCNET_OV_HOME/
      downloads/<archive>.tar (+ .sha256, .lock)     official tarballs
      models/<name>/<archive_dir>/                   extracted Paddle inference models
      ir/<name>/<precision>/model.xml|.bin           zoo IRs (fp32, fp16, int8, fp32-u8, ...)
      ir/converted/<fingerprint>/<precision>/        IRs of user-given conversion sources
      ir/converted/<fingerprint>/onnx/model.onnx     the ONNX form the bench peers run
      compiled/                                      OpenVINO's compiled-blob cache (CACHE_DIR)

Other modules ask here instead of joining folder names themselves, so moving a folder is one
edit and two modules can never disagree about where a file lives. Only light imports: the
runtime resolves paths on every model load.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import zoo

ENV_HOME = "LCNET_OV_HOME"
#: the precisions a model can be asked for (folder names under ``ir/<name>/``)
PRECISIONS = ("fp32", "fp16", "int8")
IR_FILE = "model.xml"
#: folder suffix of IRs whose preprocessing is folded in (``convert --embed-preprocessing``)
EMBEDDED_SUFFIX = "-u8"


def home() -> Path:
    """The cache root: ``$LCNET_OV_HOME`` if set, else the platform's user cache folder."""
    root = os.environ.get(ENV_HOME)
    if root:
        return Path(root).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("lcnet-ov", appauthor=False))


# ---- Downloads and extracted models ------------------------------------------------------------


def downloads_dir() -> Path:
    return home() / "downloads"


def archive_path(spec: zoo.ModelSpec) -> Path:
    """Where the cache keeps (or where a user may drop) ``spec``'s tarball."""
    return downloads_dir() / spec.archive_name


def archive_lock(spec: zoo.ModelSpec) -> Path:
    """The file lock that serialises work on ``spec``'s archive across processes."""
    return downloads_dir() / f"{spec.archive_name}.lock"


def models_dir(name: str) -> Path:
    return home() / "models" / name


def model_dir(spec: zoo.ModelSpec) -> Path:
    """Where ``spec``'s extracted inference model lives once downloaded."""
    return models_dir(spec.name) / spec.archive_dir


# ---- IRs ---------------------------------------------------------------------------------------


def ir_path(name: str, precision: str = "fp32") -> Path:
    """Where the zoo keeps the IR of ``name`` at ``precision`` (``fp32``, ``fp16``, ``int8``)."""
    return home() / "ir" / name / precision / IR_FILE


def converted_precisions(name: str) -> list[str]:
    """Precision folders for which the cache holds a complete IR of zoo model ``name``."""
    root = ir_path(name).parent.parent
    if not root.is_dir():
        return []
    return sorted(
        xml.parent.name for xml in root.glob(f"*/{IR_FILE}") if xml.with_suffix(".bin").is_file()
    )


def conversion_precision(*, compress_to_fp16: bool, embed_preprocessing: bool) -> str:
    """The precision folder ``convert`` writes to: ``fp32``/``fp16``, ``-u8`` when folded."""
    precision = "fp16" if compress_to_fp16 else "fp32"
    return precision + EMBEDDED_SUFFIX if embed_preprocessing else precision


def source_fingerprint(path: Path) -> str:
    """Identity of a conversion source: its absolute path plus size/mtime of every file in it.

    Editing, replacing or touching any file of the source gives a new fingerprint, so a changed
    source is converted again instead of served from a stale IR.
    """
    import hashlib  # here: loading OpenSSL costs ~3 ms that zoo names and IRs never need

    h = hashlib.sha256(str(path.resolve()).encode())
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _converted_root(source: Path) -> Path:
    return home() / "ir" / "converted" / source_fingerprint(Path(source))


def converted_ir_path(source: Path, precision: str = "fp32") -> Path:
    """Where the IR converted from a user-given ``source`` (file or folder) is cached."""
    return _converted_root(source) / precision / IR_FILE


def peer_onnx_path(source: Path) -> Path:
    """The ONNX form of a Paddle ``source`` for the bench peers, beside its converted IRs
    (one fingerprint names both)."""
    return _converted_root(source) / "onnx" / "model.onnx"


def int8_ir_path(model: str | os.PathLike) -> Path:
    """Where ``resolve_ir(model, "int8")`` finds, and ``quantize`` writes, the INT8 IR of ``model``.

    Zoo names and conversion sources map to their cache slots. An ``.xml`` model gets a sibling
    ``int8/`` folder when it sits in a precision folder (``…/fp32/model.xml``), otherwise a
    ``<stem>-int8.xml`` beside it.
    """
    path = Path(model).expanduser()
    if path.suffix.lower() == ".xml":
        if path.parent.name in ("fp32", "fp16"):
            return path.parent.parent / "int8" / path.name
        return path.with_name(f"{path.stem}-int8.xml")
    if path.exists():
        return converted_ir_path(path, "int8")
    return ir_path(zoo.get_spec(str(model)).name, "int8")  # unknown names raise here


# ---- Compiled models ---------------------------------------------------------------------------


def compiled_cache_dir() -> Path:
    """Folder for OpenVINO's ``CACHE_DIR``: compiled blobs that make later loads fast."""
    return home() / "compiled"
