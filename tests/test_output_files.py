"""Output files: written whole through a temporary file, never replacing what is not a file."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from bayesglm._output import check_output_path, write_atomic
from bayesglm.errors import BayesGLMError


def test_a_new_file_gets_the_permissions_the_umask_gives(tmp_path) -> None:
    mask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "new.txt", lambda tmp: tmp.write_text("x"))
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_permissions(tmp_path) -> None:
    path = tmp_path / "old.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, lambda tmp: tmp.write_text("new"))
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlink_still_points_at_the_replaced_file(tmp_path) -> None:
    (tmp_path / "real.txt").write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    write_atomic(link, lambda tmp: tmp.write_text("new"))
    assert link.is_symlink() and (tmp_path / "real.txt").read_text() == "new"


def test_a_device_or_pipe_is_written_directly(tmp_path) -> None:
    write_atomic(check_output_path("/dev/null", "path"), lambda tmp: tmp.write_text("x"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # never replaced by a regular file
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    write_atomic(check_output_path(pipe, "path"), lambda tmp: tmp.write_text("through"))
    reader.join(timeout=10)
    assert received == ["through"] and stat.S_ISFIFO(pipe.stat().st_mode)


def test_a_failed_write_removes_its_temporary_file(tmp_path) -> None:
    path = tmp_path / "kept.txt"
    path.write_text("old")

    def fails(tmp):
        tmp.write_text("half")
        raise RuntimeError("a bug halfway")

    with pytest.raises(RuntimeError, match="a bug halfway"):
        write_atomic(path, fails)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"] and path.read_text() == "old"


def test_an_empty_or_non_path_argument_is_refused() -> None:
    for path in ("", None, 3.5):
        with pytest.raises(BayesGLMError, match=r"out must be a file path"):
            check_output_path(path, "out")
