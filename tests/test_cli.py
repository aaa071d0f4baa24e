"""minicnn.cli: the `minicnn` command (every command's --help, --version, the train nets, info) and run_script (what
a script did not explain itself ends in one line and an exit status). The commands' work is tested through the
example scripts (test_examples.py), which run the same code, and through the installed wheel (test_package.py)."""
import errno
import subprocess
import sys

import pytest

import minicnn
from minicnn import cli, training
from minicnn.cli import run_script
from minicnn.commands import train
from test_examples import write_synthetic_fer2013


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


def exit_status_and_output(argv, capsys):
    """Run `minicnn argv` in this process -> (exit status, stdout, stderr); argparse's exits count too."""
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_minicnn_version_and_help_list_every_command(capsys):
    assert exit_status_and_output(["--version"], capsys)[:2] == (0, f"minicnn {minicnn.__version__}\n")
    status, out, _ = exit_status_and_output(["--help"], capsys)
    assert status == 0
    for name, (_, summary) in cli.COMMANDS.items():
        assert f"  {name}" in out and summary in out


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_each_command_has_its_own_help_under_its_name(command, capsys):
    status, out, _ = exit_status_and_output([command, "--help"], capsys)
    assert status == 0 and out.startswith(f"usage: minicnn {command}")


def test_an_unknown_command_is_a_usage_error_naming_the_commands(capsys):
    status, _, err = exit_status_and_output(["fit"], capsys)
    assert status == 2 and "invalid choice: 'fit'" in err and "'train'" in err


def test_train_lists_its_nets_and_each_net_its_own_options_and_defaults(capsys):
    status, out, _ = exit_status_and_output(["train", "--help"], capsys)
    assert status == 0 and all(f"  {net}" in out for net in train.nets())
    for net in training.RECIPES:
        status, out, _ = exit_status_and_output(["train", net, "--help"], capsys)
        assert status == 0 and out.startswith(f"usage: minicnn train {net}")
        assert "--resume" in out and f"default: {training.RECIPES[net]['epochs']}" in out
    status, out, _ = exit_status_and_output(["train", "hybrid", "--help"], capsys)
    assert status == 0 and "--depth" in out


def test_train_says_where_to_get_the_data_when_there_is_none(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    status, _, err = exit_status_and_output(["train", "deep", "--epochs", "1"], capsys)
    assert status == 2 and "FER2013 not found" in err


def test_info_reports_the_version_the_data_and_the_shipped_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINICNN_DATA", str(write_synthetic_fer2013(tmp_path / "fer2013.csv")))
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    status, out, _ = exit_status_and_output(["info"], capsys)
    lines = dict(line.strip().split(": ", 1) for line in out.splitlines())
    assert status == 0 and lines["minicnn"].startswith(minicnn.__version__)
    assert lines["data"].startswith(f"FER2013 at {tmp_path / 'fer2013.csv'}")
    assert str(tmp_path / "cache") in lines["caches"]
    assert "threads" in lines["BLAS"] and "Numba" in lines["CPU kernels"] and "cpu" in lines["devices"]


def test_python_dash_m_minicnn_is_the_command():
    result = subprocess.run([sys.executable, "-m", "minicnn", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout == f"minicnn {minicnn.__version__}\n"
