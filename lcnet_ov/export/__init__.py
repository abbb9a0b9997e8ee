"""The export side: everything that happens once, before a model runs.

Fetching official tarballs (:mod:`.download`, :mod:`.archive`), reading training checkpoints
safely (:mod:`.checkpoint`), the architecture (:mod:`.arch` counts, :mod:`.paddle_arch` the
Paddle network), conversion to IR (:mod:`.sources`, :mod:`.conversion`), verification against
the source framework (:mod:`.verify`, :mod:`._child`), INT8 quantization (:mod:`.quantization`,
:mod:`.int8_graph`), and :func:`~.resolve.resolve_ir`, the bridge that converts a source on
first use. It may use the run side (to load, evaluate and calibrate an IR); the run side,
serving and the Ray job never import it.
"""
