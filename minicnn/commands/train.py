"""Train a network on FER2013: minicnn train NET [options], NET being one of minicnn.training's presets (the paper's
shallow and deep nets, minicnn's VGG-style net) or `hybrid` (the paper's nets with HOG features, --depth choosing
which).

Each net takes its defaults from its recipe (training.RECIPES), so `minicnn train NET --help` lists its options; they
come from minicnn.training's parser. examples/train_shallow.py, train_deep.py and train_hybrid.py run train_net, so
the scripts and the command are one implementation: `train_deep.py --arch vgg` is `minicnn train deep --arch vgg`,
which is `minicnn train vgg`.
"""
import argparse

from minicnn import training

HYBRID = "hybrid"


def nets():
    """The nets `minicnn train` knows, each with one line of help: the presets, then the hybrid net."""
    lines = {depth: f"{training.net_name(depth)} ({recipe['epochs']} epochs by default)"
             for depth, recipe in training.RECIPES.items()}
    lines[HYBRID] = (f"{training.net_name('|'.join(training.HYBRID_DEPTHS), hybrid=True)}: HOG features joined to "
                     "the conv features (--depth)")
    return lines


def net_parser(prog=None):
    """The parser of `minicnn train` itself: which net, then that net's own options."""
    width = max(map(len, nets()))
    table = "\n".join(f"  {name:{width}}  {line}" for name, line in nets().items())
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a network on FER2013; a run writes everything into RUNS_DIR/NAME/.",
        epilog=f"nets:\n{table}\n\n`{prog or 'minicnn train'} NET --help` lists the options of NET, with its "
               "defaults.")
    parser.add_argument("net", choices=nets(), metavar="NET", help="one of the nets below")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the net's options")
    return parser


def chosen(option, choices, default, argv, prog):
    """(the value of option in argv, the other arguments): an option read before the net's parser is built, since
    the defaults of that parser depend on it."""
    chooser = argparse.ArgumentParser(prog=prog, add_help=False)
    chooser.add_argument(option, choices=choices, default=default)
    known, rest = chooser.parse_known_args(argv)
    return getattr(known, option.removeprefix("--")), rest


def train_net(net, argv=None, prog=None):
    """Train `net` (a key of nets()) with the options argv (None: sys.argv[1:]): the hybrid net's conv part is its
    --depth, and an architecture of training.ARCHITECTURES may be swapped for another by --arch. prog: the name --help
    shows (None: the script's file name). Returns the exit status."""
    if net == HYBRID:
        depth, argv = chosen("--depth", training.HYBRID_DEPTHS, training.HYBRID_DEPTHS[0], argv, prog)
        return training.train(depth, hybrid=True, argv=argv, prog=prog)
    if net in training.ARCHITECTURES:
        net, argv = chosen("--arch", training.ARCHITECTURES, net, argv, prog)
    return training.train(net, argv=argv, prog=prog)


def main(argv=None, prog=None):
    """minicnn train NET [options]. Returns the exit status."""
    arguments = net_parser(prog).parse_args(argv)
    return train_net(arguments.net, arguments.options, prog=f"{prog} {arguments.net}" if prog else None)
