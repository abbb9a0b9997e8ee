"""The sync ``Classifier`` shared by many threads, closed under them, and fed non-images.

Real model (the text-orientation network at 64×64); every thread join has a timeout."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from test_async_faults import FAIL, TripwireCore

import lcnet_ov.runtime.classifier as runtime
from lcnet_ov.errors import InferenceError, InvalidInputError
from lcnet_ov.results import FailedPrediction, Prediction
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.testing import text_orientation_set

WAIT = 120


@pytest.fixture(scope="module")
def small_xml(orientation_xml, tmp_path_factory) -> Path:
    model = shared_core().read_model(orientation_xml)
    model.reshape([-1, 3, 64, 64])
    out = tmp_path_factory.mktemp("threads") / "small64.xml"
    ov.save_model(model, out, compress_to_fp16=False)
    return out


@pytest.fixture(scope="module")
def pages():
    images, _ = text_orientation_set(16, seed=8)
    return [np.ascontiguousarray(img[::4, ::4]) for img in images]


class _CountingPool(ThreadPoolExecutor):
    made = 0

    def __init__(self, *args, **kwargs) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


@pytest.mark.slow
def test_32_threads_on_one_fresh_classifier_match_single_threaded(small_xml, pages, monkeypatch):
    with Classifier(small_xml, batch_size=3) as ref:
        want_probs = ref.predict_probs(pages)
        want_preds = list(ref.predict(pages))
        want_feats = ref.embed(pages)
    monkeypatch.setattr(runtime, "ThreadPoolExecutor", _CountingPool)
    _CountingPool.made = 0
    clf = Classifier(small_xml, batch_size=3)
    compiles = []
    compile_model = clf.model.compile
    clf.model.compile = lambda *a: (compiles.append(a), compile_model(*a))[1]  # type: ignore[method-assign]
    start = threading.Barrier(32)
    errors: list[BaseException] = []
    outcomes: list[bool] = []

    def worker(seed: int) -> None:
        try:
            rng = np.random.default_rng(seed)
            pick = [int(i) for i in rng.permutation(len(pages))[:5]]
            start.wait(WAIT)  # all 32 reach the lazy pool / feature model together
            preds = list(clf.predict([pages[i] for i in pick]))
            feats = clf.embed([pages[i] for i in pick[:2]])
            probs = clf.predict_probs([pages[i] for i in pick])
            one = clf(pages[pick[0]])
            outcomes.append(
                all(p == want_preds[i] for p, i in zip(preds, pick, strict=True))
                and np.abs(probs - want_probs[pick]).max() <= 1e-6
                and np.abs(feats - want_feats[pick[:2]]).max() <= 1e-6
                and one == want_preds[pick[0]]
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    clf.close()
    assert errors == [] and outcomes == [True] * 32
    assert _CountingPool.made == 1  # one decode pool, however many threads raced for it
    assert len(compiles) == 1  # one feature model compile


def test_after_close_every_call_raises_before_creating_anything(small_xml, pages, monkeypatch):
    monkeypatch.setattr(runtime, "ThreadPoolExecutor", _CountingPool)
    _CountingPool.made = 0
    clf = Classifier(small_xml)
    compiles = []
    clf.model.compile = lambda *a: compiles.append(a)  # type: ignore[method-assign]
    clf.close()
    clf.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        clf.predict(pages)  # at the call, not at the first next()
    for call in (clf.embed, clf.predict_probs, clf):
        with pytest.raises(RuntimeError, match="closed"):
            call(pages[:1])
    assert _CountingPool.made == 0 and compiles == [] and clf.closed


def test_close_while_another_thread_predicts(small_xml, pages):
    """close() waits for the inference in progress; the stream then stops with 'closed'."""
    clf = Classifier(small_xml, batch_size=1)
    first = threading.Event()
    seen: list[object] = []

    def consume() -> None:
        try:
            for pred in clf.predict(pages * 50):
                seen.append(pred)
                first.set()
        except RuntimeError as exc:
            seen.append(exc)

    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(consume)
        assert first.wait(WAIT)
        clf.close()
        job.result(timeout=WAIT)
    assert isinstance(seen[-1], RuntimeError) and "closed" in str(seen[-1])
    assert all(isinstance(p, Prediction) for p in seen[:-1]) and len(seen) < 16 * 50


def test_non_images_fail_as_their_own_items(small_xml, pages):
    with Classifier(small_xml) as clf:
        (none,) = list(clf.predict(None))
        mixed = list(clf.predict([pages[0], 42, None, pages[1]]))
        with pytest.raises(InvalidInputError, match="int"):
            clf(42)  # type: ignore[arg-type]
        want = list(clf.predict(pages[:2]))
    assert isinstance(none, FailedPrediction) and isinstance(none.error, InvalidInputError)
    assert [type(r) for r in mixed] == [Prediction, FailedPrediction, FailedPrediction, Prediction]
    assert [mixed[0], mixed[3]] == want
    assert mixed[1].reason.startswith("<int 1>") and "not an image" in mixed[1].reason
    assert isinstance(mixed[2].error, TypeError)  # InvalidInputError is still a TypeError


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_a_failed_inference_raises_a_typed_error_and_the_next_call_is_right(small_xml, pages):
    """Real OpenVINO failing mid-graph (the Tripwire op of test_async_faults)."""
    with Classifier(small_xml) as ref:
        want = ref.predict_probs(pages[:3])
        want_feats = ref.embed(pages[:2])
    with Classifier(small_xml, core=TripwireCore()) as clf:
        bad = np.full((2, *clf.model.item_shape), FAIL, np.float32)
        before = clf.compiled_model
        with pytest.raises(InferenceError, match="Tripwire") as err:
            clf.predict_probs(bad)
        assert "\n" not in str(err.value)
        assert clf.compiled_model is not before  # never reused after a failure
        assert np.abs(clf.predict_probs(pages[:3]) - want).max() <= 1e-6
        with pytest.raises(InferenceError):
            clf.embed(bad)
        assert np.abs(clf.embed(pages[:2]) - want_feats).max() <= 1e-6
        results = list(clf.predict(pages[:3]))
    assert [r.class_ids for r in results] == [tuple(np.argsort(-p, kind="stable")) for p in want]
