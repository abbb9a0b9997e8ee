"""Injected faults in ``AsyncClassifier``, on real OpenVINO inference.

The faults live inside the compiled graph: a custom OpenVINO op (``openvino.Op``, run by the
CPU plugin's reference path) sits right after the input and is the identity, except that a
batch holding a marker value makes OpenVINO fail that inference (``FAIL``) or keeps it running
until the test lets it go (``HANG``, an inference that never completes). The model is otherwise
the real text-orientation network at 64×64. Every wait in this file has a timeout: a regression
fails a test, it cannot hang the suite.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from lcnet_ov.errors import InferenceError, InvalidInputError
from lcnet_ov.results import FailedPrediction, Prediction
from lcnet_ov.runtime.async_classifier import AsyncClassifier
from lcnet_ov.runtime.classifier import Classifier
from lcnet_ov.runtime.core import shared_core
from lcnet_ov.testing import text_orientation_set

FAIL, HANG = -999.0, -555.0
RELEASE = threading.Event()  # lets HANG inferences finish
WAIT = 60  # seconds: the bound on every wait (generous: 2 shared cores)


class Tripwire(ov.Op):
    """Identity op; fails the inference on a FAIL value, stalls it on a HANG value."""

    def __init__(self, inputs: list | None = None) -> None:
        super().__init__(self)
        if inputs is not None:
            self.set_arguments(inputs)
            self.constructor_validate_and_infer_types()

    def validate_and_infer_types(self) -> None:
        self.set_output_type(0, self.get_input_element_type(0), self.get_input_partial_shape(0))

    def clone_with_new_inputs(self, new_inputs: list) -> Tripwire:
        return Tripwire(new_inputs)

    def visit_attributes(self, visitor: object) -> bool:
        return True

    def has_evaluate(self) -> bool:
        return True

    def evaluate(self, outputs: list, inputs: list) -> bool:
        x = inputs[0].data
        if (x == HANG).any():
            RELEASE.wait(WAIT)
        if (x == FAIL).any():
            return False  # OpenVINO: "evaluation failed" -> this inference raises
        outputs[0].shape = inputs[0].shape
        outputs[0].data[:] = x
        return True


class TripwireCore:
    """An ``ov.Core`` whose ``read_model`` puts a :class:`Tripwire` behind the input."""

    def __init__(self) -> None:
        self.core = shared_core()

    def read_model(self, path: str) -> ov.Model:
        model = self.core.read_model(path)
        param = model.get_parameters()[0].output(0)
        consumers = list(param.get_target_inputs())
        wire = Tripwire([param])
        for target in consumers:
            target.replace_source_output(wire.output(0))
        model.validate_nodes_and_infer_types()
        return model

    def compile_model(self, *args: object) -> object:
        return self.core.compile_model(*args)


@pytest.fixture(scope="module")
def small_xml(orientation_xml, tmp_path_factory) -> Path:
    model = shared_core().read_model(orientation_xml)
    model.reshape([-1, 3, 64, 64])
    out = tmp_path_factory.mktemp("faults") / "small64.xml"
    ov.save_model(model, out, compress_to_fp16=False)
    return out


@pytest.fixture(scope="module")
def pages(small_xml):
    images, _ = text_orientation_set(8, seed=21)
    images = [np.ascontiguousarray(img[::4, ::4]) for img in images]
    with Classifier(small_xml) as sync:
        expected = list(sync.predict(images))
    return images, expected


@pytest.fixture(autouse=True)
def _released():
    RELEASE.clear()
    yield
    RELEASE.set()  # whatever a test left stalled finishes now


def _same(a: Prediction, b: Prediction) -> bool:
    return a.class_ids == b.class_ids and np.allclose(a.scores, b.scores, rtol=0, atol=1e-5)


def _faulty(small_xml, **kwargs) -> AsyncClassifier:
    """Float input (no folding) so marker tensors reach the Tripwire unchanged."""
    clf = AsyncClassifier(small_xml, fold_preprocessing=False, core=TripwireCore(), **kwargs)
    prepare = clf.model.prepare
    shape = clf.model.item_shape

    def marked(src, name=None):
        if name in ("FAIL", "HANG"):
            return np.full(shape, FAIL if name == "FAIL" else HANG, np.float32)
        return prepare(src, name)

    clf.model.prepare = marked  # type: ignore[method-assign]
    return clf


def _until(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_premise_async_infer_queue_never_reports_a_failure_and_stays_poisoned(small_xml):
    """Why the runtime drives its requests itself (OpenVINO 2026.4, measured): after one failed
    inference, AsyncInferQueue's callback never ran and the next start_async raises the old error
    into an unrelated job. A plain InferRequest raises from its own wait() and then runs on."""
    core = TripwireCore()
    compiled = core.compile_model(core.read_model(str(small_xml)), "CPU", {})
    good = np.zeros((1, 3, 64, 64), np.float32)
    bad = np.full((1, 3, 64, 64), FAIL, np.float32)
    calls: list[str] = []
    q = ov.AsyncInferQueue(compiled, 1)
    q.set_callback(lambda _req, tag: calls.append(tag))
    q.start_async({0: bad}, "bad")
    with pytest.raises(RuntimeError, match="Tripwire"):
        q.start_async({0: good}, "unrelated")
    assert calls == []
    request = compiled.create_infer_request()
    request.start_async({0: bad})
    with pytest.raises(RuntimeError, match="Tripwire"):
        request.wait()
    request.start_async({0: good})
    request.wait()
    assert request.get_output_tensor(0).data.shape == (1, 4)


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_failed_inference_fails_exactly_its_batch_and_the_queue_goes_on(small_xml, pages):
    images, expected = pages
    with _faulty(small_xml, num_requests=1, max_batch=4, max_pending=5, workers=1) as clf:
        # the only request reused right after a failure: the old error must not come back
        lone = clf.submit(images[0], name="FAIL")
        assert isinstance(lone.exception(timeout=WAIT), InferenceError)
        assert _same(clf.submit(images[1]).result(timeout=WAIT), expected[1])

        # a stalled inference holds the one request while four items queue behind it, so
        # those four are exactly the next batch
        stall = clf.submit(images[0], name="HANG")
        _until(lambda: clf.stats.images == 3, "the HANG batch to start")
        batch = [clf.submit(images[i], name=n) for i, n in ((2, None), (3, "FAIL"), (4, None))]
        batch.append(clf.submit(images[5]))
        _until(lambda: clf._engine._ready.qsize() == 4, "four prepared items")
        RELEASE.set()
        assert isinstance(stall.result(timeout=WAIT), Prediction)  # a marker tensor, not a page
        errors = [f.exception(timeout=WAIT) for f in batch]
        assert all(isinstance(e, InferenceError) for e in errors)
        assert "batch of 4" in str(errors[0]) and "Tripwire" in str(errors[0])
        assert clf.stats.sizes == {1: 3, 4: 1}
        assert clf._engine.recompiles == 2  # one fresh compiled model per failed inference
        _until(lambda: clf.pending == 0, "every slot back")  # five more fit without waiting
        # a batch of 4 then one of 1: on the failed model's streams that 1 came back wrong
        after = [clf.submit(images[i % 8], block=False) for i in range(5)]
        assert all(_same(f.result(timeout=WAIT), expected[i % 8]) for i, f in enumerate(after))
        mapped = list(clf.map([images[6], images[7]]))
    assert all(_same(a, b) for a, b in zip(mapped, expected[6:], strict=True))


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
@pytest.mark.parametrize("cancel_pending", [True, False], ids=["cancel", "drain"])
def test_an_inference_that_never_completes_cannot_hang_close(small_xml, pages, cancel_pending):
    """The async analogue of a queue that never calls back: close(timeout) still returns,
    also when told to drain first (it waits for the queued items only until the timeout)."""
    images, _ = pages
    clf = _faulty(small_xml, num_requests=1, max_batch=1, workers=1)
    threads = clf._engine.threads()
    stuck = clf.submit(images[0], name="HANG")
    _until(lambda: clf.stats.images == 1, "the HANG inference to start")
    queued = [clf.submit(img) for img in images[1:4]]
    start = time.monotonic()
    assert clf.close(cancel_pending=cancel_pending, timeout=0.5) is False
    assert 0.5 <= time.monotonic() - start < 10
    error = stuck.exception(timeout=0)
    assert isinstance(error, InferenceError) and "closed before" in str(error)
    assert all(f.cancelled() for f in queued)
    assert clf.pending == 0 and clf.closed
    RELEASE.set()  # OpenVINO lets go: the worker finds its batch settled and ends
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    assert clf.close(timeout=1) is True  # idempotent; now everything has stopped


def test_close_from_a_done_callback(small_xml, pages):
    images, expected = pages
    clf = AsyncClassifier(small_xml, max_batch=2)
    seen: dict[str, object] = {}
    done = threading.Event()

    def callback(fut) -> None:
        seen["thread"] = threading.current_thread().name
        seen["closed"] = clf.close(timeout=WAIT)
        done.set()

    gate = threading.Event()  # nothing resolves before the callback is registered
    prepare = clf.model.prepare
    clf.model.prepare = lambda *a: (gate.wait(WAIT), prepare(*a))[1]  # type: ignore[method-assign]
    first = clf.submit(images[0])
    later = [clf.submit(img) for img in images[1:]]
    first.add_done_callback(callback)
    gate.set()
    assert done.wait(WAIT), "close() from a done-callback deadlocked"
    assert seen["thread"] == "lcnet-ov-callbacks"  # never an inference thread
    assert seen["closed"] is True and clf.closed
    assert _same(first.result(timeout=0), expected[0])
    assert all(f.done() for f in later)
    assert all(
        _same(f.result(), e) for f, e in zip(later, expected[1:], strict=True) if not f.cancelled()
    )
    clf._engine._callbacks.thread.join(WAIT)
    assert not any(t.is_alive() for t in clf._engine.threads())


def test_blocking_submit_and_result_from_a_done_callback(small_xml, pages):
    """Slots are all taken when the callback runs; its blocking submits need slots that only
    the rest of the same batch frees, and it then waits for the new results. Had callbacks run
    on the thread that resolves the batch, this would deadlock."""
    images, expected = pages
    with AsyncClassifier(small_xml, max_batch=2, max_wait_ms=200, max_pending=2) as clf:
        out: list[object] = []
        done = threading.Event()

        def callback(_fut) -> None:
            try:
                futs = [clf.submit(images[i], timeout=WAIT) for i in (4, 5)]
                out.extend(f.result(timeout=WAIT) for f in futs)
            except BaseException as exc:  # surfaced by the assertion below
                out.append(exc)
            done.set()

        gate = threading.Event()  # nothing resolves before the callback is registered
        prepare = clf.model.prepare
        clf.model.prepare = lambda *a: (gate.wait(WAIT), prepare(*a))[1]  # type: ignore[method-assign]
        first, second = clf.submit(images[0]), clf.submit(images[1])
        first.add_done_callback(callback)
        gate.set()
        assert done.wait(WAIT), "a blocking submit from a callback deadlocked"
        assert _same(first.result(), expected[0]) and _same(second.result(), expected[1])
    assert len(out) == 2 and all(_same(a, b) for a, b in zip(out, expected[4:6], strict=True))


def test_an_unclosed_classifier_is_released_when_collected(small_xml, pages):
    images, expected = pages
    clf = AsyncClassifier(small_xml)
    threads = clf._engine.threads()
    finalizer = clf._finalizer
    assert _same(clf.submit(images[0]).result(timeout=WAIT), expected[0])
    del clf
    gc.collect()
    assert not finalizer.alive  # ran on collection, not postponed to interpreter exit
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads)


def test_non_images_fail_as_items_with_a_typed_error(small_xml, pages):
    images, expected = pages
    with AsyncClassifier(small_xml) as clf:
        assert isinstance(clf.submit(42).exception(timeout=WAIT), InvalidInputError)  # type: ignore[arg-type]
        assert isinstance(clf.submit(None).exception(timeout=WAIT), InvalidInputError)  # type: ignore[arg-type]
        (none,) = list(clf.map(None))
        mixed = list(clf.map([images[0], None, {"x": 1}, images[1]]))
    assert isinstance(none, FailedPrediction) and isinstance(none.error, InvalidInputError)
    assert "NoneType" in none.reason
    assert [type(r) for r in mixed] == [Prediction, FailedPrediction, FailedPrediction, Prediction]
    assert _same(mixed[0], expected[0]) and _same(mixed[3], expected[1])
    assert "not an image" in mixed[2].reason and "dict" in mixed[2].reason
