"""training.tuned_recipe(): the recommended recipe agrees with the dev selection it documents."""

from __future__ import annotations

import re

from toolkit import training as T


def test_no_argument_gives_the_recommended_recipe():
    r = T.tuned_recipe()
    assert r is T.RECOMMENDED_USE is T.get_recipe("tuned")
    assert r.optimizer_mode == "trainer" and r.scheduler == "linear" and r.warmup_steps == 0.1


def test_docstring_chosen_row_is_the_recipe():
    rows = [line for line in T.tuned_recipe.__doc__.splitlines() if "(chosen)" in line]
    assert len(rows) == 1
    m = re.match(r"\s*lr ([\d.e-]+), (.+?), (default sampler|no_duplicates)\s", rows[0])
    assert m, rows[0]
    r = T.tuned_recipe()
    assert float(m.group(1)) == r.learning_rate
    negatives = 0 if m.group(2) == "in-batch negatives" else int(m.group(2).split()[0])
    assert negatives == r.hard_negatives
    sampler = "batch_sampler" if m.group(3) == "default sampler" else m.group(3)
    assert sampler == r.batch_sampler
    # the chosen row has the highest mean of the table
    means = [float(x) for x in re.findall(r"  (0\.\d{3}) ± ", T.tuned_recipe.__doc__)]
    assert len(means) == 8 and max(means) == float(re.search(r"(0\.\d{3}) ±", rows[0]).group(1))
