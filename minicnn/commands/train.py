"""Train one of the paper's networks on FER2013: minicnn train NET [options], NET being a preset of
minicnn.training or `hybrid` (a preset with HOG features, --depth choosing which).

Each net takes its defaults from the paper's recipe for it, so `minicnn train NET --help` lists its options; they
come from minicnn.training's parser, the one examples/train_shallow.py, train_deep.py and train_hybrid.py use.
"""
import argparse

from minicnn import training

HYBRID = "hybrid"


def nets():
    """The nets `minicnn train` knows, each with one line of help: the presets, then the hybrid net."""
    lines = {depth: f"the paper's {depth} net (Adam {recipe['lr']:g}, L2 {recipe['reg']:g}, {recipe['epochs']} epochs)"
             for depth, recipe in training.RECIPES.items()}
    lines[HYBRID] = f"a preset with HOG features joined to its conv features (--depth {'|'.join(training.RECIPES)})"
    return lines


def net_parser(prog=None):
    """The parser of `minicnn train` itself: which net, then that net's own options."""
    width = max(map(len, nets()))
    table = "\n".join(f"  {name:{width}}  {line}" for name, line in nets().items())
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one of the paper's networks on FER2013; a run writes everything into RUNS_DIR/NAME/.",
        epilog=f"nets:\n{table}\n\n`{prog or 'minicnn train'} NET --help` lists the options of NET, with its "
               "defaults.")
    parser.add_argument("net", choices=nets(), metavar="NET", help="one of the nets below")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the net's options")
    return parser


def train_net(net, argv=None, prog=None):
    """Train `net` (a key of nets()) with the options argv (None: sys.argv[1:]); prog: the name --help shows
    (None: the script's file name). Returns the exit status."""
    if net != HYBRID:
        return training.train(net, argv=argv, prog=prog)
    # The hybrid net's defaults are those of its conv part, so --depth is read before the other options.
    chooser = argparse.ArgumentParser(prog=prog, add_help=False)
    chooser.add_argument("--depth", choices=list(training.RECIPES), default="shallow")
    known, rest = chooser.parse_known_args(argv)
    return training.train(known.depth, hybrid=True, argv=rest, prog=prog)


def main(argv=None, prog=None):
    """minicnn train NET [options]. Returns the exit status."""
    arguments = net_parser(prog).parse_args(argv)
    return train_net(arguments.net, arguments.options, prog=f"{prog} {arguments.net}" if prog else None)
