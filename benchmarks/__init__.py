"""Benchmark scripts that write the measured sections of docs/ (run ``python -m benchmarks.X``).

Every script prints its sections; ``--write`` puts them into docs/ between their markers, and
``--smoke`` runs the real code path on tiny sizes in seconds and writes nothing. What they share
(section writer, interleaved rounds, load and steal, the provenance line) is
:mod:`benchmarks.harness`; the scratch models and data sets several scripts build are
:mod:`benchmarks._models`. ``tests/test_benchmark_scripts.py`` runs every ``--smoke``.
"""
