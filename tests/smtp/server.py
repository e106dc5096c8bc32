"""A real SMTP server on loopback for the end-to-end tests (Debian's python3-aiosmtpd).

Usage: server.py PORT DIR
Listens on 127.0.0.1:PORT and writes every message it accepts to DIR as <n>.eml (the raw
message, with a first line `X-Envelope-To: <recipients>`), written to a temporary name and
renamed, so a reader never sees half a file. Prints `ready` once listening; exits when its
standard input closes (the test that started it is gone).
"""

import os
import sys
import threading

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A permanent refusal for any address with "poison" in it (a mail that never goes).
        if "poison" in address:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.directory, "%06d.eml" % n)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            data = envelope.original_content or envelope.content
            f.write(data if isinstance(data, bytes) else data.encode())
        os.rename(tmp, path)
        return "250 OK"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
