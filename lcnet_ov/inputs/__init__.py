"""The input side: from what a user points at to the tensor a model sees.

Nothing here imports OpenVINO: files and folders (:mod:`.files`), decoding with its size guards
(:mod:`.decode`, :mod:`.headers`), PaddleClas preprocessing (:mod:`.preprocess`), evaluation and
calibration data sets (:mod:`.datasets`, :mod:`.class_folders`) and label lists
(:mod:`.labels`). The run side and the export side both build on it; it builds on neither.
"""
