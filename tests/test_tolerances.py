"""The tolerance helper itself: it must be able to fail, and must not round what it compares."""

import pytest
import torch
from tolerances import assert_close, tol


def test_tolerance_grows_with_the_reduction_and_the_dtype():
    assert tol(torch.float32, 100) == pytest.approx(10 * tol(torch.float32, 1))
    assert tol(torch.float64, 1) < 1e-14 < tol(torch.float32, 1)


def test_float64_numbers_are_compared_in_float64():
    x = torch.tensor(0.1, dtype=torch.float64)
    assert_close(x, 0.1, dtype=torch.float64)
    assert_close(x.repeat(3), [0.1, 0.1, 0.1], dtype=torch.float64)
    with pytest.raises(AssertionError):   # float32's 0.1 differs from float64's by 1.5e-9
        assert_close(x, torch.tensor(0.1, dtype=torch.float32), dtype=torch.float64)


def test_a_one_ulp_float32_difference_passes_and_a_real_error_fails():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    assert_close(x, x.double() * (1 + 2 ** -23), n=1)
    with pytest.raises(AssertionError):
        assert_close(x, x * (1 + 1e-4), n=1000)
