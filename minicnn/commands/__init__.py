"""The commands of `minicnn`, one module each, listed in minicnn.cli.COMMANDS (the page's, `minicnn serve`, is
minicnn/app.py, with the page).

Each module has main(argv=None, prog=None) -> exit status: argv is the command's own options (None: sys.argv[1:]),
prog the name its --help shows (None: the script's file name). The scripts in examples/ call the same main, so
`python examples/evaluate.py ...` and `minicnn evaluate ...` are one implementation behind two doors.
"""
