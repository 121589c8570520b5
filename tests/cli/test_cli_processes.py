"""Processes (issue #14): a command started in the background of a non-interactive shell
has SIGINT ignored (`bash -c 'regie mail-sink & …'`), so Ctrl-C can not stop it; SIGTERM
does, as cleanly as Ctrl-C, and no process is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from regie.notifications.sink import free_port

REGIE = Path(sys.executable).parent / "regie"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as bash does for `&` jobs without job control


def test_mail_sink_with_sigint_ignored_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(REGIE), "mail-sink", "--dir", str(tmp_path / "mail"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ignore_sigint,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "mail sink on 127.0.0.1" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)  # ignored, as in the background of a script
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped; 0 messages received" in out and "Traceback" not in err


def test_the_suite_itself_runs_with_sigint_ignored(tmp_path: Path) -> None:
    """The test that stops a mail sink, in a pytest started as `bash -c 'pytest … & wait'`
    does: it used to hang until its timeout and leave the sink running."""
    root = Path(__file__).resolve().parents[2]
    test = root / "tests" / "notifications" / "test_outbox.py"
    script = (
        f"{sys.executable} -m pytest -q -p no:cacheprovider {test} -k mail_sink "
        f"--rootdir {root} & wait $!"
    )  # `wait $!`: pytest's exit status (a bare `wait` is always 0)
    r = subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True,
                       timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "passed" in r.stdout


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`regie demo | head -1`: the pipe is closed before regie writes; it stops with exit
    code 0 and says nothing (it used to report an internal error)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(REGIE), "demo", "--keep", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == b""
