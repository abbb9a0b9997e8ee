"""``lcnet_ov.bench``: real OpenVINO / ONNX Runtime / Paddle runs, short loops, no timing limits.

The text-orientation model (a trained PP-LCNet x1.0) is the OpenVINO and ONNX Runtime subject;
a seeded x0.25 PP-LCNet export is the Paddle Inference one. Loops are 10-20 iterations: these
tests check that the numbers are consistent and the settings honoured, not how fast anything is.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from lcnet_ov import bench
from lcnet_ov.bench import BenchError, BenchSettings, expand
from lcnet_ov.bench.machine import _parse_cpuinfo, machine_info
from lcnet_ov.bench.report import format_report, format_table, plot, to_json
from lcnet_ov.errors import InvalidModelFileError
from lcnet_ov.runtime.core import shared_core

CORES = len(os.sched_getaffinity(0))


def _cpu_capabilities() -> list[str]:
    """What OpenVINO's CPU plugin says this CPU can compute in (FP32, BF16, INT8, ...)."""

    return [str(c) for c in shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


@pytest.fixture(scope="module")
def ir(rapid_onnx: Path) -> Path:
    from lcnet_ov.export.resolve import resolve_ir

    return resolve_ir(rapid_onnx)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real JPEG/PNG files of different sizes, one in a class subfolder."""
    folder = tmp_path_factory.mktemp("bench-images")
    rng = np.random.default_rng(0)
    (folder / "cls").mkdir()
    for name, (h, w) in {"a.jpg": (300, 400), "b.png": (256, 256), "cls/c.jpg": (480, 320)}.items():
        small = rng.integers(0, 256, (h // 16, w // 16, 3), np.uint8)
        cv2.imwrite(str(folder / name), cv2.resize(small, (w, h)))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _check_consistent(m: bench.Measurement) -> None:
    lat = m.latency
    assert 0 < lat.min <= lat.median <= lat.p90 <= lat.p99 <= lat.max
    assert lat.min <= lat.mean <= lat.max
    assert lat.count == m.iterations
    assert m.throughput_fps == pytest.approx(m.config.batch_size * m.iterations / m.duration_s)
    assert m.first_inference_ms > 0 and m.load_ms > 0


def test_percentile_is_benchmark_apps_nearest_rank():
    from openvino.tools.benchmark.benchmark import percentile as bapp_percentile

    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 100, 1001):
        values = sorted(rng.exponential(5.0, n).tolist())
        for p in (50, 90, 99):
            assert bench.percentile(values, p) == bapp_percentile(values, p)


def test_sync_run_is_consistent_and_reports_what_openvino_chose(ir):
    result = bench.run(ir, mode="sync", iterations=15, threads=1)
    (m,) = result.results
    _check_consistent(m)
    assert m.iterations == 15 and m.requests == 1
    assert m.config.hint == "latency"  # sync implies the latency hint, as in benchmark_app
    assert m.actual["PERFORMANCE_HINT"] == "LATENCY"
    assert m.actual["INFERENCE_NUM_THREADS"] == 1
    assert m.actual["INFERENCE_PRECISION_HINT"] == "f32"
    assert m.actual["NUM_STREAMS"] == 1
    assert m.model_path == str(ir)
    assert result.machine.available_cores == CORES


def test_async_keeps_whole_rounds_of_requests(ir):
    (m,) = bench.run(ir, requests=3, iterations=10, hint="none", streams=2).results
    _check_consistent(m)
    assert m.requests == 3
    assert m.iterations == 12  # 10 rounded up to whole rounds of 3, as benchmark_app does
    assert m.actual["NUM_STREAMS"] == 2


def test_default_async_uses_the_optimal_number_of_requests(ir):
    (m,) = bench.run(ir, iterations=8).results
    assert m.config.mode == "async" and m.config.hint == "throughput"
    assert m.requests == m.actual["OPTIMAL_NUMBER_OF_INFER_REQUESTS"]
    assert m.iterations % m.requests == 0


@pytest.mark.slow
def test_sweep_gives_one_result_per_config_with_the_requested_threads(ir):
    threads = sorted({1, min(2, CORES)})
    result = bench.run(ir, threads=threads, batch_size=[1, 2], iterations=6, mode="sync")
    got = [(m.config.threads, m.config.batch_size) for m in result.results]
    assert sorted(got) == sorted((t, b) for t in threads for b in (1, 2))
    for m in result.results:
        _check_consistent(m)
        assert m.actual["INFERENCE_NUM_THREADS"] == m.config.threads
        assert m.actual_threads == m.config.threads
    assert not result.warnings


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_time_limit_stops_the_loop(ir):
    (m,) = bench.run(ir, time_s=0.3, mode="sync").results
    assert m.duration_s >= 0.3
    _check_consistent(m)


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_onnxruntime_peer_runs_and_paddle_is_skipped_for_onnx(rapid_onnx):
    result = bench.run(
        rapid_onnx, backend=["openvino", "onnxruntime", "paddle"], threads=1, iterations=10
    )
    by_backend = {m.config.backend: m for m in result.results}
    assert set(by_backend) == {"openvino", "onnxruntime"}
    ort = by_backend["onnxruntime"]
    _check_consistent(ort)
    assert ort.config.mode == "sync" and ort.actual["intra_op_num_threads"] == 1
    assert ort.model_path == str(rapid_onnx)
    assert any("sync loop" in n for n in ort.notes)
    (skip,) = result.skipped
    assert skip.backend == "paddle" and "needs a Paddle inference model" in skip.reason


@pytest.mark.slow
def test_paddle_peer_with_onednn(paddle_models):
    folder = paddle_models.inference_dir(0.25)
    result = bench.run(folder, backend=["paddle", "onnxruntime"], threads=1, iterations=10)
    assert not result.skipped
    by_backend = {m.config.backend: m for m in result.results}
    paddle = by_backend["paddle"]
    _check_consistent(paddle)
    assert paddle.actual["mkldnn"] is True and paddle.actual["cpu_math_library_num_threads"] == 1
    assert paddle.model_path.endswith("inference.pdmodel")
    assert by_backend["onnxruntime"].model_path.endswith("model.onnx")  # via paddle2onnx, cached


def test_missing_int8_ir_fails_before_measuring(orientation_xml):
    with pytest.raises(InvalidModelFileError, match="lcnet-ov quantize"):
        bench.run("text_image_orientation", precision=["fp32", "int8"], iterations=2)


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_int8_is_measured_with_openvino_only(ir, rapid_onnx, tmp_path, monkeypatch):
    import shutil

    from lcnet_ov.paths import converted_ir_path

    # a private cache where the fp32 IR also stands in for the INT8 one `quantize` would write
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    for precision in ("fp32", "int8"):
        target = converted_ir_path(rapid_onnx, precision)
        target.parent.mkdir(parents=True)
        shutil.copy(ir, target)
        shutil.copy(ir.with_suffix(".bin"), target.with_suffix(".bin"))
    result = bench.run(
        rapid_onnx, precision=["fp32", "int8"], backend=["openvino", "onnxruntime"], iterations=4
    )
    got = sorted((m.config.backend, m.config.precision) for m in result.results)
    assert got == [("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "int8")]
    (skip,) = result.skipped
    assert (skip.backend, skip.precision) == ("onnxruntime", "int8")
    assert "OpenVINO only" in skip.reason


def test_xml_has_one_precision(ir):
    with pytest.raises(BenchError, match="one precision"):
        bench.run(ir, precision=["fp32", "int8"], iterations=2)


def test_xml_is_labelled_by_its_own_precision(ir):
    result = bench.run(ir, precision="int8", iterations=2, mode="sync")
    (m,) = result.results
    assert m.config.precision == "fp32"  # the IR's rt_info says fp32; the label follows it
    assert any("is a fp32 IR" in w for w in result.warnings)


def test_end_to_end_times_decoding_and_preprocessing(ir, image_dir):
    (m,) = bench.run(ir, input=image_dir, mode="sync", iterations=6, batch_size=2).results
    _check_consistent(m)
    assert m.preprocess is not None and m.preprocess.count == 6
    # sync end-to-end latency is the wall time of read+decode+preprocess+infer per iteration
    assert m.latency.min >= m.preprocess.min
    assert any("end to end" in n for n in m.notes)
    assert "mean_batch" not in m.actual  # sync keeps the serial decode → infer loop


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_async_end_to_end_is_the_async_classifier_pipeline(ir, image_dir, tmp_path):
    """Async + a folder runs AsyncClassifier.map: -n counts images, batches are its own."""
    (a,) = bench.run(ir, input=image_dir, iterations=7, batch_size=4, requests=2).results
    assert a.iterations == a.latency.count == 7  # images, not batch × inferences
    assert a.throughput_fps == pytest.approx(7 / a.duration_s)
    assert 0 < a.latency.min <= a.latency.median <= a.latency.max
    assert a.preprocess is None  # stages overlap in the pipeline: no per-batch decode time
    sizes = {int(k): v for k, v in a.actual["batch_sizes"].items()}
    assert sum(k * v for k, v in sizes.items()) == 7 and max(sizes) <= 4
    assert a.actual["mean_batch"] == pytest.approx(7 / sum(sizes.values()), abs=0.01)
    assert a.requests == 2 and a.actual["INFERENCE_PRECISION_HINT"] == "f32"
    assert any("AsyncClassifier.map" in n for n in a.notes)
    # a broken file fails as that image (a note), the rest are still timed
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((image_dir / "a.jpg").read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (b,) = bench.run(ir, input=folder, iterations=4).results
    assert b.iterations == 4
    assert any(n.startswith("2 of 4 images failed") and "broken.jpg" in n for n in b.notes)
    (folder / "a.jpg").unlink()
    with pytest.raises(BenchError, match="every image failed"):
        bench.run(ir, input=folder, iterations=2)


@pytest.mark.slow
def test_ir_with_folded_preprocessing_takes_u8_images(rapid_onnx, image_dir, tmp_path):
    from lcnet_ov.export.conversion import ConvertOptions, convert

    xml = convert(
        rapid_onnx,
        tmp_path / "embedded.xml",
        model="text_image_orientation",
        options=ConvertOptions(embed_preprocessing=True),
    ).xml
    synthetic, e2e = (
        bench.run(xml, input=source, iterations=4, mode="sync").results[0]
        for source in ("synthetic", image_dir)
    )
    _check_consistent(synthetic)
    _check_consistent(e2e)
    assert e2e.preprocess is not None and e2e.preprocess.count == 4


def test_end_to_end_with_peers(rapid_onnx, image_dir):
    result = bench.run(rapid_onnx, backend=["onnxruntime"], input=image_dir, iterations=4)
    (m,) = result.results
    assert m.preprocess is not None and m.preprocess.count == 4


def test_threads_beyond_the_cores_warn(ir):
    too_many = CORES + 1
    settings = BenchSettings(model=ir, threads=(too_many,))
    assert any("exceeds" in w and str(CORES) in w for w in settings.warnings)
    result = bench.run(ir, threads=too_many, iterations=3, mode="sync")
    assert any("exceeds" in w for w in result.warnings)
    (m,) = result.results
    assert m.actual["INFERENCE_NUM_THREADS"] <= CORES  # OpenVINO caps it, and we say so
    assert any("threads" in w and "requested" in w for w in result.warnings)


def test_unsupported_inference_precision_is_reported(ir):
    result = bench.run(ir, infer_precision="bf16", iterations=3, mode="sync")
    (m,) = result.results
    chosen = m.actual["INFERENCE_PRECISION_HINT"]
    assert chosen == ("bf16" if "BF16" in _cpu_capabilities() else "f32")
    assert any("computes in f32, bf16" in w for w in result.warnings) == (chosen != "bf16")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"time_s": 1, "iterations": 5}, "either --time or --iterations"),
        ({"threads": 0}, "--threads must be a positive integer"),
        ({"batch_sizes": ("x",)}, "--batch-size must be a positive integer"),
        ({"batch_sizes": (1.5,)}, "--batch-size must be a positive integer"),
        ({"backends": ("tensorrt",)}, "unknown backend"),
        ({"precisions": ("int4",)}, "unknown precision"),
        ({"hint": "fast"}, "unknown hint"),
        ({"mode": "sync", "requests": 2}, "--requests applies to --mode async"),
        ({"hint": "latency", "requests": 2}, "--requests applies to --mode async"),
        ({"time_s": 0}, "--time must be > 0"),
        ({"warmup": -1}, "--warmup"),
        ({"infer_precision": "fp8"}, "unknown inference precision"),
        ({"input": "/nonexistent/folder"}, "not a folder"),
    ],
)
def test_bad_options_raise_one_clear_error(options, message):
    with pytest.raises(BenchError, match=message.replace("(", r"\(")) as info:
        BenchSettings(model="whatever", **options)
    assert "\n" not in str(info.value)


def test_folder_without_images_is_refused(ir, tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(BenchError, match="no image files"):
        bench.run(ir, input=tmp_path, iterations=2)


def test_hint_and_mode_defaults_follow_benchmark_app():
    def derived(**kw):
        s = BenchSettings(model="m", **kw)
        return s.hint, s.mode

    assert derived() == ("throughput", "async")
    assert derived(hint="latency") == ("latency", "sync")
    assert derived(mode="sync") == ("latency", "sync")
    assert derived(streams=2) == ("none", "async")  # explicit streams are honoured
    assert derived(hint="throughput", streams=2) == ("throughput", "async")


def test_expand_collapses_what_peers_do_not_have():
    s = BenchSettings(
        model="m", backends=("openvino", "onnxruntime"), streams=(1, 2), batch_sizes=(1, 8)
    )
    configs = expand(s)
    ov = [c for c in configs if c.backend == "openvino"]
    ort = [c for c in configs if c.backend == "onnxruntime"]
    assert len(ov) == 4 and len(ort) == 2
    assert all(c.streams is None and c.mode == "sync" for c in ort)
    assert configs.index(ov[-1]) < configs.index(ort[0])  # backend-major order
    assert len({c.label for c in configs}) == len(configs)


@pytest.mark.slow
def test_json_report_and_plot(ir, tmp_path, need):
    result = bench.run(ir, batch_size=[1, 2], iterations=4, mode="sync")
    data = json.loads(to_json(result))
    assert [r["config"]["batch_size"] for r in data["results"]] == [1, 2]
    for r in data["results"]:
        lat = r["latency_ms"]
        assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert math.isclose(
            r["throughput_fps"], r["config"]["batch_size"] * r["iterations"] / r["duration_s"]
        )
    assert data["machine"]["versions"]["openvino"]
    table = format_table(result.results).splitlines()
    assert len(table) == 3 and table[0].startswith("config")
    report = format_report(result)
    # the machine line names this CPU and exactly the ISA extensions /proc/cpuinfo lists
    info = machine_info()
    assert f"machine:  {info.summary()}" in report.splitlines()
    assert result.machine.isa == info.isa and result.machine.cpu == info.cpu
    need("matplotlib")
    png = plot(result.results, tmp_path / "plot.png", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_machine_info_from_cpuinfo(tmp_path):
    text = (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nphysical id\t: 0\n"
        "core id\t: 0\nflags\t\t: fpu avx2 fma avx512f avx512_vnni avx512_bf16 amx_tile "
        "amx_bf16 amx_int8\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nphysical id\t: 0\n"
        "core id\t: 0\nflags\t\t: fpu avx2\n\n"
        "processor\t: 2\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nphysical id\t: 0\n"
        "core id\t: 1\nflags\t\t: fpu avx2\n"
    )
    name, flags, physical = _parse_cpuinfo(text)
    assert name == "Intel(R) Xeon(R) Platinum 8480+" and physical == 2
    assert "amx_int8" in flags  # the first processor's flags
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    info = machine_info(cpuinfo)
    assert info.isa == (
        "AVX2",
        "FMA",
        "AVX512F",
        "AVX512-VNNI",
        "AVX512-BF16",
        "AMX",
        "AMX-INT8",
        "AMX-BF16",
    )
    assert info.available_cores == CORES and info.physical_cores == 2
    assert "AVX512-VNNI" in info.summary()


def test_machine_info_of_this_machine():
    info = machine_info()
    assert info.cpu and info.logical_cpus >= info.available_cores == CORES
    assert "FP32" in info.openvino_capabilities
    assert info.versions["openvino"]


def test_a_folder_in_async_mode_is_benchmarked_at_infers_batch(tmp_path):
    """`bench --input DIR` measures what `infer DIR` runs: its batch of 8 unless -b is given;
    synthetic input and sync mode keep benchmark_app's batch 1."""
    from lcnet_ov.bench.config import PIPELINE_BATCH, BenchSettings

    assert BenchSettings(model="m", input=tmp_path).batch_sizes == (PIPELINE_BATCH,) == (8,)
    assert BenchSettings(model="m", input=tmp_path, mode="sync").batch_sizes == (1,)
    assert BenchSettings(model="m").batch_sizes == (1,)
    assert BenchSettings(model="m", input=tmp_path, batch_sizes=(2,)).batch_sizes == (2,)
