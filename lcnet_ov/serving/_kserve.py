"""Importing ``kserve`` safely from inside the ``lcnet-ov`` CLI.

``kserve.model_server`` parses ``sys.argv`` with argparse when it is imported (its module-level
``parse_known_args``), and argparse accepts abbreviations: ``lcnet-ov serve --model X`` would be
read as kserve's ``--model_name X``, and an ambiguous prefix would exit the process. So the
import runs with ``sys.argv`` reduced to the program name; every setting is then passed to
``ModelServer`` explicitly. A missing package raises ``MissingDependencyError`` naming the extra.
"""

from __future__ import annotations

import sys
from types import ModuleType

from .._deps import require


def kserve() -> ModuleType:
    """The ``kserve`` package (imported once, with a neutral ``sys.argv``)."""
    if "kserve.model_server" not in sys.modules:
        saved = sys.argv
        sys.argv = saved[:1]
        try:
            module = require("kserve", "serve")
            require("kserve.model_server", "serve")
        finally:
            sys.argv = saved
        return module
    return sys.modules["kserve"]
