"""The sync ``Classifier`` on the real PP-LCNet text-orientation model: exact probabilities
against ONNX Runtime, streams with broken inputs, static-batch, embedded-preprocessing and logit
IRs, features before the classifier, and input expansion."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import pytest

from lcnet_ov.errors import ImageDecodeError, LabelFileError
from lcnet_ov.export.conversion import ConvertOptions, convert
from lcnet_ov.inputs.files import iter_inputs, list_images
from lcnet_ov.inputs.preprocess import preprocess_image
from lcnet_ov.results import FailedPrediction, Prediction
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.runtime.loaded_model import DeviceError, find_feature_output
from lcnet_ov.runtime.metadata import read_metadata, write_metadata
from lcnet_ov.testing import text_orientation_set


@pytest.fixture(scope="module")
def clf(orientation_xml):
    with Classifier(orientation_xml, batch_size=4) as c:
        yield c


@pytest.fixture(scope="module")
def pages():
    images, labels = text_orientation_set(12, seed=5)
    return images, labels


def _ort(onnx: Path, x: np.ndarray, output: str | None = None) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    return sess.run([output] if output else None, {sess.get_inputs()[0].name: x})[0]


def test_probabilities_equal_onnxruntime_and_classes_are_right(clf, pages, rapid_onnx):
    images, labels = pages
    probs = clf.predict_probs(images)
    pp = clf.metadata.preprocess
    x = np.stack([preprocess_image(img, pp) for img in images])
    ref = _ort(rapid_onnx, x)  # the ONNX ends in Softmax: equal values mean no second softmax
    assert np.abs(probs - ref).max() <= 1e-5
    preds = list(clf.predict(images))
    assert [p.class_id for p in preds] == labels.tolist()
    assert [p.label_name for p in preds] == [("0", "90", "180", "270")[i] for i in labels]
    assert all(len(p.class_ids) == 4 and p.filename is None for p in preds)
    # one image through __call__ equals its row in the streamed batch
    assert clf(images[3]) == preds[3]
    assert clf.inference_precision == "f32"


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, pages) -> Path:
    """Good JPEG/PNG pages plus the broken files users actually have."""
    folder = tmp_path_factory.mktemp("mixed")
    images, _ = pages
    for i, img in enumerate(images[:6]):
        cv2.imwrite(str(folder / f"page{i}.{'png' if i % 2 else 'jpg'}"), img)
    good = (folder / "page0.jpg").read_bytes()
    (folder / "page2a_truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "page3a_text.jpg").write_text("not an image")
    (folder / "page4a_empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("skipped: not an image extension")
    return folder


def test_stream_reports_each_broken_input_in_place_and_goes_on(clf, mixed_folder, pages):
    images, labels = pages
    inputs = [mixed_folder, images[7], b"\x89PNG\r\n\x1a\n junk", str(mixed_folder / "gone.jpg")]
    results = list(clf.predict(inputs))
    names = [r.filename or getattr(r, "name", None) for r in results]
    files = sorted(p.name for p in mixed_folder.iterdir() if p.suffix != ".txt")
    assert names[: len(files)] == [str(mixed_folder / f) for f in files]  # sorted, no notes.txt
    failed = {Path(r.name).name: r for r in results if isinstance(r, FailedPrediction)}
    assert set(failed) == {
        "page2a_truncated.jpg",
        "page3a_text.jpg",
        "page4a_empty.png",
        "<bytes 1>",
        "gone.jpg",
    }
    assert "empty file" in failed["page4a_empty.png"].reason
    assert "no such file" in failed["gone.jpg"].reason
    assert all(r.reason.startswith(r.name) for r in failed.values())
    with pytest.raises(ImageDecodeError):
        _ = failed["page3a_text.jpg"].class_id
    good = [r for r in results if isinstance(r, Prediction)]
    assert [r.class_id for r in good] == [*labels[:6].tolist(), labels[7]]
    assert good[0] == clf(mixed_folder / "page0.jpg")
    assert failed["page3a_text.jpg"].to_dict()["error"].endswith("(not a supported image)")


def test_single_image_call_raises_and_bad_batches_are_refused(clf):
    with pytest.raises(ImageDecodeError, match="not a supported image"):
        clf(b"definitely not an image")
    with pytest.raises(ValueError, match=r"\(N, 3, 224, 224\)"):
        clf.predict_probs(np.zeros((2, 3, 100, 100), np.float32))


def test_predict_streams_lazily(clf, pages):
    """A generator of frames is consumed only a couple of batches ahead of the results."""
    images, _ = pages
    pulled = []

    def frames():
        for i in itertools.count():
            pulled.append(i)
            yield images[i % len(images)]

    stream = clf.predict(frames(), batch_size=4)
    first = next(stream)
    assert isinstance(first, Prediction)
    assert len(pulled) <= 3 * 4
    stream.close()  # cancels the read-ahead


class _SpyRequest:
    """Records the batch sizes an infer request is given."""

    def __init__(self, request) -> None:
        self.request, self.sizes = request, []

    def infer(self, inputs, **kwargs):
        self.sizes.append(len(inputs[0]))
        return self.request.infer(inputs, **kwargs)

    def get_output_tensor(self, index):
        return self.request.get_output_tensor(index)


def test_batch_size_sets_the_inference_batches(clf, pages, monkeypatch):
    images, _ = pages
    spy = _SpyRequest(clf._request)
    monkeypatch.setattr(clf, "_request", spy)
    assert len(list(clf.predict(images[:7], batch_size=3))) == 7
    clf.predict_probs(images[:6])  # the classifier's own batch_size=4
    assert spy.sizes == [3, 3, 1, 4, 2]


def test_closed_classifier_refuses_work(orientation_xml, pages):
    with Classifier(orientation_xml) as c:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        c(pages[0][0])
    with pytest.raises(RuntimeError, match="closed"):
        c.embed(pages[0][:1])


def test_static_batch_ir_pads_the_last_batch(clf, pages, orientation_xml, tmp_path):
    images, _ = pages
    model = shared_core().read_model(orientation_xml)
    model.reshape([4, 3, 224, 224])  # what `convert --batch 4` produces; rt_info is kept
    ov.save_model(model, tmp_path / "b4.xml", compress_to_fp16=False)
    with Classifier(tmp_path / "b4.xml", batch_size=3) as static:
        assert static.model.static_batch == 4
        probs = static.predict_probs(images[:6])  # 4 + 2 padded
        streamed = list(static.predict(images[:7]))
    assert probs.shape == (6, 4)
    assert np.abs(probs - clf.predict_probs(images[:6])).max() <= 1e-5
    assert [p.class_id for p in streamed] == [p.class_id for p in clf.predict(images[:7])]


@pytest.fixture(scope="module")
def u8_xml(rapid_onnx, tmp_path_factory) -> Path:
    """The real model converted with ``--embed-preprocessing``: it takes uint8 BGR crops."""
    return convert(
        rapid_onnx,
        tmp_path_factory.mktemp("u8") / "u8.xml",
        model="text_image_orientation",
        options=ConvertOptions(embed_preprocessing=True, verify=False),
    ).xml


@pytest.mark.slow
def test_embedded_preprocessing_ir_takes_uint8_crops(clf, pages, u8_xml):
    images, _ = pages
    with Classifier(u8_xml) as u8:
        assert u8.metadata.embedded_preprocessing and u8.model.item_shape == (224, 224, 3)
        crops = u8.model.as_batch(images[:5])
        assert crops.dtype == np.uint8
        probs = u8.predict_probs(crops)
        preds = list(u8.predict(images[:5]))
    assert np.abs(probs - clf.predict_probs(images[:5])).max() <= 1e-4
    assert [p.class_ids for p in preds] == [p.class_ids for p in clf.predict(images[:5])]


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_folded_preprocessing_takes_crops_and_agrees_with_the_exact_path(clf, pages):
    """``fold_preprocessing`` changes the compiled graph in memory, never the IR file."""
    images, _ = pages
    with Classifier(clf.xml, fold_preprocessing=True) as fast:
        assert fast.model.folded and fast.model.item_shape == (224, 224, 3)
        assert not fast.metadata.embedded_preprocessing
        assert fast.model.as_batch(images[:2]).dtype == np.uint8
        probs = fast.predict_probs(images)
        preds = list(fast.predict(images))
        features = fast.embed(images[:3])
        with pytest.raises(ValueError, match="preprocessing folded in"):
            fast.predict_probs(np.zeros((1, 224, 224, 3), np.float32))
    assert shared_core().read_model(clf.xml).input(0).get_element_type() == ov.Type.f32
    assert (
        np.abs(probs - clf.predict_probs(images)).max() <= 1e-5
    )  # what it measures: docs/benchmarks.md, section "folding"
    assert [p.class_ids for p in preds] == [p.class_ids for p in clf.predict(images)]
    assert np.abs(features - clf.embed(images[:3])).max() <= 1e-5


@pytest.mark.slow
@pytest.mark.imagenet
def test_folded_preprocessing_on_imagenet_photos(clf, imagenet_dir):
    """Every 10th sample photo (grayscale and odd sizes among them); measured 9.2e-7."""
    files = list_images(imagenet_dir)[::10]
    with Classifier(clf.xml, fold_preprocessing=True) as fast:
        probs = fast.predict_probs(files)
    exact = clf.predict_probs(files)
    assert len(files) == 100 and np.abs(probs - exact).max() <= 1e-5
    assert np.array_equal(probs.argmax(axis=1), exact.argmax(axis=1))


@pytest.mark.slow
def test_folding_an_ir_that_already_takes_crops_changes_nothing(u8_xml):
    with Classifier(u8_xml, fold_preprocessing=True) as u8:
        assert u8.model.uint8_input and not u8.model.folded
        assert len(u8.compiled_model.inputs) == 1


@pytest.mark.parametrize("stamp", [False, True], ids=["stamped-logits", "stale-stamp"])
def test_logit_ir_gets_softmax_exactly_once(clf, pages, orientation_xml, tmp_path, stamp):
    """An IR whose final Softmax was cut off still gives probabilities: the runtime looks at
    the graph, so even metadata that still claims probabilities (stale) cannot fool it."""
    model = shared_core().read_model(orientation_xml)
    softmax = model.get_results()[0].input_value(0).get_node()
    assert softmax.get_type_name() == "Softmax"
    logits = ov.Model([softmax.input_value(0)], model.get_parameters(), "logits")
    write_metadata(logits, read_metadata(model).replace(outputs_probabilities=stamp))
    ov.save_model(logits, tmp_path / "logits.xml", compress_to_fp16=False)
    images, _ = pages
    with Classifier(tmp_path / "logits.xml") as raw:
        assert raw.metadata.outputs_probabilities is False  # detected, whatever was stamped
        probs = raw.predict_probs(images[:4])
        preds = list(raw.predict(images[:4]))
    # no softmax would leave raw logits (not summing to 1), a second one would squash the 0.92
    # top scores to below 0.5
    assert np.abs(probs - clf.predict_probs(images[:4])).max() <= 1e-5
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    want = list(clf.predict(images[:4]))
    assert [p.class_ids for p in preds] == [p.class_ids for p in want]
    assert np.allclose([p.scores for p in preds], [p.scores for p in want], rtol=0, atol=1e-5)


@pytest.mark.slow
def test_conversion_stamps_whether_the_graph_ends_in_softmax(clf, pages, rapid_onnx, tmp_path):
    """A logit ONNX (the real model with its Softmax node removed) converts with
    ``outputs_probabilities: false`` in its metadata, and classifies to the same probabilities."""
    import onnx

    proto = onnx.load(str(rapid_onnx))
    last = proto.graph.node[-1]
    assert last.op_type == "Softmax" and last.output[0] == proto.graph.output[0].name
    del proto.graph.node[-1]
    proto.graph.output[0].name = last.input[0]
    onnx.save(proto, str(tmp_path / "logits.onnx"))
    result = convert(
        tmp_path / "logits.onnx", tmp_path / "logits.xml", model="text_image_orientation"
    )
    assert result.verification is not None  # checked against ONNX Runtime on the logit graph
    assert read_metadata(result.xml).outputs_probabilities is False
    assert read_metadata(clf.xml).outputs_probabilities is True
    images, _ = pages
    with Classifier(result.xml) as raw:
        probs = raw.predict_probs(images[:4])
    assert np.abs(probs - clf.predict_probs(images[:4])).max() <= 1e-5


def test_embed_returns_the_features_the_classifier_reads(clf, pages, rapid_onnx, tmp_path):
    import onnx

    images, _ = pages
    feats = clf.embed(images[:5])
    assert feats.shape == (5, 1280) and feats.dtype == np.float32
    # independent reference: ONNX Runtime with the classifier MatMul's input exposed
    proto = onnx.load(str(rapid_onnx))
    final = [n for n in proto.graph.node if n.op_type in ("MatMul", "Gemm")][-1]
    proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(final.input[0]))
    onnx.save(proto, str(tmp_path / "feat.onnx"))
    x = np.stack([preprocess_image(img, clf.metadata.preprocess) for img in images[:5]])
    assert np.abs(feats - _ort(tmp_path / "feat.onnx", x, final.input[0])).max() <= 1e-4
    assert np.abs(clf.embed(x) - feats).max() == 0  # prepared tensors take the same path


@pytest.mark.slow
def test_features_are_found_in_fp16_and_int8_graphs(orientation_xml, tmp_path):
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    model = shared_core().read_model(orientation_xml)
    ov.save_model(model, tmp_path / "fp16.xml", compress_to_fp16=True)
    fp16 = shared_core().read_model(tmp_path / "fp16.xml")
    assert any(op.get_type_name() == "Convert" for op in fp16.get_ordered_ops())
    assert find_feature_output(fp16).get_partial_shape()[1].get_length() == 1280

    model.reshape([-1, 3, 64, 64])  # small input: calibration in a second
    data = [np.random.default_rng(i).random((1, 3, 64, 64), np.float32) for i in range(2)]
    int8 = nncf.quantize(
        model,
        nncf.Dataset(data),
        subset_size=2,
        advanced_parameters=AdvancedQuantizationParameters(disable_bias_correction=True),
    )
    assert any(op.get_type_name() == "FakeQuantize" for op in int8.get_ordered_ops())
    out = find_feature_output(int8)
    assert out.get_node().get_type_name() == "Reshape"  # the flatten, behind NNCF's FakeQuantize
    assert out.get_partial_shape()[1].get_length() == 1280


def test_class_id_map_file_replaces_labels(orientation_xml, pages, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("0 upright\n1 turned right\n2 upside down\n3 turned left\n")
    images, _ = pages
    with Classifier(orientation_xml, class_id_map_file=names, topk=2) as named:
        pred = named(images[2])
    assert pred.label_names[0] == ("upright", "turned right", "upside down", "turned left")[2]
    assert len(pred.class_ids) == 2
    names.write_text("0 a\n1 b\n")
    with pytest.raises(LabelFileError, match="2 labels for a model with 4 classes"):
        Classifier(orientation_xml, class_id_map_file=names)


def test_compile_options_reach_openvino(orientation_xml):
    with Classifier(orientation_xml, threads=1, inference_precision="bf16") as c:
        assert c.compiled_model.get_property("INFERENCE_NUM_THREADS") == 1
        # bf16 where the CPU plugin can compute in it, f32 where it cannot
        caps = shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        assert c.inference_precision == ("bf16" if "BF16" in caps else "f32")
    with pytest.raises(ValueError, match="inference_precision"):
        Classifier(orientation_xml, inference_precision="int4")
    with pytest.raises(DeviceError, match="NOPE") as err:
        Classifier(orientation_xml, device="NOPE")
    assert "\n" not in str(err.value)


# ---- input expansion (no model) -------------------------------------------------------------


def test_folders_globs_and_arrays_expand_in_order(imagenet_dir, tmp_path):
    listed = list_images(imagenet_dir)
    assert len(listed) == 1000 and listed == sorted(listed)  # val_list.txt and README skipped
    items = list(iter_inputs([str(imagenet_dir / "n0144*"), np.zeros((2, 5, 5, 3), np.uint8)]))
    assert [Path(i.name).name for i in items[:2]] == [
        "n01440764_tench.JPEG",
        "n01443537_goldfish.JPEG",
    ]
    assert [i.name for i in items[2:]] == ["<array 0>", "<array 1>"]  # a 4-D array is N images
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "x.png"), np.zeros((4, 4, 3), np.uint8))
    empty = list(iter_inputs(tmp_path))
    assert len(empty) == 1 and "no image files" in str(empty[0].error)
    assert [i.filename for i in iter_inputs(tmp_path, recursive=True)] == [
        str(tmp_path / "sub" / "x.png")
    ]
    assert "no image files match" in str(next(iter_inputs(str(tmp_path / "*.jpg"))).error)
