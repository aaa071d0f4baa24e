"""The benchmarks' timer (benchmarks/common.py): turns, warm-up rounds and consecutive calls."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import common  # noqa: E402 (benchmarks/ is a folder of scripts, not a package)

SWITCH_SECONDS, STEADY_SECONDS = 0.05, 0.001


def contestants(calls):
    """Three functions, each slow right after another one ran, as a step after another contestant's can be. (With
    three, the rounds' rotation never puts a function right after itself across rounds.)"""
    last = {"name": None}

    def make(name):
        def run():
            time.sleep(SWITCH_SECONDS if last["name"] != name else STEADY_SECONDS)
            last["name"] = name
            calls.append(name)
        return run
    return {name: make(name) for name in "abc"}


def test_one_call_per_turn_times_every_call_after_the_warm_up():
    calls = []
    times = common.median_times(contestants(calls), repeats=3, warmup=1)
    assert len(calls) == 3 * (1 + 3)
    assert all(seconds >= SWITCH_SECONDS for seconds in times.values())      # each call followed another one


def test_consecutive_calls_time_all_but_the_first_of_each_turn():
    calls = []
    times = common.median_times(contestants(calls), repeats=3, warmup=1, consecutive=3)
    assert len(calls) == 3 * 3 * (1 + 3)
    assert calls[:3] == ["a"] * 3 and calls[3:6] == ["b"] * 3
    assert all(seconds < SWITCH_SECONDS / 2 for seconds in times.values())   # the switch is left untimed


def test_a_ring_allreduce_moves_2_n_minus_1_over_n_gradients_per_machine():
    import bench_data_parallel
    # 1.25 GB is 10 Gbit: one second at 10 Gbit/s. Two machines each send (and receive) the gradient once.
    assert abs(bench_data_parallel.ring_allreduce_seconds(1.25e9, 2, 10) - 1.0) < 1e-12
    assert abs(bench_data_parallel.ring_allreduce_seconds(1.25e9, 4, 10) - 1.5) < 1e-12
    table = bench_data_parallel.projection_table(1000.0, {"gradient_bytes": 1.25e9}).splitlines()
    assert table[2].startswith("| 1 | 1000 | 0.0 | 1000 | 1.0x |")
    assert table[3].startswith("| 2 | 500 | 1000.0 | 1500 | 0.7x | 100.0 | 600 | 1.7x |")
