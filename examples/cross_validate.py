"""Search for the learning rate, the L2 strength and the hidden FC width, as the paper chose its own, and for the
weight decay, the augmentation's strength and the learning-rate schedule.

python examples/cross_validate.py --depth shallow --trials 8 --subset 5000 --epochs 3

Each trial draws the learning rate and the L2 strength log-uniformly (a decade is a decade, whichever decade it
is), and the width of the hidden FC layers, the weight decay, the augmentation's strength and the schedule each from
a short list, trains the net on the first --subset training images for --epochs epochs with the paper's recipe
otherwise (minicnn.training), and is scored by its best validation (PublicTest) accuracy. PrivateTest is never
scored here: a test set that helped choose the hyper-parameters no longer measures how the chosen net does on faces
it has never seen.

With Ray Tune installed (pip install -e ".[search]") the trials run as Tune trials (minicnn.search): at once, one per
core (--cpus-per-trial), on a Ray started here or on a cluster (--address); ASHA stops the worse half of the trials
after 1, 2, 4, ... epochs; --resume continues a stopped search. Without Ray they run one after another, each to the
end, as before. Random rather than grid search (Bergstra and Bengio, 2012): 8 trials of a grid give each
hyper-parameter 2 values, 8 random trials give each 8, and usually only one or two hyper-parameters matter much.

Writes RUNS_DIR/NAME/results.json and results.csv, trials ranked best first, and search.png (the settings against
their accuracy, and every trial's accuracy epoch by epoch); Ray Tune's own records go into RUNS_DIR/NAME/tune/.
"""
import csv
import sys
from pathlib import Path

from minicnn import data, evaluation, plots, search
from minicnn.cli import run_script
from minicnn.files import atomic_write
from minicnn.training import PRESETS, SCHEDULES, load_data, training_parser

NAME_PATTERN = "cv_<depth>"  # the default --name, filled in once --depth is known
RESULT_FIELDS = ("rank", "learning_rate", "reg", "fc_width", "weight_decay", "augment", "schedule", "val_acc",
                 "final_train_acc", "epochs", "diverged", "failed", "seconds")


def parse_arguments(argv=None):
    parser = training_parser("Search over learning rate, L2 strength, hidden FC width, weight decay, augmentation "
                             "and schedule, scored on PublicTest "
                             "(validation) only, as Ray Tune trials with ASHA early stopping when Ray is installed. "
                             "Trains on the first --subset (default 5000) images.", epochs=3, name=NAME_PATTERN)
    parser.set_defaults(subset=5000)
    parser.add_argument("--depth", choices=["shallow", "deep"], default="shallow", help="default: %(default)s")
    parser.add_argument("--trials", type=int, default=8, help="default: %(default)s")
    parser.add_argument("--lr-range", type=float, nargs=2, default=[1e-4, 1e-2], metavar=("LOW", "HIGH"),
                        help="Adam learning rates, drawn log-uniformly (default: %(default)s)")
    parser.add_argument("--reg-range", type=float, nargs=2, default=[1e-7, 1e-3], metavar=("LOW", "HIGH"),
                        help="L2 strengths, drawn log-uniformly (default: %(default)s)")
    parser.add_argument("--widths", type=int, nargs="+", default=[256, 512, 1024],
                        help="units of each hidden FC layer, drawn uniformly (default: %(default)s)")
    parser.add_argument("--weight-decays", type=float, nargs="+", default=[0.0, 1e-2, 1e-1],
                        help="decoupled weight decays, drawn uniformly; the search sets --weight-decay "
                             "(default: %(default)s)")
    parser.add_argument("--augment-strengths", type=float, nargs="+", default=[0.0, 0.5, 1.0],
                        help="strengths of the standard augmentation (0: mirroring only), drawn uniformly; the search "
                             "sets --augment (default: %(default)s)")
    parser.add_argument("--schedules", nargs="+", choices=SCHEDULES, default=["exponential", "cosine"],
                        help="learning-rate schedules, drawn uniformly; the search sets --schedule "
                             "(default: %(default)s)")
    ray = parser.add_argument_group("Ray Tune (pip install -e \".[search]\")")
    ray.add_argument("--sequential", action="store_true",
                     help="run the trials one after another in this process, each to the end, without Ray")
    ray.add_argument("--address", help="an existing Ray cluster to run the trials on ('auto', or HOST:PORT of its "
                                       "head); default: a Ray started on this machine for the search")
    ray.add_argument("--cpus-per-trial", type=int, default=1,
                     help="cores (and threads) of each trial; Ray runs as many trials at once as the cores allow "
                          "(default: %(default)s)")
    ray.add_argument("--search-algorithm", default="random",
                     help="Tune's random search, or the name of another of Tune's searchers, such as optuna or "
                          "hyperopt, which needs its package installed (default: %(default)s)")
    ray.add_argument("--grace-period", type=int, default=1,
                     help="epochs every trial trains before ASHA compares it (default: %(default)s)")
    ray.add_argument("--max-failures", type=int, default=3,
                     help="times a trial is restarted from its last checkpoint when it fails (its node lost, say) "
                          "(default: %(default)s)")
    ray.add_argument("--resume", action="store_true",
                     help="continue the search stored in RUNS_DIR/NAME/tune: finished trials are kept, the others go "
                          "on from their last checkpoint")
    arguments = parser.parse_args(argv)
    if arguments.no_flip:
        parser.error("--no-flip: every trial's augmentation (--augment-strengths) mirrors the images")
    if arguments.name == NAME_PATTERN:
        arguments.name = f"cv_{arguments.depth}"
    return arguments


def format_table(ranked, epochs):
    lines = [f"{'rank':>4}  {'lr':>9}  {'reg':>9}  {'fc width':>8}  {'w decay':>7}  {'augment':>7}  {'schedule':>11}  "
             f"{'val acc':>7}  {'train acc':>9}  {'epochs':>6}"]
    for result in ranked:
        note = ("  failed" if result["failed"] else "  diverged" if result["diverged"]
                else "  stopped early" if result["epochs"] < epochs else "")
        lines.append(f"{result['rank']:>4}  {result['learning_rate']:>9.2e}  {result['reg']:>9.2e}  "
                     f"{result['fc_width']:>8d}  {result['weight_decay']:>7g}  {result['augment']:>7g}  "
                     f"{result['schedule']:>11}  {result['val_acc']:>7.3f}  {result['final_train_acc']:>9.3f}  "
                     f"{result['epochs']:>6d}{note}")
    return "\n".join(lines)


def write_results(run_dir, ranked, space, engine, arguments):
    """results.json (the search space, how it ran and the ranked trials with their curves), results.csv (the
    trials alone) and search.png."""
    evaluation.write_report(run_dir / "results.json", {
        "depth": arguments.depth, "subset": arguments.subset, "epochs": arguments.epochs, "seed": arguments.seed,
        "scored_on": "PublicTest", "engine": engine,
        "search_space": {name: dimension.describe() for name, dimension in space.items()}, "trials": ranked})
    with atomic_write(run_dir / "results.csv", "w") as file:
        writer = csv.DictWriter(file, fieldnames=RESULT_FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(ranked)
    plots.plot_search(ranked, run_dir / "search.png")


def choose_engine(arguments):
    """'ray' or 'sequential', or an error message: without Ray the search runs one trial after another (saying so),
    unless an option only Ray can do was asked for."""
    if arguments.sequential:
        return "sequential", None
    try:
        search.ray_tune()
    except ImportError as error:
        if arguments.address or arguments.resume:
            return None, f"{error}; --address and --resume need it"
        print(f"{error}. Running the trials one after another, each to the end, without early stopping.",
              file=sys.stderr)
        return "sequential", None
    return "ray", None


def main(argv=None):
    """Parse the command line, run the search, print and write the ranking. Returns the exit status."""
    arguments = parse_arguments(argv)
    engine, problem = choose_engine(arguments)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        splits = load_data(arguments, hybrid=False)
    except (data.DataNotFoundError, ValueError) as error:  # no data, or a malformed file
        print(f"error: {error}", file=sys.stderr)
        return 2
    splits = {name: splits[name] for name in search.SEARCH_SPLITS}
    hidden_layers = PRESETS[arguments.depth]().architecture.affine_layers
    space = search.search_space(arguments)
    run_dir = Path(arguments.runs_dir) / arguments.name
    if engine == "ray":
        try:
            results = search.search_on_ray(space, splits, arguments, hidden_layers, run_dir)
        except ValueError as error:     # a search algorithm Tune cannot make, nothing to resume
            print(f"error: {error}", file=sys.stderr)
            return 2
        engine = f"Ray Tune, {arguments.search_algorithm} search, ASHA after {arguments.grace_period} epoch(s)"
    else:
        results = search.search_one_after_another(space, splits, arguments, hidden_layers)
        engine = "one trial after another, each to the end"
    ranked = search.rank(results)
    write_results(run_dir, ranked, space, engine, arguments)
    print(format_table(ranked, arguments.epochs))
    print(f"ranked by PublicTest (validation) accuracy; results.json, results.csv and search.png are in {run_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
