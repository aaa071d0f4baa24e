"""The `minicnn` command, and what every command-line script shares: a failure a user can cause ends in one line,
never a traceback.

`minicnn COMMAND [options]` runs the main(argv, prog) of the module that COMMANDS names for COMMAND; the scripts in
examples/ call the same functions (examples/evaluate.py is `minicnn evaluate`), so each command is written once.
A new command is a module with such a main and one line in COMMANDS: its name, its module and one line of help.
Modules are imported only when their command runs, so `minicnn --help` stays fast.

Each command catches the errors it can explain best itself (a malformed data file, a model that is not one) and
returns its exit status; run_script catches what is left: a file that cannot be read or written (a full disk, a
folder in the way, permission denied) and Ctrl-C. minicnn writes every file atomically, so neither leaves half a
file behind.
"""
import argparse
import importlib
import sys

import minicnn

COMMANDS = {  # name: (module holding main(argv=None, prog=None) -> exit status, one line for `minicnn --help`)
    "train": ("minicnn.commands.train", "train the paper's nets (shallow, deep, hybrid) or the VGG-style net"),
    "evaluate": ("minicnn.commands.evaluate", "score a model on FER2013's test splits"),
    "predict": ("minicnn.commands.predict", "find the faces in photos and read their emotions"),
    "visualize": ("minicnn.commands.visualize", "draw filters, activation maps, DeepDream, saliency, class models"),
    "export": ("minicnn.commands.export", "write a model as an ONNX graph, checked against ONNX Runtime"),
    "serve": ("minicnn.app", "serve a page that reads the emotions of faces on photos and from a webcam"),
    "info": ("minicnn.commands.info", "version, devices, BLAS and kernels, where the data and caches are"),
}


def run_script(main):
    """Call main() (it returns an exit status) and turn an OSError or a KeyboardInterrupt into a message on stderr
    and exit status 1 or 130."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted: every file minicnn writes is written whole or not at all", file=sys.stderr)
        return 130
    except OSError as error:
        place = f"{error.filename}: " if error.filename else ""
        print(f"error: {place}{error.strerror or error}; nothing was left half-written", file=sys.stderr)
        return 1


def command_parser():
    """The parser of `minicnn` itself: --version, --help, and the command, whose options its own parser reads."""
    width = max(map(len, COMMANDS))
    table = "\n".join(f"  {name:{width}}  {summary}" for name, (_, summary) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="minicnn", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"minicnn {minicnn.__version__}: convolutional networks for facial expression recognition "
                    "(FER2013), every layer written by hand.",
        epilog=f"commands:\n{table}\n\n`minicnn COMMAND --help` lists the options of a command.")
    parser.add_argument("--version", action="version", version=f"minicnn {minicnn.__version__}")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of the commands below")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the command's options")
    return parser


def main(argv=None):
    """The `minicnn` command: run COMMAND with the rest of the command line. Returns its exit status."""
    arguments = command_parser().parse_args(sys.argv[1:] if argv is None else argv)
    module_name = COMMANDS[arguments.command][0]
    command = importlib.import_module(module_name).main
    return run_script(lambda: command(arguments.arguments, prog=f"minicnn {arguments.command}"))
