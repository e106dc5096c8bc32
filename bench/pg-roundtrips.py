#!/usr/bin/env python3
"""Counts PostgreSQL round trips: a loopback TCP proxy in front of PostgreSQL that reads the
frontend protocol and counts the messages that end a round trip (Sync 'S' of the extended
protocol, which sqlx also sends alone as its ping, and Query 'Q' of the simple protocol),
plus the Parse/Bind/Execute messages, per connection and in total.

    bench/pg-roundtrips.py LISTEN_PORT [UPSTREAM_HOST UPSTREAM_PORT]

Point DATABASE_URL at 127.0.0.1:LISTEN_PORT with sslmode=disable. Send SIGUSR1 to print the
counters (one line `PG_ROUNDTRIPS sync=.. query=.. parse=.. execute=..`) to stdout; the
counters are printed too on SIGTERM/SIGINT. Loopback only.
"""

import asyncio
import signal
import struct
import sys

COUNTS = {"sync": 0, "query": 0, "parse": 0, "execute": 0}


def report():
    line = "PG_ROUNDTRIPS " + " ".join(f"{k}={v}" for k, v in COUNTS.items())
    print(line, flush=True)


async def pump_frontend(reader, writer):
    # The startup packet has no type byte: length (4) then the body.
    head = await reader.readexactly(4)
    (length,) = struct.unpack("!I", head)
    body = await reader.readexactly(length - 4)
    writer.write(head + body)
    code = struct.unpack("!I", body[:4])[0]
    if code == 80877103:  # SSLRequest: the upstream answers 'N' (we forward it); then startup.
        await writer.drain()
        return await pump_frontend(reader, writer)
    while True:
        kind = await reader.readexactly(1)
        head = await reader.readexactly(4)
        (length,) = struct.unpack("!I", head)
        body = await reader.readexactly(length - 4)
        k = kind.decode("latin-1")
        if k == "S":
            COUNTS["sync"] += 1
        elif k == "Q":
            COUNTS["query"] += 1
        elif k == "P":
            COUNTS["parse"] += 1
        elif k == "E":
            COUNTS["execute"] += 1
        writer.write(kind + head + body)
        await writer.drain()


async def pump(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()


async def handle(client_reader, client_writer, host, port):
    up_reader, up_writer = await asyncio.open_connection(host, port)
    tasks = [
        asyncio.create_task(pump_frontend(client_reader, up_writer)),
        asyncio.create_task(pump(up_reader, client_writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except Exception:
        pass
    for t in tasks:
        t.cancel()
    for w in (client_writer, up_writer):
        try:
            w.close()
        except Exception:
            pass


async def main():
    listen = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 5432
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, report)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, host, port), "127.0.0.1", listen
    )
    async with server:
        await stop.wait()
    report()


if __name__ == "__main__":
    asyncio.run(main())
