"""Classify image collections on a Ray cluster (or a local Ray started for you) with Ray Data.

Nothing here schedules work: Ray Data does (streaming, backpressure, retries, progress). This
module only wires the SDK into it::

    read_binary_files(paths, include_paths=True)      read tasks, READ_CPUS each: bytes + path
        └─► map_batches(_ClassifyBatch, concurrency=actors, num_cpus=threads_per_actor)
              one actor = one compiled model; decodes with the SDK's exact preprocessing
        └─► rows: filename, class_ids, scores, label_names, error

Why it is built this way:

* **Bytes in, decoding in the actor.** ``read_images`` would decode and resize with PIL, which
  is not PaddleClas' pipeline. Reading raw bytes and decoding in the actor with
  :class:`~lcnet_ov.runtime.loaded_model.LoadedModel` gives the SDK's decoder, its size guards
  (``max_pixels``, aspect limit) and PaddleClas' resize/crop/normalize bit for bit, so rows
  equal what :class:`~lcnet_ov.runtime.classifier.Classifier` returns for the same files.
* **The IR travels through the object store.** The driver resolves the model once (converting it
  if needed), reads the ``.xml``/``.bin`` bytes and ``ray.put``\\ s them; each actor fetches them
  in ``__init__``, writes them to a private temp folder on its own node and compiles there. No
  node needs the driver's model cache, a shared filesystem for models, or network access to
  model hosts, and nothing compiled is ever pickled. (The *images* must be readable from every
  node: a shared path, or a URI such as ``s3://`` that pyarrow's filesystems open.)
* **Resources right by construction.** An actor asks Ray for ``threads_per_actor`` CPUs and
  compiles with ``INFERENCE_NUM_THREADS`` equal to that. Read tasks ask for :data:`READ_CPUS`,
  and the default pool leaves that much free (``(cluster CPUs - READ_CPUS) // threads``, at least
  one actor), because a pool that takes every CPU starves the read tasks and the job waits
  forever (measured on 2 CPUs: 2 actors × 1 CPU + a read task = "3/2 CPU", no progress).
  :func:`plan_actors` refuses such pools instead of letting them hang.
* **Decode overlaps inference inside an actor.** A call gets ``ROWS_PER_CALL_FACTOR ×
  batch_size`` rows; a decode-ahead pool of ``threads_per_actor`` threads prepares the next
  :data:`DECODE_AHEAD_CHUNKS` chunks while the actor infers the current ``batch_size`` chunk
  (cv2 and OpenVINO both release the GIL). The decoders are the only threads outside the
  actor's Ray reservation: they run on the CPU left for reading, which reading files barely
  uses (docs/distributed.md measures each process's CPU).
* **A broken file is a row, never a failed job.** Decode errors, NaN scores, even an inference
  error become ``error`` strings on the rows concerned. A *process* that dies (OOM, SIGKILL) is
  Ray's business: Ray Data restarts map actors and retries their tasks by default, and since
  results reach the driver only from finished tasks every input still appears exactly once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._deps import require
from .._util import last_line
from ..errors import ClusterError, StreamError
from ..inputs.files import IMAGE_EXTENSIONS, InputItem, iter_inputs
from ..inputs.video import check_sampling
from ..policy import FAST_DECODE
from ..results import FailedPrediction
from ..runtime.loaded_model import DEFAULT_BATCH_SIZE
from ..zoo import DEFAULT_MODEL
from .output import _rows_table
from .video import read_videos, split_videos, with_frame_columns

__all__ = [
    "ShippedModel",
    "check_address",
    "classify",
    "connect",
    "plan_actors",
    "ray_session",
    "ship_model",
]

#: CPUs each read task asks for (Ray Data's default, stated so the pool can leave it free)
READ_CPUS = 1
#: rows per actor call = this × batch_size. Ray's cost is per call and per block (task
#: submission, the driver's executor, Arrow conversion), so calls are large; a killed actor
#: redoes at most one call
ROWS_PER_CALL_FACTOR = 16
#: the same for a job with video files, whose rows are raw frames
VIDEO_ROWS_PER_CALL_FACTOR = 4
#: local files per read task (block) when the file list is known: 100 JPEGs are ~10 MB, one
#: task instead of ten (the default split) for the same bytes
FILES_PER_READ_TASK = 100
#: decode-ahead bound inside a call, in inference chunks (memory: chunks × batch tensors)
DECODE_AHEAD_CHUNKS = 2
#: seconds allowed for a TCP connection to a cluster address before calling it unreachable
CONNECT_TIMEOUT_S = 5.0
_URI_EXTENSIONS = sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS)


def _ray() -> Any:
    require("ray.data", "ray")  # ray without [data] lacks pyarrow: same install advice
    return require("ray", "ray")


# ---- the cluster ---------------------------------------------------------------------------------


def check_address(address: str | None) -> None:
    """Fail in seconds, with a clear line, where ``ray.init`` would retry for a minute.

    ``None`` (local Ray) and ``auto`` (found by Ray itself) pass; ``HOST:PORT`` and
    ``ray://HOST:PORT`` must accept a TCP connection within :data:`CONNECT_TIMEOUT_S`.
    """
    if address is None or address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterError(
            f"--address {address!r}: expected auto, HOST:PORT (the GCS, usually 6379) or "
            "ray://HOST:10001 (Ray Client)"
        )
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ClusterError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` or leave out --address to run on a local Ray"
        ) from exc


def connect(address: str | None = None, *, num_cpus: int | None = None, **init_kwargs: Any) -> bool:
    """Join ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:10001``) or start a local Ray.

    A local Ray gets ``num_cpus`` (default: the CPUs this process may use) and no dashboard.
    Returns ``True`` when this call initialized Ray (so the caller should ``ray.shutdown()``),
    ``False`` when Ray was already initialized in this process (then it is used as it is).
    Unreachable clusters raise :class:`ClusterError`.
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    init_kwargs.setdefault("logging_level", "WARNING")
    if address is None:
        cpus = num_cpus or len(os.sched_getaffinity(0)) or os.cpu_count() or 1
        init_kwargs.setdefault("include_dashboard", False)
        ray.init(address="local", num_cpus=cpus, **init_kwargs)
        return True
    check_address(address)
    try:
        ray.init(address=address, **init_kwargs)
    except Exception as exc:  # ConnectionError, RuntimeError, TimeoutError from Ray's layers
        raise ClusterError(f"cannot connect to Ray at {address}: {last_line(exc)}") from exc
    return True


@contextlib.contextmanager
def ray_session(address: str | None = None, **kwargs: Any) -> Iterator[None]:
    """:func:`connect` for a ``with`` block: a Ray it started (or joined) is shut down after."""
    started = connect(address, **kwargs)
    try:
        yield
    finally:
        if started:
            _ray().shutdown()


def plan_actors(actors: int | None, threads_per_actor: int) -> int:
    """Actor-pool size that leaves :data:`READ_CPUS` free; refuses pools that would stall.

    ``None`` means as many as fit: ``(cluster CPUs - READ_CPUS) // threads_per_actor``, at least
    one. A pool whose CPUs plus a read task exceed the cluster, or an actor larger than every
    node, would wait forever for resources, so both raise :class:`ClusterError`.
    """
    ray = _ray()
    if threads_per_actor < 1:
        raise ValueError(f"threads_per_actor must be >= 1, got {threads_per_actor}")
    total = int(ray.cluster_resources().get("CPU", 0))
    largest = max(
        (int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=0
    )
    if largest < threads_per_actor:
        raise ClusterError(
            f"an actor needs {threads_per_actor} CPUs on one node, and the largest node has "
            f"{largest}; use fewer threads per actor"
        )
    fit = max(1, (total - READ_CPUS) // threads_per_actor)
    if actors is None:
        return fit
    if actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors}")
    if actors * threads_per_actor + READ_CPUS > total:
        raise ClusterError(
            f"{actors} actors × {threads_per_actor} CPUs plus {READ_CPUS} CPU for reading need "
            f"{actors * threads_per_actor + READ_CPUS} of the cluster's {total} CPUs; Ray Data "
            f"would wait forever. Use at most {fit} actor(s)"
        )
    return actors


# ---- the model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippedModel:
    """An IR in the object store: what an actor needs to compile it on any node."""

    name: str  # the model's own name, for messages
    sha256: str  # of xml + bin, names the actor's temp folder
    blobs: Any  # ObjectRef of (xml bytes, bin bytes)


def ship_model(
    model: str | os.PathLike = DEFAULT_MODEL, precision: str | None = None
) -> ShippedModel:
    """Find ``model``'s IR here (never converting: the CLI resolves first) and ``ray.put`` it."""
    from ..runtime.locate import locate_ir
    from ..runtime.metadata import read_metadata

    xml = locate_ir(model, precision)
    blobs = (xml.read_bytes(), xml.with_suffix(".bin").read_bytes())
    digest = hashlib.sha256(blobs[0] + blobs[1]).hexdigest()[:16]
    return ShippedModel(read_metadata(xml).name, digest, _ray().put(blobs))


class _ClassifyBatch:
    """The ``map_batches`` callable: one compiled :class:`Classifier` per actor.

    Constructed inside the actor from a :class:`ShippedModel` (a handle, cheap to pickle); the
    compiled model lives and dies with the actor.
    """

    def __init__(
        self,
        shipped: ShippedModel,
        *,
        threads: int,
        topk: int | None,
        batch_size: int,
        inference_precision: str | None,
        fold_preprocessing: bool | None,
        fast_decode: bool = FAST_DECODE,
    ) -> None:
        import cv2

        from ..runtime.classifier import Classifier

        # our errors name the file; OpenCV's own warnings would only flood the driver's log
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        xml_bytes, bin_bytes = _ray().get(shipped.blobs)
        folder = Path(tempfile.mkdtemp(prefix=f"lcnet-ov-{shipped.sha256}-"))
        try:
            xml = folder / "model.xml"
            xml.write_bytes(xml_bytes)
            xml.with_suffix(".bin").write_bytes(bin_bytes)
            self.classifier = Classifier(
                xml,
                threads=threads,  # INFERENCE_NUM_THREADS == the actor's num_cpus
                topk=topk,
                batch_size=batch_size,
                inference_precision=inference_precision,
                fold_preprocessing=fold_preprocessing,
                fast_decode=fast_decode,
            )
        finally:  # compiled: the files are no longer needed
            shutil.rmtree(folder, ignore_errors=True)
        self.chunk = self.classifier.model.static_batch or batch_size
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="lcnet-ov-decode")

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        items, failed = _items(batch)
        model = self.classifier.model
        # decode ahead: the pool prepares the next chunks while this thread infers this one
        futures: list[Any] = []

        def submit_until(end: int) -> None:
            for j, it in enumerate(items[len(futures) : end], len(futures)):
                # a frame the reader lost has nothing to prepare
                fn = (lambda *_: None) if j in failed else model.prepare
                futures.append(self.pool.submit(fn, it.source, it.name))

        results: list[Any] = []
        for start in range(0, len(items), self.chunk):
            submit_until(start + (1 + DECODE_AHEAD_CHUNKS) * self.chunk)
            chunk = items[start : start + self.chunk]
            done: list[Any] = [None] * len(chunk)
            tensors, ok = [], []
            for i, fut in enumerate(futures[start : start + self.chunk]):
                if (error := failed.get(start + i)) is not None:  # a frame the reader lost
                    done[i] = FailedPrediction.of(chunk[i], error)
                    continue
                try:
                    tensors.append(fut.result())
                    ok.append(i)
                except Exception as exc:
                    done[i] = FailedPrediction.of(chunk[i], exc)
            if tensors:
                try:
                    probs = self.classifier.predict_probs(np.stack(tensors), len(tensors))
                    preds = model.results(probs, [chunk[i] for i in ok], self.classifier.topk)
                except Exception as exc:  # the rows fail, the job goes on
                    preds = [FailedPrediction.of(chunk[i], exc) for i in ok]
                for i, pred in zip(ok, preds, strict=True):
                    done[i] = pred
            results.extend(done)
        frames = batch.get("frame")
        if frames is None:
            return _rows_table(results)
        return _rows_table(results, frames, batch["time_s"])


def _items(batch: dict[str, np.ndarray]) -> tuple[list[InputItem], dict[int, BaseException]]:
    """The batch's inputs: file bytes, or a video frame's pixels (``height`` × ``width`` BGR,
    named ``VIDEO frame N`` as the stream path names it); rows the reader could not decode are
    returned apart with their error (their item holds empty bytes, never submitted)."""
    data = batch["bytes"]
    paths = batch.get("path")
    frames = batch.get("frame")
    items, failed = [], {}
    for i in range(len(data)):
        path = str(paths[i]) if paths is not None and paths[i] is not None else None
        source: Any = data[i]
        name = path or "<bytes>"
        if frames is not None and int(frames[i]) >= 0:
            name = f"{path} frame {int(frames[i])}"
        if frames is not None and batch["read_error"][i]:
            failed[i] = StreamError(str(batch["read_error"][i]), path)
        elif frames is not None and int(frames[i]) >= 0:
            h, w = int(batch["height"][i]), int(batch["width"][i])
            source = np.frombuffer(data[i], np.uint8).reshape(h, w, 3)
        items.append(InputItem(name, source, path))
    return items, failed


# ---- the job -------------------------------------------------------------------------------------


def _read(
    sources: Sequence[str | os.PathLike],
    recursive: bool,
    actors: int,
    every: int = 1,
    fps: float | None = None,
) -> Any:
    """Local paths expand here as ``infer`` expands them; URIs go to Ray's reader as they are;
    video files (and the videos in folders) are read by Ray tasks (:mod:`.video`).

    A missing path, an empty folder or a pattern matching nothing becomes an error row (Ray's
    reader would fail the whole job on it).
    """
    rd = _ray().data
    videos, entries = split_videos([os.fspath(s) for s in sources], recursive)
    local = [s for s in entries if "://" not in s]
    uris = [s for s in entries if "://" in s]
    files, errors = [], []
    for item in iter_inputs(local, recursive=recursive):
        if item.error is not None:
            errors.append(FailedPrediction.of(item, item.error))
        else:
            files.append(str(Path(item.source).absolute()))  # read tasks run elsewhere
    parts = []
    if files:
        # enough blocks to feed every actor a few, else ~FILES_PER_READ_TASK files each
        blocks = min(len(files), max(4 * actors, -(-len(files) // FILES_PER_READ_TASK)))
        parts.append(
            rd.read_binary_files(
                files, include_paths=True, num_cpus=READ_CPUS, override_num_blocks=blocks
            )
        )
    if uris:
        parts.append(
            rd.read_binary_files(
                uris, include_paths=True, num_cpus=READ_CPUS, file_extensions=_URI_EXTENSIONS
            )
        )
    if videos:  # every block then carries the frame columns, so one actor pool takes them all
        parts = [with_frame_columns(p) for p in parts]
        parts.append(read_videos(videos, every=every, fps=fps, num_cpus=READ_CPUS))
    return parts, errors, bool(videos)


def classify(
    sources: Any,
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    precision: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actors: int | None = None,
    threads_per_actor: int = 1,
    address: str | None = None,
    topk: int | None = None,
    inference_precision: str | None = "f32",
    fold_preprocessing: bool | None = None,
    fast_decode: bool = FAST_DECODE,
    recursive: bool = False,
    every: int = 1,
    fps: float | None = None,
) -> Any:
    """A lazy ``ray.data.Dataset`` of classification rows for ``sources``.

    ``sources``: local files, folders and globs (expanded as ``lcnet-ov infer`` does), URIs Ray's
    readers accept (``s3://``, ``gs://``, ``hdfs://``; folders are listed recursively, image
    suffixes only), a mix of these, or a ``ray.data.Dataset`` with a ``bytes`` column (and
    optionally ``path``). Video files (``.mp4 .avi .mkv ...``, as streams recognise them; also
    those in folders) are read by Ray tasks, and each sampled frame (``every``, ``fps``: as
    :meth:`AsyncClassifier.stream`) is a row; live sources (``rtsp://``, ``camera:N``...) raise
    :class:`~lcnet_ov.errors.StreamOptionError`. Rows: ``filename`` (the path read: absolute for
    local files), ``frame`` and ``time_s`` (video frames; ``None`` for images),
    ``class_ids``, ``scores``, ``label_names`` (top-``topk``, best first; empty on failure) and
    ``error`` (``None``, or why that input failed). Nothing runs until the dataset is consumed
    (``iter_batches``, ``write_parquet``, :func:`write_results`).

    Connects to ``address`` (or starts a local Ray) unless Ray is already initialized. The
    model is resolved here and shipped to the actors (module doc); other arguments are those of
    :class:`~lcnet_ov.runtime.classifier.Classifier`, with its defaults (:mod:`lcnet_ov.policy`:
    exact
    decode; ``fast_decode=True`` makes camera-size JPEGs decode several times faster at the cost
    of exactness, ``docs/fast_decode.md``). ``actors`` defaults to what :func:`plan_actors`
    finds room for.
    """
    ray = _ray()
    if batch_size < 1 or (topk is not None and topk < 1):
        raise ValueError(f"batch_size and topk must be >= 1, got {batch_size} and {topk}")
    check_sampling(every, fps)
    items = None
    if not isinstance(sources, ray.data.Dataset):
        items = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
        split_videos([os.fspath(s) for s in items], recursive)  # live sources: refused now
    connect(address)
    pool = plan_actors(actors, threads_per_actor)
    shipped = ship_model(model, precision)
    if items is None:
        if "bytes" not in (sources.columns() or []):
            raise ValueError("a Dataset source needs a 'bytes' column (and optionally 'path')")
        parts, errors, videos = [sources], [], False
    else:
        parts, errors, videos = _read(items, recursive, pool, every, fps)
    # one actor pool for every source: a pool per read (local files + a URI) would ask for
    # more CPUs than a small machine has, and Ray Data then waits forever (3/2 CPU on 2 cores)
    merged = [parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]] if parts else []
    classified = [
        ds.map_batches(
            _ClassifyBatch,
            fn_constructor_kwargs={
                "shipped": shipped,
                "threads": threads_per_actor,
                "topk": topk,
                "batch_size": batch_size,
                "inference_precision": inference_precision,
                "fold_preprocessing": fold_preprocessing,
                "fast_decode": fast_decode,
            },
            # frames are raw pixels (1080p: 6 MB each): smaller calls keep an actor's memory low
            batch_size=(VIDEO_ROWS_PER_CALL_FACTOR if videos else ROWS_PER_CALL_FACTOR)
            * batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=pool),
            num_cpus=threads_per_actor,
        )
        for ds in merged
    ]
    if errors:
        classified.append(ray.data.from_arrow(_rows_table(errors)))
    if not classified:
        raise ValueError("no sources given")
    out = classified[0]
    return out.union(*classified[1:]) if len(classified) > 1 else out


# ---- writing -------------------------------------------------------------------------------------
