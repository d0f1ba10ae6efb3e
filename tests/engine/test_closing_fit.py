"""The closing block on an 80-column terminal: long lines wrap at spaces under their own indent, so no
word is cut in two by the terminal; commands to copy and paths longer than a line stay whole."""
from __future__ import annotations

import os
import pty

from installer.app.closing import fit_to_terminal, write_closing

BLOCK = """✗ The install of 'rig-21ca08' failed at step deploy:
  egov-user in egov: CrashLoopBackOff (pod egov-user-ad2f33f873-8471a, container egov-user): simulated by the rig: CrashLoopBackOff
What to do:
  fix the cause named above, then rerun with --resume: ready releases are left as they are and only the failed and skipped ones are deployed
Then resume with:
  ./install.sh --answers /tmp/rig-f2/answers.yaml --state-dir /root/.local/state/digit-installer/rig-21ca08 --resume
Debug log: /root/.local/state/digit-installer/rig-21ca08/logs/run-20261129T223300Z-28545.log-and-more-to-be-long"""


def test_long_lines_wrap_at_spaces_under_their_indent_and_commands_stay_whole():
    fitted = fit_to_terminal(BLOCK, 80).splitlines()
    command = "  ./install.sh --answers /tmp/rig-f2/answers.yaml --state-dir /root/.local/state/digit-installer/rig-21ca08 --resume"
    assert command in fitted
    for line in fitted:
        assert len(line) <= 80 or line == command or line.split()[-1].startswith("/root/"), line
    # every word of the original is whole on some line, in order
    assert " ".join(BLOCK.split()) == " ".join(" ".join(fitted).split())
    remediation = fitted.index("What to do:") + 1
    assert fitted[remediation].startswith("  fix the cause") and fitted[remediation + 1].startswith("    ")


def test_written_to_a_terminal_it_is_fitted_and_to_a_file_it_is_not(tmp_path):
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with open(slave, "w", closefd=False) as stream:
        write_closing(BLOCK, stream)
    os.close(slave)
    seen = b""
    while not seen.endswith(b"long\r\n"):
        seen += os.read(master, 65536)
    os.close(master)
    assert seen.decode().replace("\r\n", "\n") == "\n" + fit_to_terminal(BLOCK, 80) + "\n"
    piped = tmp_path / "out.txt"
    with open(piped, "w") as stream:
        write_closing(BLOCK, stream)
    assert piped.read_text() == "\n" + BLOCK + "\n"  # a file or a pipe gets the lines as they are
