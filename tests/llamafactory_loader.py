"""LLaMA-Factory's own dataset code, run on an export without torch.

``pip install --no-deps llamafactory`` (the Makefile does, as for TRL's and
axolotl's templates) installs its source but none of its dependencies. Its data
modules that read a dataset are plain Python: ``parser.py`` (``dataset_info.json``
-> ``DatasetAttr``), ``converter.py`` (the ``sharegpt`` aligner, which drops any
row whose roles do not alternate), ``formatter.py`` and ``tool_utils.py`` (which
parse ``function_call`` turns and the ``tools`` column). What needs torch is only
the packages around them: ``llamafactory/data/__init__.py`` imports the collator
(``import torch``), and ``extras/misc.py`` (``import torch``) and
``extras/constants.py`` (``peft``, which imports torch) are imported by the
parser and the logger. Those three are stood in for here; the four files above
run as shipped.

axolotl's ``chat_template`` strategy cannot run this way: it needs a tokenizer to
do anything, and its own imports reach torch from every side
(``axolotl/utils/logging.py`` -> ``utils/distributed.py``: ``import torch``;
``utils/schemas/enums.py``: ``import torch``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Warnings:
    """LLaMA-Factory's logger, keeping what it warns (a skipped row says so here)."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def warning_rank0(self, message: str) -> None:
        self.said.append(message)

    warning_rank0_once = warning_rank0
    warning = warning_rank0

    def info_rank0(self, message: str) -> None:
        pass


@contextmanager
def llamafactory_data() -> Iterator[tuple[dict[str, types.ModuleType], Warnings]]:
    """The modules ``parser``, ``converter``, ``formatter``, ``tool_utils`` as installed,
    and the warnings they log; ``sys.modules`` is left as it was afterwards."""
    spec = importlib.util.find_spec("llamafactory")
    assert spec and spec.origin, (
        "pip install --no-deps 'llamafactory>=0.9.5,<0.10' (as the Makefile does)"
    )
    root = Path(spec.origin).parent
    warnings = Warnings()
    stand_ins = {
        "llamafactory": _package("llamafactory", root),
        "llamafactory.data": _package("llamafactory.data", root / "data"),
        "llamafactory.extras": _package("llamafactory.extras", root / "extras"),
        "llamafactory.extras.logging": _module(
            "llamafactory.extras.logging", get_logger=lambda name=None: warnings
        ),
        "llamafactory.extras.constants": _module(
            "llamafactory.extras.constants", DATA_CONFIG="dataset_info.json"
        ),
        "llamafactory.extras.misc": _module(
            "llamafactory.extras.misc", use_modelscope=lambda: False, use_openmind=lambda: False
        ),
    }
    before = {name: module for name, module in sys.modules.items() if name.startswith("llama")}
    sys.modules.update(stand_ins)
    try:
        names = ("data_utils", "tool_utils", "formatter", "converter", "parser")
        modules = {n: importlib.import_module(f"llamafactory.data.{n}") for n in names}
        yield modules, warnings
    finally:
        for name in [name for name in sys.modules if name.startswith("llamafactory")]:
            del sys.modules[name]
        sys.modules.update(before)


def _package(name: str, path: Path) -> types.ModuleType:
    package = types.ModuleType(name)
    package.__path__ = [str(path)]
    return package


def _module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module
