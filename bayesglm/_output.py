"""Output files: checked before any work, then replaced whole or not at all.

Every file bayesglm writes (a saved fit, a report and its figures, the command
line's predictions) goes through :func:`write_atomic`: the content goes to a
temporary file in the target's folder, which is renamed over the target only once
it is complete. A Ctrl-C, a full disk or an error halfway leaves the previous file
as it was. :func:`check_output_path` (and :func:`check_report_path`, for a report
and its figures folder) refuses a path that cannot be written before any expensive
work (sampling, plotting) is done. A leaf module: it imports only the errors.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import BayesGLMError

__all__ = [
    "REPORT_SUFFIXES",
    "check_output_path",
    "check_report_path",
    "report_figures_folder",
    "write_atomic",
]

REPORT_SUFFIXES = (".html", ".htm", ".md")


def check_output_path(path: Any, arg: str, suffixes: Sequence[str] | None = None) -> Path:
    """``path`` as a Path, refused unless a file can be written there.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    arg : str
        How messages name the argument (``"path"``, ``"--report"``).
    suffixes : sequence of str, optional
        The allowed file extensions (lower case, with the dot); any when None.

    Raises
    ------
    BayesGLMError
        For a path that is not a str or PathLike, an extension not in
        ``suffixes``, a folder, a folder that does not exist or is not writable.

    Examples
    --------
    >>> check_output_path("report.html", "path", (".html", ".md")).name
    'report.html'
    """
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise BayesGLMError(
            f"{arg} must be a file path (a non-empty str or pathlib.Path); got ({arg}={path!r})."
        )
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        allowed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if suffixes[1:] else suffixes[0]
        raise BayesGLMError(
            f"the file extension {path.suffix or '(none)'!r} is not supported; {arg} must "
            f"end in {allowed}; got ({arg}={str(path)!r})."
        )
    if path.is_dir():
        raise BayesGLMError(
            f"the path is a folder; give the path of a file to write; got ({arg}={str(path)!r})."
        )
    if path.exists() and not path.is_file():  # a device or a pipe, written directly
        return path
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise BayesGLMError(
            f"the folder {str(folder)!r} does not exist; create it or choose another path; "
            f"got ({arg}={str(path)!r})."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BayesGLMError(
            f"the folder {str(folder)!r} is not writable; choose another path; "
            f"got ({arg}={str(path)!r})."
        )
    return path


def check_report_path(path: Any, arg: str = "path") -> Path:
    """Refuse a report path before any work: the extension (``.html``, ``.htm``,
    ``.md``), the folder (it must exist and be writable) and, for Markdown, the
    figures folder ``<stem>_figures`` (it must not be a file).

    Examples
    --------
    >>> check_report_path("report.md").name
    'report.md'
    """
    path = check_output_path(path, arg, REPORT_SUFFIXES)
    folder = report_figures_folder(path)
    if path.suffix.lower() == ".md" and folder.exists() and not folder.is_dir():
        raise BayesGLMError(
            f"the Markdown report puts its figures in the folder {str(folder)!r}, which "
            f"is a file; move it or choose another name; got ({arg}={str(path)!r})."
        )
    return path


def report_figures_folder(path: Path) -> Path:
    """The folder beside a Markdown report that holds its figures: ``<stem>_figures``.

    Examples
    --------
    >>> report_figures_folder(Path("out/report.md")).as_posix()
    'out/report_figures'
    """
    return path.with_name(f"{path.stem}_figures")


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Write a file through ``write(temporary_path)``, then rename it over ``path``.

    The temporary file lies in the target's folder (a rename within one file system
    is atomic), gets the permissions a new file would get (or the old file's), and is
    removed if ``write`` fails or is interrupted; the old file is then untouched. A
    symbolic link is followed (the file it points to is replaced); a target that is
    not a regular file (``/dev/stdout``, a pipe) is written directly.

    Raises
    ------
    BayesGLMError
        When the system refuses the write (full disk, quota, file size limit); the
        previous file is unchanged. The system's error is its ``__cause__``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_atomic(Path(folder) / "a.txt", lambda tmp: tmp.write_text("hi")).read_text()
    'hi'
    """
    given = Path(path)
    if given.exists() and not given.is_file():
        write(given)
        return given
    target = Path(os.path.realpath(given))
    temporary = _new_temporary(target)
    try:
        write(temporary)
        _sync(temporary)
        os.replace(temporary, target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise BayesGLMError(
                f"the file could not be written ({error.strerror or error}); the previous "
                "file, if any, is unchanged; free some space or choose another path; "
                f"got (path={str(path)!r})."
            ) from error
        raise
    _sync_folder(target.parent)
    return given


def _new_temporary(target: Path) -> Path:
    """An empty file beside ``target``, created with the permissions a new file gets
    (the umask applies) or, when ``target`` exists, with its permissions."""
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        break
    if target.exists():
        shutil.copymode(target, temporary)
    return temporary


def _sync(path: Path) -> None:
    """Flush the file to disk, so that the rename never exposes a file still in cache."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(descriptor)
    os.close(descriptor)
