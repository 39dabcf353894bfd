"""The ``rutopic`` command line: thin typer wrappers around the Python API.

Each command lives in its own module as ``<name>_cli``, calling a typed function that the
Python API exports too. Command modules import only typer and the standard library at the
top, so ``rutopic --help`` and ``rutopic predict`` start fast. Errors raised by the core
become one-line messages here: exit 2 for bad input or usage, 1 for anything else (with the
traceback only under ``--debug``).
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from typing import Optional

import typer
from typer.core import TyperGroup

from rutopic import __version__
from rutopic.errors import RutopicError
from rutopic.model.info import info_cli
from rutopic.model.predict import predict_cli
from rutopic.training.evaluate import evaluate_cli
from rutopic.training.registry import models_app
from rutopic.training.retrain import retrain_cli
from rutopic.training.train import train_cli

PROG = "rutopic"
DEBUG_ENV = "RUTOPIC_DEBUG"
_state = {"debug": False}


def _click_error_types():
    """The usage/click error classes of typer's bundled click (found through BadParameter)."""
    mro = typer.BadParameter.__mro__
    usage = next(c for c in mro if c.__name__ == "UsageError")
    click_exc = next(c for c in mro if c.__name__ == "ClickException")
    return usage, click_exc


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _fail(message: str, code: int) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(code)


class RutopicGroup(TyperGroup):
    """Runs commands and turns every failure into one line on stderr and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        usage_error, click_exception = _click_error_types()
        debug = _state["debug"] = bool(os.environ.get(DEBUG_ENV)) or "--debug" in (args or sys.argv)
        warnings.showwarning = _show_warning
        try:
            code = super().main(args=args, prog_name=prog_name or PROG, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except usage_error as e:
            cmd = f"{PROG} {e.ctx.info_name} --help" if e.ctx and e.ctx.parent else f"{PROG} --help"
            if e.ctx and e.ctx.parent:
                cmd = f"{PROG} {e.ctx.command_path.split(' ', 1)[-1]} --help"
            _fail(f"{e.format_message()} (see '{cmd}')", 2)
        except click_exception as e:
            _fail(e.format_message(), e.exit_code or 1)
        except RutopicError as e:
            if debug:
                traceback.print_exc()
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except Exception as e:  # the last line of defence: one line unless --debug
            if debug:
                traceback.print_exc()
                _fail(f"{type(e).__name__}: {e}", 1)
            _fail(f"{type(e).__name__}: {e} (run with --debug for the traceback)", 1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name=PROG,
    cls=RutopicGroup,
    help="Topic classifier for Russian-language news: diplomacy, visas, trade (and other).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Optional[bool] = typer.Option(
        None, "--version", "-V", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Label Russian news by topic with a TF-IDF + linear model.

    Start with `rutopic train` (bundled corpus), then `rutopic predict "<text>"`.
    """
    _state["debug"] = _state["debug"] or debug


app.command("train")(train_cli)
app.command("evaluate")(evaluate_cli)
app.command("predict")(predict_cli)
app.command("info")(info_cli)
app.command("retrain")(retrain_cli)
app.add_typer(models_app, name="models")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
