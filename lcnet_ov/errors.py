"""Domain exceptions.

Every failure a user can cause (a bad path, a missing extra, a corrupt download) is raised as a
subclass of :class:`LcnetOVError`, so the CLI can print one clean line and exit non-zero, and
applications can catch one base class.
"""

from __future__ import annotations


class LcnetOVError(Exception):
    """Base class of every error lcnet-ov raises on purpose."""

    #: process exit code the CLI uses for this error class
    exit_code: int = 1


class UsageError(LcnetOVError, ValueError):
    """An argument or option value that cannot work, found before any work started.

    The CLI exits with 2 for these, as click does for its own usage errors; everything that
    goes wrong while working (a failed conversion, an unreadable file) exits with 1.
    """

    exit_code = 2


class OutputPathError(LcnetOVError, OSError):
    """A file or folder that cannot be created or written (the message names the path).

    Also an :class:`OSError`, so code that caught the bare ``PermissionError`` still works.
    """


class CacheDirError(OutputPathError):
    """``$LCNET_OV_HOME`` (the model cache) cannot be created or written."""


class UnknownModelError(LcnetOVError, KeyError):
    """A model name that is not in the zoo."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown model"


class MissingDependencyError(LcnetOVError, ImportError):
    """An optional extra (paddle, nncf, ...) is needed but not installed."""


class DownloadError(LcnetOVError):
    """A model file could not be fetched, or what arrived failed its checks."""


class OfflineError(DownloadError):
    """Fetching was needed while offline mode is on."""


class UnsafeArchiveError(DownloadError):
    """A tar archive holds entries that would escape or pollute the target folder."""


class InvalidModelFileError(LcnetOVError):
    """A model file exists but cannot be used (wrong format, corrupt, unexpected content)."""


class ModelNotConvertedError(InvalidModelFileError):
    """A model name or source has no IR yet, and this caller does not convert (the run side).

    The message names the command that converts it (``lcnet-ov convert``).
    """


class UnsafeCheckpointError(InvalidModelFileError):
    """A ``.pdparams`` pickle references objects other than arrays and containers."""


class ConversionError(LcnetOVError):
    """A conversion step (paddle2onnx, OpenVINO frontends) failed."""


class ConvertOptionError(ConversionError, UsageError):
    """A conversion setting that cannot work (opset, route, batch size): a usage error."""


class VerificationError(ConversionError):
    """A converted model does not reproduce its source numerically."""


class LabelFileError(InvalidModelFileError):
    """A label / class-id map file that is missing, malformed or does not fit the model."""


class ModelConfigError(InvalidModelFileError):
    """A model's own pre/post-processing config (PaddleX ``inference.yml``, PaddleClas deploy or
    PULC yaml) that cannot be followed exactly: an unknown op, a malformed value. Names the op and
    the file, because guessing would silently change every answer."""


class ImageDecodeError(LcnetOVError):
    """An input image that cannot be read, decoded or used (names the offending file)."""

    def __init__(self, message: str, filename: str | None = None) -> None:
        super().__init__(message)
        self.filename = filename


class InvalidInputError(ImageDecodeError, TypeError):
    """An input that is not an image source at all (``None``, an ``int``, a dict...).

    Also a ``TypeError`` (what such inputs raised before), so existing handlers keep working."""


class ImageTooLargeError(ImageDecodeError):
    """An image over the pixel limit, or one whose resize would blow past the size guards."""


class DeviceError(LcnetOVError):
    """The model cannot be compiled for the requested device or with the given settings."""


class InferenceError(LcnetOVError):
    """Inference ran but its result is unusable (NaN/inf scores for an input)."""


class QueueFullError(LcnetOVError):
    """``AsyncClassifier.submit`` found every ``max_pending`` slot taken and was told not to
    wait (longer)."""


class DatasetError(LcnetOVError):
    """A dataset that cannot be used: missing, empty, malformed list file, labels out of range."""


class QuantizationError(LcnetOVError):
    """Quantization was refused (already INT8, bad settings) or NNCF failed."""


class QuantizeOptionError(QuantizationError, UsageError):
    """A quantization setting that cannot work (preset, sizes, ignored scope): a usage error."""


class BenchError(LcnetOVError):
    """A benchmark that cannot run or measured nothing (the message says why)."""


class BenchOptionError(BenchError, UsageError):
    """A benchmark option that cannot work (the message names the option and the fix)."""


class ServeError(LcnetOVError):
    """``lcnet-ov serve`` / ``export`` cannot do what was asked (port taken, bad settings)."""


class ServerBusyError(ServeError):
    """A request the server turned away at once because it is full (HTTP 503 with
    ``Retry-After``, gRPC ``UNAVAILABLE``): waiting without bound would only grow memory and
    latency, and the client (or the balancer in front) can retry elsewhere or later."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClusterError(LcnetOVError):
    """A Ray cluster that cannot be reached, or a job that cannot fit on it (``--engine ray``)."""


class OutputFileError(OutputPathError):
    """A job's output file that cannot be written (unknown format, missing or read-only folder).

    An :class:`OutputPathError` like every other unwritable output, so one ``except`` covers
    the CLI's outputs and the Ray job's ``--output``.
    """


class OutputExistsError(UsageError):
    """An output that already exists, refused without ``--force`` (``force=True``/
    ``replace=True``): every command that writes a file replaces one only when told to."""


class StreamError(LcnetOVError):
    """A video file or live stream that cannot be read (the message names the source)."""

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class StreamOpenError(StreamError):
    """A stream source that never opened (after every ``reconnect`` attempt)."""


class StreamOptionError(StreamError, UsageError):
    """A stream option that cannot work (``every``, ``fps``, ``smooth``...): a usage error."""
