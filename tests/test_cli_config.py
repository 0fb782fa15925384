"""The config given as the first argument (the old form) is moved to ``--config``; nothing else moves."""

import click
import click.testing

from monitor.cli_config import ConfigCommand, config_option, moved_config


@click.command(cls=ConfigCommand)
@config_option()
@click.argument("incident_id")
@click.option("--brand")
@click.option("--all", "show_all", is_flag=True)
def show(path, incident_id, brand, show_all):
    click.echo(f"{path}|{incident_id}|{brand}|{show_all}")


def test_the_first_of_one_argument_too_many_is_the_config():
    assert moved_config(show, ["m.yaml", "i1", "--brand", "B"]) == (["--config", "m.yaml", "i1", "--brand", "B"],
                                                                    "m.yaml")
    assert moved_config(show, ["--brand", "B", "m.yaml", "--all", "i1"])[0] == [
        "--config", "m.yaml", "--brand", "B", "--all", "i1"]


def test_option_values_flags_and_the_new_form_stay_as_they_are():
    for args in (["i1"], ["--brand", "m.yaml", "i1"], ["--config", "m.yaml", "i1"], ["--config=m.yaml", "x", "i1"],
                 ["--all", "i1"]):
        assert moved_config(show, args) == (args, None)


def test_the_old_form_runs_with_a_warning_on_stderr():
    runner = click.testing.CliRunner()
    old = runner.invoke(show, ["m.yaml", "i1", "--all"])
    assert old.exit_code == 0 and old.stdout == "m.yaml|i1|None|True\n"
    assert "deprecated" in old.stderr and "--config m.yaml" in old.stderr
    new = runner.invoke(show, ["i1"], env={"MONITOR_CONFIG": "other.yaml"})
    assert new.stdout == "other.yaml|i1|None|False\n" and new.stderr == ""
    assert runner.invoke(show, ["i1"], env={"MONITOR_CONFIG": None}).stdout.startswith("monitor.yaml|")
