"""Debian's ClamAV daemon (clamd), started for the tests on a free port with one signature made for them:
the EICAR test string, which every antivirus treats as a virus by agreement. No real signature database
is needed (or downloaded)."""

import shutil
import socket
import subprocess
import time

# The EICAR test file (eicar.org), put together at run time so this repository holds no copy of it.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + b"$H+H*"
SIGNATURE_NAME = "Amparo.Test.EICAR"


def clamd_available():
    return shutil.which("clamd") is not None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalClamd:
    def __init__(self, folder):
        self.folder = folder
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        database = self.folder / "db"
        database.mkdir(parents=True)
        # An extended signature (.ndb): any file holding the EICAR text, at any offset.
        (database / "amparo-test.ndb").write_text(
            f"{SIGNATURE_NAME}:0:*:{b'EICAR-STANDARD-ANTIVIRUS-TEST-FILE'.hex()}\n"
        )
        config = self.folder / "clamd.conf"
        config.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"DatabaseDirectory {database}",
                    "TCPAddr 127.0.0.1",
                    f"TCPSocket {self.port}",
                    f"LogFile {self.folder / 'clamd.log'}",
                    "StreamMaxLength 60M",
                    "",
                ]
            )
        )
        self.process = subprocess.Popen(
            ["clamd", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as client:
                    client.sendall(b"zPING\0")
                    if client.recv(16).startswith(b"PONG"):
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"clamd did not start: {(self.folder / 'clamd.log').read_text()[-2000:]}")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
