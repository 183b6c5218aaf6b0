"""metrics.holm: Holm-Bonferroni adjustment, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.metrics import holm


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    # capped at 1; one test is unadjusted
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.2]), [0.2])
    # ties keep their order: 0.02 x 3 = 0.06 for both, then max(0.06, 0.9) = 0.9
    np.testing.assert_allclose(holm([0.02, 0.9, 0.02]), [0.06, 0.9, 0.06])


def test_holm_rejects_bad_p():
    with pytest.raises(ValueError, match=r"p_values\[1\] = nan"):
        holm([0.1, float("nan")])
    with pytest.raises(ValueError, match=r"p_values\[0\] = 1.5"):
        holm([1.5])
