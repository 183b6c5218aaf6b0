"""nbval compares these notebooks by meaning: words exact, numbers within stated tolerances.

pytest loads this file whenever it collects the notebooks in this folder, so the command users
put in their CI,

    pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks

runs every cell as nbval always does, and compares each cell's outputs with
``toolkit.notebook_check.compare_outputs`` (after nbval's own sanitize patterns) instead of
byte for byte: on another CPU the last bits of the vectors change and chaotic steps (UMAP,
fine-tuning) turn them into other digits, while the findings stay. The rules and why each
tolerance has its size are in ``toolkit/notebook_check.py``.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    from nbval.plugin import IPyNbCell

    from toolkit.notebook_check import compare_outputs

    def by_meaning(self, test, ref, skip_compare=None):
        self.comparison_traceback = compare_outputs(
            ref, test, source=self.cell.source, sanitize=self.sanitize
        )
        return not self.comparison_traceback

    for item in items:
        if isinstance(item, IPyNbCell):
            # one bound method per collected cell: nbval itself and other notebooks untouched
            item.compare_outputs = by_meaning.__get__(item)
