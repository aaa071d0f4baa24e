"""minicnn.cli.run_script: what a script did not explain itself ends in one line and an exit status."""
import errno

from minicnn.cli import run_script


def test_run_script_passes_the_exit_status_through():
    assert run_script(lambda: 3) == 3


def test_a_file_error_is_one_line_naming_the_file(capsys):
    def main():
        raise OSError(errno.ENOSPC, "No space left on device", "runs/deep/report.json")
    assert run_script(main) == 1
    assert capsys.readouterr().err == ("error: runs/deep/report.json: No space left on device; nothing was left "
                                       "half-written\n")


def test_ctrl_c_is_exit_status_130(capsys):
    def main():
        raise KeyboardInterrupt
    assert run_script(main) == 130
    assert "interrupted" in capsys.readouterr().err
