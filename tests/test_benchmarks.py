"""The benchmarks: the timer of benchmarks/common.py (turns, warm-up rounds, consecutive calls), the model of
bench_data_parallel.py and the pieces of bench_train_alone.py."""
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


# ------------------------------------------------------------------------------------ bench_train_alone.py
def test_a_steps_useful_flops_are_those_of_a_direct_convolution():
    import bench_train_alone
    N = 2
    conv1 = 2 * N * 32 * 1 * 3 * 3 * 48 * 48            # 2 N F C HH WW H' W' multiply-adds of each conv
    conv2 = 2 * N * 64 * 32 * 3 * 3 * 48 * 48
    affine = 2 * N * (64 * 24 * 24) * 512                 # 2 N D M of each affine layer
    scores = 2 * N * 512 * 7
    # forward, weight gradient and input gradient of each, but the first layer's input gradient
    assert bench_train_alone.useful_flops("shallow", N) == 3 * (conv1 + conv2 + affine + scores) - conv1


def test_a_run_disturbed_by_other_work_is_repeated(monkeypatch):
    import bench_train_alone
    shares = iter([0.2, 0.1, 0.01])
    monkeypatch.setattr(bench_train_alone, "child_result", lambda arguments, environment: {"others": next(shares)})
    result, attempts = bench_train_alone.quiet_child_result([], {}, max_others=0.05, tries=3)
    assert (result["others"], attempts) == (0.01, 3)
    shares = iter([0.2, 0.1, 0.01])
    result, attempts = bench_train_alone.quiet_child_result([], {}, max_others=0.05, tries=2)
    assert (result["others"], attempts) == (0.1, 2)                   # given up after two: reported as it was


def test_pytorch_runs_without_minicnns_allocator_settings_and_glibc_keeps_adds_its_own():
    import bench_train_alone
    from minicnn.allocator import OFF_SWITCH
    runs = {name: environment for name, _, environment in
            bench_train_alone.contestant_runs(["minicnn", "pytorch"], glibc_keeps=True)}
    assert OFF_SWITCH not in runs["minicnn"] and runs["pytorch"][OFF_SWITCH] == "0"
    for name in ("minicnn", "pytorch"):
        kept = runs[name + bench_train_alone.GLIBC_SUFFIX]
        assert all(kept[variable] == value for variable, value in bench_train_alone.GLIBC_KEEPS.items())
        assert not set(bench_train_alone.GLIBC_KEEPS) & set(runs[name])


def test_the_script_times_minicnn_in_a_process_of_its_own(tmp_path):
    """A whole run, as small as it gets: one round, one step of batch 2, a 64-square GEMM for the peak."""
    import subprocess
    script = Path(common.__file__).with_name("bench_train_alone.py")
    result = subprocess.run([sys.executable, str(script), "--nets", "shallow", "--batch", "2", "--warmup", "0",
                             "--steps", "1", "--rounds", "1", "--contestants", "minicnn", "--peak-size", "64",
                             "--max-others", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "## Training step, each contestant alone in its process" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("| minicnn "))
    rate = float(row.split("|")[2].split()[0])
    assert rate > 0
