"""The CLI's command table (``levpref.cli.COMMANDS``): well formed, and the parser derived from it runs each row."""

from __future__ import annotations

import dataclasses

import pytest

from levpref.cli import COMMANDS, GROUPS, Command, build_parser
from levpref.config import Config


def _required_positionals(command: Command) -> list[str]:
    return [a.name for a in command.args if not a.name.startswith("-") and a.options.get("nargs") != "?"]


def test_every_command_has_a_runner_a_help_line_and_one_or_two_words() -> None:
    for command in COMMANDS:
        assert callable(command.run), command.path
        assert command.help.strip(), command.path
        assert 1 <= len(command.path) <= 2, command.path
        assert all(a.help.strip() for a in command.args), command.path


def test_no_two_commands_share_a_name_and_no_command_is_named_like_a_group() -> None:
    paths = [command.path for command in COMMANDS]
    assert len(paths) == len(set(paths))
    assert not {path[0] for path in paths if len(path) == 1} & set(GROUPS)


def test_every_group_has_commands_and_every_two_word_command_a_group() -> None:
    assert {command.path[0] for command in COMMANDS if len(command.path) == 2} == set(GROUPS)


def test_no_command_declares_an_argument_twice_or_one_that_is_a_setting() -> None:
    settings = {f.name for f in dataclasses.fields(Config)} | {
        "--" + f.name.replace("_", "-") for f in dataclasses.fields(Config)
    }
    for command in COMMANDS:
        names = [a.name for a in command.args]
        assert len(names) == len(set(names)), command.path
        assert not set(names) & settings, command.path
        assert set(command.skip) <= {f.name for f in dataclasses.fields(Config)}, command.path


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c.path))
def test_the_parser_runs_each_row_with_its_function(command: Command) -> None:
    args = build_parser().parse_args([*command.path, *(f"<{name}>" for name in _required_positionals(command))])
    assert args.run is command.run
    for name in _required_positionals(command):
        assert getattr(args, name) == f"<{name}>"
