"""The run side: an IR on disk in, predictions out.

One process-wide OpenVINO core (:mod:`.core`), the IR's self-description (:mod:`.metadata`),
the compiled model both classifiers share (:mod:`.loaded_model`), the synchronous
:class:`~.classifier.Classifier`, the micro-batching :class:`~.async_classifier.AsyncClassifier`
(:mod:`._batching`), normalization folded into the graph (:mod:`.folding`) and accuracy over a
data set (:mod:`.evaluation`).

The run side takes an IR and never converts: it does not import :mod:`lcnet_ov.export`
(import-linter holds that contract). :mod:`.locate` finds the IR a name or path stands for
when it exists; converting a source that has none is the export side's job, called at the edges
(the CLI, or :func:`lcnet_ov.resolve_ir` in an app).
"""
