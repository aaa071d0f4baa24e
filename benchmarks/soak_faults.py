"""Kill a training run many times and check that nothing is lost: python benchmarks/soak_faults.py [--runs 20].

Each run trains tests/fault_driver.py's tiny seeded net in a fresh folder, killing it with SIGKILL at a random
moment (uniform over one uninterrupted run's duration) again and again, resuming each time, until a launch runs to
its end; then its last checkpoint and saved model must equal, bit for bit, those of the run that was never
interrupted. It prints one line per run and a summary: how many kills, how many runs ended identical.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from minicnn.files import load_arrays

REPO_ROOT = Path(__file__).resolve().parents[1]
DRIVER = REPO_ROOT / "tests" / "fault_driver.py"
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Kill a tiny training run at random moments; check it resumes "
                                                 "to the same bits.")
    parser.add_argument("--runs", type=int, default=20, help="runs to kill and resume (default: %(default)s)")
    parser.add_argument("--kills-per-run", type=int, default=5, help="kills before a run may finish "
                                                                     "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    return parser.parse_args(argv)


def launch(run_dir):
    return subprocess.Popen([sys.executable, str(DRIVER), str(run_dir)], cwd=REPO_ROOT,
                            env={**os.environ, **SINGLE_THREADED}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def final_params(run_dir):
    """The param/ arrays of the last checkpoint and of the saved model, as one dict."""
    arrays = {}
    for name in ("checkpoint.npz", "model.npz"):
        params = {key: a for key, a in load_arrays(run_dir / name).items() if key.startswith("param/")}
        arrays.update({f"{name}:{key}": a for key, a in params.items()})
    return arrays


def killed_run(run_dir, kills, duration, rng):
    """Kill launches of the driver `kills` times at random moments, then let one finish; returns the kills made
    (fewer when a launch finished before its moment came)."""
    made = 0
    while True:
        process = launch(run_dir)
        if made == kills:
            _, stderr = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"the resumed run failed:\n{stderr}")
            return made
        try:
            process.wait(timeout=rng.uniform(0, 1) * duration)
            if process.returncode == 0:
                return made
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            made += 1


def main(argv=None):
    arguments = parse_arguments(argv)
    rng = np.random.default_rng(arguments.seed)
    with tempfile.TemporaryDirectory() as folder:
        reference_dir = Path(folder) / "reference"
        started = time.perf_counter()
        if launch(reference_dir).wait() != 0:
            print("error: the uninterrupted run failed", file=sys.stderr)
            return 1
        duration = time.perf_counter() - started
        reference = final_params(reference_dir)
        total_kills, identical = 0, 0
        for run in range(1, arguments.runs + 1):
            run_dir = Path(folder) / f"run{run}"
            kills = killed_run(run_dir, arguments.kills_per_run, duration, rng)
            ours = final_params(run_dir)
            same = ours.keys() == reference.keys() and all(np.array_equal(ours[k], reference[k]) for k in reference)
            total_kills += kills
            identical += same
            print(f"run {run}: {kills} kills, final parameters {'identical' if same else 'DIFFERENT'}")
    print(f"{arguments.runs} runs, {total_kills} kills (SIGKILL at random moments, {duration:.1f} s per "
          f"uninterrupted run): {identical} of {arguments.runs} runs ended bit for bit identical")
    return 0 if identical == arguments.runs else 1


if __name__ == "__main__":
    sys.exit(main())
