"""toolkit.stats.holm: Holm (1979) step-down adjusted p-values, against hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.stats import holm


def test_textbook_values():
    # sorted p: 0.01*5 = 0.05, 0.02*4 = 0.08, 0.03*3 = 0.09, 0.04*2 = 0.08 -> 0.09 (running
    # max), 0.05*1 -> 0.09
    out = holm([0.03, 0.01, 0.05, 0.02, 0.04])
    np.testing.assert_allclose(out, [0.09, 0.05, 0.09, 0.08, 0.09])


def test_cap_at_one_nan_ignored_and_single_test_unchanged():
    np.testing.assert_allclose(holm([0.6, 0.3]), [0.6, 0.6])
    np.testing.assert_allclose(holm([0.9, 0.8, 0.7]), [1.0, 1.0, 1.0])
    out = holm([np.nan, 0.02, 0.04])  # NaN (a reference row) is not a test
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [0.04, 0.04])
    np.testing.assert_allclose(holm([0.037]), [0.037])
    assert holm([]).shape == (0,)


def test_rejects_values_outside_0_1_and_2d():
    with pytest.raises(ValueError, match=r"p_values\[1\] = 1.5"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match="1-D"):
        holm([[0.1]])


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    # capped at 1; one test is unadjusted
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.2]), [0.2])
    # ties keep their order: 0.02 x 3 = 0.06 for both, then max(0.06, 0.9) = 0.9
    np.testing.assert_allclose(holm([0.02, 0.9, 0.02]), [0.06, 0.9, 0.06])
    with pytest.raises(ValueError, match=r"p_values\[0\] = 1.5"):
        holm([1.5])
