"""What every command-line script shares: a failure a user can cause ends in one line, never a traceback.

    if __name__ == "__main__":
        sys.exit(run_script(main))

Each script catches the errors it can explain best itself (a malformed data file, a model that is not one) and
returns its exit status; run_script catches what is left: a file that cannot be read or written (a full disk, a
folder in the way, permission denied) and Ctrl-C. minicnn writes every file atomically, so neither leaves half a
file behind.
"""
import sys


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
