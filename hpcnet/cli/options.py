"""Options and parameter types that several commands share, and options built from settings.

Each shared option is declared once here: ``--force``, ``--json``, the file and
directory types of inputs and outputs, and :func:`settings_options`, which gives
a command one option per field of a settings dataclass (``anneal`` and ``train``).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import click

#: A file argument or option (an input network, an ensemble, an output file).
FILE = click.Path(dir_okay=False, path_type=Path)
#: A file option that must exist when the command starts (a usage error otherwise).
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: A directory argument or option (a training run, a figure directory).
DIRECTORY = click.Path(file_okay=False, path_type=Path)


def force_option(help: str = "Overwrite an existing output file."):
    """``--force``: replace what the command would otherwise refuse to overwrite."""
    return click.option("--force", is_flag=True, help=help)


def check_output(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing file unless ``--force``."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")


def json_option(help: str = "Print one JSON object instead of a table."):
    """``--json`` (the parameter ``as_json``): machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def settings_options(cls, helps: dict[str, str], types: dict | None = None,
                     skip: tuple[str, ...] = ()):
    """A decorator adding one option per field of the dataclass ``cls``, in field order.

    ``--field-name`` takes the field's default (a field without one is
    required); a ``bool`` field becomes ``--name/--no-name``. The click type is
    ``types[name]`` when given, else inferred from the annotation or default.
    ``helps`` holds every option's help; fields in ``skip`` get no option.
    """
    hints = typing.get_type_hints(cls)
    types = types or {}

    def decorate(func):
        for f in reversed(dataclasses.fields(cls)):
            if f.name in skip:
                continue
            flag = "--" + f.name.replace("_", "-")
            required = f.default is dataclasses.MISSING
            default = None if required else f.default
            if hints[f.name] is bool:
                option = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=default,
                                      help=helps[f.name])
            else:
                kind = types.get(f.name) or (
                    int if hints[f.name] is int else float if default is None else type(default))
                option = click.option(flag, f.name, type=kind, default=default,
                                      required=required, help=helps[f.name],
                                      show_default=default is not None)
            func = option(func)
        return func

    return decorate
