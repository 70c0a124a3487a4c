"""The hourly cell table of a run (``Results.cells``), checked against the interval rows, which the runner
records by a separate path (per-line means at each dispatch interval's end): at a whole hour both read the same
plant state, so each line's mean over its cells in the table must equal the interval row's mean."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from tests.scenario.conftest import run_text, small_scenario_text


def test_hourly_cells_agree_with_the_interval_means_of_each_line() -> None:
    results = run_text(small_scenario_text(3.0))
    cells = results.cells
    assert cells.schema.field("time_h").type == pa.float64()
    assert cells.schema.field("potline").type == pa.string()
    assert cells.schema.field("cell").type == pa.int64()
    table = cells.to_pydict()
    lines = list(results.potline_kpis)
    hours = sorted(set(table["time_h"]))
    assert hours == [1.0, 2.0, 3.0]  # at the end of each hour, the horizon's included; none at the start
    assert min(table["voltage_V"]) > 3.0  # every row a computed state
    assert min(table["alf3_wtpct"]) > 5.0
    assert set(table["potline"]) == set(lines)
    intervals = results.timeseries.to_pydict()
    compared = 0
    for hour in hours:
        row = intervals["time_h"].index(hour)
        for line in lines:
            picked = [i for i, (t, p) in enumerate(zip(table["time_h"], table["potline"], strict=True))
                      if t == hour and p == line]
            numbers = [table["cell"][i] for i in picked]
            assert numbers == list(range(1, len(numbers) + 1))  # every cell once, in order
            for column, interval_column in (("voltage_V", "cell_voltage_mean_V"),
                                            ("alumina_wtpct", "alumina_mean_wtpct"),
                                            ("superheat_K", "superheat_mean_K"),
                                            ("ledge_cm", "ledge_mean_cm")):
                mean = float(np.mean([table[column][i] for i in picked]))
                assert np.isclose(mean, intervals[f"{line}_{interval_column}"][row], rtol=1e-12, atol=0.0), (
                    hour, line, column)
                compared += 1
    assert compared == 3 * len(lines) * 4
    assert cells.num_rows == len(hours) * results.meta["cells"]
