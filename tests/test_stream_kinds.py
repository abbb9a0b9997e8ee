"""Smoothing streams of models that are not top-k classifiers: the mean of the last K
probability vectors goes through the model's own post-processing (multi-label thresholds,
PersonAttribute decoding), not a top-k over the average.

A small real sigmoid IR (conv → pool → fc → sigmoid, 32x32) with the post-processing a
PaddleX ``MultiLabelThreshOutput`` gives; the reference decodes the same video frames,
preprocesses and infers each on its own, averages and thresholds in plain numpy.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lcnet_ov import AsyncClassifier, Classifier
from lcnet_ov.inputs.preprocess import preprocess
from lcnet_ov.postprocess import PERSON_ATTRIBUTE_LABELS, Postprocess
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.testing.kind_models import PREPROCESS, kind_ir
from lcnet_ov.testing.streams import turning_page, write_video

FRAMES, K = 24, 4


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("kvideo") / "turning.avi"
    assert write_video(path, turning_page(FRAMES, 6, side=96), 24.0)
    return path


def _frame_probs(xml, video) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(preprocess(f, PREPROCESS)[None])[0] for f in frames])


@pytest.mark.parametrize("runner", [Classifier, AsyncClassifier])
def test_multilabel_stream_thresholds_the_averaged_probabilities(runner, video, tmp_path):
    labels = tuple(f"tag_{i}" for i in range(6))
    post = Postprocess(kind="multilabel", topk=None, threshold=0.5, labels=labels,
                       activation="sigmoid")  # fmt: skip
    xml = kind_ir(tmp_path, "ml", 6, post, labels)
    probs = _frame_probs(xml, video)
    with runner(xml) as clf:
        smoothed = list(clf.stream(video, smooth=K))
    assert len(smoothed) == FRAMES
    varied = False
    for i, r in enumerate(smoothed):
        mean = probs[max(0, i - K + 1) : i + 1].mean(axis=0).astype(np.float32)
        want = [int(j) for j in np.argsort(-mean, kind="stable") if mean[j] > 0.5]
        assert list(r.class_ids) == want, i
        assert r.scores == pytest.approx([float(mean[j]) for j in want], abs=1e-5)
        assert list(r.label_names) == [labels[j] for j in want]
        own = [int(j) for j in np.argsort(-probs[i], kind="stable") if probs[i][j] > 0.5]
        assert list(r.raw.class_ids) == own  # the frame's own answer, thresholded too
        varied = varied or len(want) not in (0, clf.topk)
    assert varied  # a top-k over the average would have answered a fixed count


def test_attribute_stream_decodes_the_averaged_probabilities(video, tmp_path):
    post = Postprocess(kind="person_attribute", topk=None, activation="sigmoid")
    xml = kind_ir(tmp_path, "pa", 26, post, PERSON_ATTRIBUTE_LABELS)
    probs = _frame_probs(xml, video)
    with Classifier(xml) as clf:
        smoothed = list(clf.stream(video, smooth=K))
    for i, r in enumerate(smoothed):
        mean = probs[max(0, i - K + 1) : i + 1].mean(axis=0).astype(np.float32)
        thr = np.full(26, 0.5)
        thr[1], thr[18] = 0.3, 0.6
        want = [int(j) for j in np.argsort(-mean, kind="stable") if mean[j] > thr[j]]
        assert list(r.class_ids) == want, i
