"""`bin/run` started for real, in an empty checkout whose `.venv/bin` holds stand-ins for the
programs it starts: `python` (the channel layer's migration) does nothing, `celery` sleeps, and
`daphne` listens on its port only after a pause, as the real one does while it imports the
project. Each stand-in writes its pid, so the test can tell that Ctrl-C left none running.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linli.settings import BASE_DIR

SLEEPER = """#!/bin/sh
echo $$ > "$0.$$.pid"
exec sleep 300
"""

# Listens on -p's port after `pause` seconds; with `pause` negative, exits at once with 1.
DAPHNE = """#!{python}
import os, socket, sys, time
open(sys.argv[0] + ".%d.pid" % os.getpid(), "w").write(str(os.getpid()))
pause = {pause}
if pause < 0:
    sys.exit(1)
time.sleep(pause)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[sys.argv.index("-p") + 1])))
server.listen()
while True:
    server.accept()[0].close()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _checkout(tmp_path: Path, *, daphne_pause: float) -> Path:
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "run"
    script.write_text((BASE_DIR / "bin" / "run").read_text())
    script.chmod(0o755)
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    stand_ins = {
        "python": "#!/bin/sh\nexit 0\n",
        "celery": SLEEPER,
        "daphne": DAPHNE.format(python=sys.executable, pause=daphne_pause),
    }
    for name, text in stand_ins.items():
        (venv / name).write_text(text)
        (venv / name).chmod(0o755)
    return script


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """bin/run in a session of its own (Ctrl-C is SIGINT to its process group); its output
    read line by line in a thread."""

    def __init__(self, script: Path, port: int) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(script.parent.parent),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "STOP_GRACE": "10",
        }
        self.process = subprocess.Popen(  # noqa: S603 — our own script, fixed argv
            [str(script)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            # Ctrl-C as a terminal delivers it: a shell started with SIGINT ignored (a run
            # launched in the background of a script, as CI may be) can neither trap nor reset
            # it, so bin/run would never see the signal.
            preexec_fn=_sigint_default,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.put(line)
        self.lines.put(None)

    def next_line_with(self, text: str, *, timeout: float = 60) -> str | None:
        """The first line holding `text`, or None when the output ends without one."""
        while (line := self.lines.get(timeout=timeout)) is not None:
            if text in line:
                return line
        return None

    def output(self) -> str:
        self.process.wait(timeout=60)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return "".join(rest)

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stand_in_pids(tmp_path: Path) -> list[int]:
    return [int(path.read_text()) for path in (tmp_path / ".venv" / "bin").glob("*.pid")]


def test_bin_run_prints_the_urls_once_the_web_server_accepts_and_ctrl_c_stops_everything(
    tmp_path, runs
):
    port = _free_port()
    run = Run(_checkout(tmp_path, daphne_pause=2), port)
    runs.append(run)

    assert run.next_line_with("Linli is running (embedded)") is not None
    # The moment the banner is printed, the printed address answers.
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert run.next_line_with(f"Store portal   http://127.0.0.1:{port}/portal/") is not None

    pids = _stand_in_pids(tmp_path)
    assert len(pids) == 3  # worker and beat (celery), web (daphne)
    run.interrupt()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
    assert "still running after" not in run.output()  # stopped by TERM, nothing killed


def test_bin_run_stops_without_printing_the_urls_when_the_web_server_exits_first(tmp_path, runs):
    port = _free_port()
    run = Run(_checkout(tmp_path, daphne_pause=-1), port)
    runs.append(run)

    output = run.output()

    assert run.process.returncode != 0
    assert f"the web server exited before accepting connections on 127.0.0.1:{port}" in output
    assert "Linli is running" not in output
    pids = _stand_in_pids(tmp_path)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
