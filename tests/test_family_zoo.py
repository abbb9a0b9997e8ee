"""The PP-LCNet family in the zoo: official names, URLs and tarball layouts, downloads from a
loopback HTTP server and offline ``--from`` installs in each source's exact layout, conversion.

The registry tests are cheap. The layout tests build seeded models in PaddleX 3's layout
(``inference.json`` + ``.pdiparams`` + ``.yml``) and PULC's (``inference.pdmodel`` +
``.pdiparams`` + ``.pdiparams.info``) with :mod:`lcnet_ov.testing.family_tars` (a Paddle child
each, ~5 s), serve them from a real ``ThreadingHTTPServer`` on 127.0.0.1 and go through the same
code the CLI runs.
"""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lcnet_ov import paths, zoo
from lcnet_ov.cli import main
from lcnet_ov.errors import DownloadError, UnsafeArchiveError
from lcnet_ov.export import download

PADDLEX = "PP-LCNet_x0_25_textline_ori"
PULC = "person_exists"

PADDLEX_NAMES = [
    "PP-LCNet_x0_25_textline_ori",
    "PP-LCNet_x1_0_textline_ori",
    "PP-LCNet_x1_0_doc_ori",
    "PP-LCNet_x1_0_table_cls",
    "PP-LCNet_x1_0_pedestrian_attribute",
    "PP-LCNet_x1_0_vehicle_attribute",
    "PP-LCNet_x1_0_ML",
    "PP-LCNetV2_small",
    "PP-LCNetV2_base",
    "PP-LCNetV2_large",
    *(f"PP-LCNet_x{t}" for t in ("0_25", "0_35", "0_5", "0_75", "1_0", "1_5", "2_0", "2_5")),
]
PULC_NAMES = [
    "person_exists",
    "car_exists",
    "safety_helmet",
    "traffic_sign",
    "text_image_orientation",
    "textline_orientation",
    "language_classification",
    "person_attribute",
    "vehicle_attribute",
]


# ----------------------------------------------------------------------------- the registry


def test_every_family_member_is_known_by_its_official_name() -> None:
    for name in PADDLEX_NAMES + PULC_NAMES:
        assert zoo.get_spec(name).name == name
    # today's names keep working, and stay PaddleClas' tarballs
    assert zoo.get_spec("PPLCNet_x1_0").source == "paddleclas"
    assert zoo.get_spec("PPLCNet_x1_0").archive_dir == "PPLCNet_x1_0_infer"
    assert zoo.get_spec("pp-lcnet_x1_0").name == "PP-LCNet_x1_0"  # case-insensitive lookup


@pytest.mark.parametrize("name", PADDLEX_NAMES)
def test_paddlex_entries(name: str) -> None:
    spec = zoo.get_spec(name)
    assert spec.source == "paddlex"
    assert spec.infer_url == (
        "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/"
        f"paddle3.0.0/{name}_infer.tar"
    )
    assert spec.archive_dir == f"{name}_infer"
    assert set(spec.archive_files) == {"inference.json", "inference.pdiparams", "inference.yml"}
    assert "inference.yml" in spec.required_files


@pytest.mark.parametrize("name", PULC_NAMES)
def test_pulc_entries_and_their_packaged_configs(name: str) -> None:
    """PULC tars carry no config: PaddleClas' deploy yaml ships in the package, and the label
    list it names resolves from the deploy folder exactly as in PaddleClas."""
    spec = zoo.get_spec(name)
    assert spec.source == "pulc"
    assert (
        spec.infer_url == f"https://paddleclas.bj.bcebos.com/models/PULC/inference/{name}_infer.tar"
    )
    assert set(spec.archive_files) == {
        "inference.pdmodel",
        "inference.pdiparams",
        "inference.pdiparams.info",
    }
    assert spec.config_file is not None and spec.config_file.name == f"inference_{name}.yaml"
    config = yaml.safe_load(spec.config_file.read_text(encoding="utf-8"))
    post = config["PostProcess"]
    op = post[post["main_indicator"]]
    expected_kind = {"Topk": "topk", "ThreshOutput": "threshold"}.get(
        post["main_indicator"], post["main_indicator"].replace("Attribute", "_attribute").lower()
    )
    assert spec.kind == expected_kind
    if "class_id_map_file" in op:
        label_file = zoo.PULC_DEPLOY_DIR / op["class_id_map_file"]
        names = [ln.split(" ", 1)[1] for ln in label_file.read_text("utf-8").splitlines() if ln]
        assert tuple(names) == spec.labels
    if post["main_indicator"] == "ThreshOutput":
        assert spec.labels == (op["label_0"], op["label_1"])
    resize = config["PreProcess"]["transform_ops"][0]["ResizeImage"]
    if "size" in resize:  # [w, h]
        assert spec.input_hw == (resize["size"][1], resize["size"][0])
    else:
        assert spec.input_hw == (224, 224)


def test_task_models_carry_their_labels_input_and_output() -> None:
    ped = zoo.get_spec("PP-LCNet_x1_0_pedestrian_attribute")
    assert (ped.num_classes, ped.input_hw, ped.output, ped.kind) == (
        26,
        (256, 192),
        "sigmoid",
        "multilabel",
    )
    assert ped.labels[0] == "Hat(帽子)" and ped.labels[-1] == "Back(背面)"
    assert zoo.get_spec("PP-LCNet_x1_0_ML").labels[:2] == ("person", "bicycle")
    assert zoo.get_spec("PP-LCNet_x1_0_ML").input_hw == (448, 448)
    assert zoo.get_spec("PP-LCNet_x1_0_doc_ori").labels == ("0", "90", "180", "270")
    assert zoo.get_spec("vehicle_attribute").input_hw == (192, 256)
    for name in zoo.list_models():
        spec = zoo.get_spec(name)
        assert spec.labels == "imagenet1k" or len(spec.labels) == spec.num_classes, name


def test_archive_names_are_unique() -> None:
    """Every tarball has its own cache file (PaddleX's PP-LCNet_x1_0 vs PaddleClas' PPLCNet)."""
    names = [zoo.get_spec(n).archive_name for n in zoo.list_models()]
    assert len(names) == len(set(names))


# ----------------------------------------------------------------------------- layouts


@pytest.fixture(scope="module")
def tars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One seeded tar per source, in the exact layout it ships."""
    from lcnet_ov.testing.family_tars import build_tar

    out = tmp_path_factory.mktemp("family-tars")
    return {name: build_tar(name, out) for name in (PADDLEX, PULC)}


@pytest.fixture
def mirror(tars: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    routes = {"/" + p.name: p.read_bytes() for p in tars.values()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def home(tmp_path: Path, mirror: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LCNET_OV_MIRROR", mirror[0])
    monkeypatch.delenv("LCNET_OV_OFFLINE", raising=False)
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.01)
    return tmp_path / "home"


def _members(tar: Path) -> dict[str, bytes]:
    with tarfile.open(tar) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _repack(members: dict[str, bytes], path: Path) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", [PADDLEX, PULC])
def test_download_from_the_mirror_in_each_layout(
    name: str, home: Path, mirror: tuple[str, list[str]], tars: dict[str, Path], capsys
) -> None:
    spec = zoo.get_spec(name)
    assert main(["models", "download", name, "--json", "--no-progress"]) == 0
    path = Path(json.loads(capsys.readouterr().out)["path"])
    assert path == paths.models_dir(name) / spec.archive_dir
    assert sorted(p.name for p in path.iterdir()) == sorted(spec.archive_files)
    for member, data in _members(tars[name]).items():
        assert (path / member.split("/", 1)[1]).read_bytes() == data
    assert mirror[1] == ["/" + spec.archive_name]
    assert download.extracted_model(name) == path
    # listed as downloaded, by its official name
    assert main(["models", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == name)
    assert row["downloaded"] and row["source"] == spec.source


@pytest.mark.slow
@pytest.mark.parametrize("name", [PADDLEX, PULC])
def test_offline_from_tar_in_each_layout(
    name: str, home: Path, mirror: tuple[str, list[str]], tars: dict[str, Path], monkeypatch, capsys
) -> None:
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")
    assert main(["models", "download", name, "--from", str(tars[name]), "--no-progress"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert sorted(p.name for p in path.iterdir()) == sorted(zoo.get_spec(name).archive_files)
    assert mirror[1] == []  # no request


@pytest.mark.slow
def test_paddlex_tar_without_its_yml_is_incomplete(
    home: Path, tars: dict[str, Path], tmp_path: Path
) -> None:
    """A PaddleX model's pre- and post-processing live in inference.yml: without it the model
    would run with guessed ImageNet settings, so the archive is refused."""
    members = {k: v for k, v in _members(tars[PADDLEX]).items() if not k.endswith(".yml")}
    src = _repack(members, tmp_path / "no-yml.tar")
    with pytest.raises(DownloadError, match=r"needs inference\.json and .*inference\.yml"):
        download.download_model(PADDLEX, from_file=src, progress=False)
    assert not paths.models_dir(PADDLEX).exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "foreign"),
    [(PULC, "inference.json"), (PULC, "inference.yml"), (PADDLEX, "inference.pdmodel")],
)
def test_files_of_another_source_are_refused(
    name: str, foreign: str, home: Path, tars: dict[str, Path], tmp_path: Path
) -> None:
    spec = zoo.get_spec(name)
    members = _members(tars[name])
    members[f"{spec.archive_dir}/{foreign}"] = b"{}"
    src = _repack(members, tmp_path / "foreign.tar")
    with pytest.raises(UnsafeArchiveError, match=f"{foreign}.*{spec.source} model ships"):
        download.download_model(name, from_file=src, progress=False)
    assert not paths.models_dir(name).exists()


@pytest.mark.slow
def test_a_tar_of_another_model_is_refused(
    home: Path, tars: dict[str, Path], tmp_path: Path
) -> None:
    """person_exists' tar handed in for car_exists: the top folder gives it away."""
    with pytest.raises(UnsafeArchiveError, match="outside the expected top folder car_exists"):
        download.download_model("car_exists", from_file=tars[PULC], progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", [PADDLEX, PULC])
def test_downloaded_family_models_convert(name: str, home: Path, tars: dict[str, Path]) -> None:
    """The zoo name converts from the installed tarball (no network: offline --from first),
    verified against Paddle Inference, with the model's official labels."""
    from lcnet_ov import read_metadata

    assert main(["models", "download", name, "--from", str(tars[name]), "--no-progress"]) == 0
    assert main(["convert", name]) == 0
    meta = read_metadata(paths.ir_path(name))
    spec = zoo.get_spec(name)
    assert meta.name == name and meta.labels == spec.labels
    assert meta.source["zoo"] == name and meta.source["url"] == spec.infer_url


def test_models_page_lists_every_family_member_with_its_input() -> None:
    """docs/models.md: one row per PaddleX 3 / PULC model with its task and input size."""
    page = (Path(__file__).parent.parent / "docs" / "models.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in page.splitlines() if "| `" in line}
    for name in PADDLEX_NAMES + PULC_NAMES:
        spec = zoo.get_spec(name)
        h, w = spec.input_hw
        cells = [c.strip() for c in rows[name].split("|")]
        assert cells[2:5] == [spec.source, spec.task, f"{h}×{w}"], name
        assert f"lcnet-ov infer -m {name} " in cells[6]
