"""How `regie` turns errors into one clean line and an exit code, and escapes what it
prints. Light on purpose: the root command imports it before any command module, so
`regie --help` needs nothing heavier than click."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from regie.errors import ConfigError, RegieError, UsageError
from regie.text_input import UNSAFE, UNSAFE_IN_LINES, not_utf8

INTERNAL_ERROR = 70


def _as_typed(value: str) -> str:
    """An argument that was not UTF-8 as its bytes (``caf\\xe9``), for messages."""
    try:
        return os.fsencode(value).decode("utf-8", "backslashreplace")
    except UnicodeError:
        return value  # not from bytes at all; one_line escapes it when shown


class RegieClickError(click.ClickException):
    """An error for the user: one line, or for several config problems one line each
    (``lines``), every line escaped so input can not break it up."""

    def __init__(self, message: str, exit_code: int, lines: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click types it as a ClassVar
        self.lines = list(lines)

    def show(self, file: Any = None) -> None:
        if len(self.lines) > 1:
            click.echo(f"regie: error: {len(self.lines)} problems; fix each of them:", err=True)
            for line in self.lines:
                click.echo(f"regie: error: {one_line(line)}", err=True)
            return
        click.echo(f"regie: error: {one_line(self.format_message())}", err=True)


def _escaped(found: re.Match[str]) -> str:
    return repr(found.group())[1:-1]


def one_line(text: str) -> str:
    """Control characters (CR, LF, ESC…), line separators, text-direction overrides and
    bytes that were not UTF-8 shown escaped (``\\x1b``, ``\\u202e``): one line, always, and
    nothing a terminal would act on."""
    return UNSAFE.sub(_escaped, text)


def shown(text: str) -> str:
    """Text for the terminal: as :func:`one_line`, but line feeds and tabs stay."""
    return UNSAFE_IN_LINES.sub(_escaped, text)


# a group called without a command prints its help (click >= 8.2): not an error to reword
_NO_ARGS_HELP: type[BaseException] = getattr(
    click.exceptions, "NoArgsIsHelpError", KeyboardInterrupt
)


def _usage_error(exc: click.UsageError) -> RegieClickError:
    """click's usage errors as one line too (exit 2), pointing to the command's help."""
    path = exc.ctx.command_path if exc.ctx is not None else "regie"
    message = " ".join(exc.format_message().split())  # one line, also for Choice lists
    return RegieClickError(f"{message} (see '{path} --help')", exc.exit_code)


class RegieGroup(click.Group):
    """Turns RegieError, click usage errors (and any bug) into one clean line and an exit
    code."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        for i, arg in enumerate(args, 1):
            if not_utf8(arg):
                raise RegieClickError(
                    f"argument {i} ({_as_typed(arg)}) is not valid UTF-8 text; type it again, "
                    "with a UTF-8 terminal (e.g. LANG=C.UTF-8)",
                    UsageError.exit_code,
                )
            if "\x00" in arg:  # no database stores it (PostgreSQL: DataError)
                raise RegieClickError(
                    f"argument {i} ({arg!r}) contains a NUL character; remove it",
                    UsageError.exit_code,
                )
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _NO_ARGS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_error(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegieError as exc:
            lines = exc.lines if isinstance(exc, ConfigError) else ()
            raise RegieClickError(str(exc), exc.exit_code, lines) from None
        except _NO_ARGS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_error(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # the reader went away (`regie … | head`): stop quietly
            reader_gone()
            raise click.exceptions.Exit(0) from None
        except Exception as exc:
            raise _unexpected(exc) from None


def _unexpected(exc: Exception) -> RegieClickError:
    """Bad input that reached Python's own checks, else a bug (said in one line)."""
    if isinstance(exc, UnicodeEncodeError) and "surrogates" in str(exc):
        return RegieClickError(  # a value from the environment or a file
            "a value regie was given (an environment variable or a file name) is not "
            "valid UTF-8 text; set it again with a UTF-8 terminal (e.g. LANG=C.UTF-8)",
            UsageError.exit_code,
        )
    if isinstance(exc, OverflowError):  # an integer beyond what the database stores
        return RegieClickError("a number is too large; check the arguments", 2)
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        return RegieClickError("an argument contains a NUL character; remove it", 2)
    return _internal(exc)


def reader_gone() -> None:
    """Whoever read our output closed the pipe: whatever is still buffered goes nowhere
    (as the Python documentation advises for SIGPIPE), so the exit is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def flush_output() -> None:
    """Flush stdout before exiting; a reader that went away is not an error."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()


def _internal(exc: Exception) -> RegieClickError:
    if os.environ.get("REGIE_DEBUG"):
        import traceback  # only for REGIE_DEBUG

        traceback.print_exc()
    first_line = (str(exc).splitlines() or [""])[0][:240]
    return RegieClickError(
        f"internal error ({type(exc).__name__}: {first_line}); nothing was changed; "
        "set REGIE_DEBUG=1 to see details and please report it",
        INTERNAL_ERROR,
    )
