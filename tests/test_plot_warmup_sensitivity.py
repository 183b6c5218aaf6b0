"""toolkit.plots.plot_warmup_sensitivity: the data drawn is the data given."""

from __future__ import annotations

import pytest

from toolkit.plots import plot_warmup_sensitivity


def test_traces_carry_the_values_and_category_labels():
    fig = plot_warmup_sensitivity(
        [0, 100, 1000, 10000],
        {"peak lr": [2e-5, 1.4e-5, 1.38e-6, 1.38e-7], "sum": [7e-4, 5e-4, 4.8e-5, 4.8e-6]},
        marked=10000, marked_label="fit() default",
    )  # fmt: skip
    assert [t.name for t in fig.data] == ["peak lr", "sum"]
    assert list(fig.data[0].x) == ["0", "100", "1,000", "10,000"]
    assert list(fig.data[1].y) == [7e-4, 5e-4, 4.8e-5, 4.8e-6]
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.type == "category"
    assert fig.layout.shapes[0].x0 == 3  # the 4th category


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([], {"a": []}), {}, "warmup_steps must be a non-empty"),
        (([0, -1], {"a": [1, 1]}), {}, r"warmup_steps\[1\] must be an integer >= 0, got -1"),
        (([0, 0], {"a": [1, 1]}), {}, "repeats a value"),
        (([0, 1], {"a": [1.0]}), {}, "has 1 values but warmup_steps has 2"),
        (([0, 1], {"a": [1.0, 0.0]}), {}, r"series\['a'\]\[1\] = 0.0; expected a finite value > 0"),
        (([0, 1], {"a": [1.0, 2.0]}), {"marked": 5}, "marked=5 is not one of"),
    ],
)
def test_bad_input_is_named(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_warmup_sensitivity(*args, **kwargs)
