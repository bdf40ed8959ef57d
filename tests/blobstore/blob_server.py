#!/usr/bin/env python3
"""blob_server.py - a small HTTP server for fs.json tests, with failures on demand.

Serves the regular files under --root (GET and HEAD; no directory listings,
nothing outside the root, symlinks included) on 127.0.0.1 at a free port,
which it writes to --port-file once it listens. Each request is logged to
stderr as one line "blob-server: GET /name" when it arrives (so a test can
count requests even for ones never answered), and one "blob-server: -> 200
/name" line when it is answered.

--fail NAME=MODE (NAME relative to the root, repeatable) makes requests for
NAME fail: 404; 503xK (503 for the first K requests, then the file); corrupt
(one byte of the body flipped); slow (answered after 2 s); hang (never
answered); reset (connection reset without an answer).
--die-after N: exit once N requests have been answered.

Python 3 standard library only.
"""
import argparse
import http.server
import os
import socket
import struct
import sys
import threading
import urllib.parse

MODES = ("404", "corrupt", "slow", "hang", "reset")


def parse_fail(text):
    name, sep, mode = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--fail wants NAME=MODE, not {text!r}")
    if mode.startswith("503x") and mode[4:].isdigit():
        return name.lstrip("/"), ("503", int(mode[4:]))
    if mode not in MODES:
        raise argparse.ArgumentTypeError(
            f"--fail {text}: MODE is one of 404, 503xK, corrupt, slow, hang, reset")
    return name.lstrip("/"), (mode, 0)


def log(line):
    print(f"blob-server: {line}", file=sys.stderr, flush=True)


class State:
    """What the handlers share: the root, failure modes and counters."""

    def __init__(self, root, fails, die_after):
        self.root = os.path.realpath(root)
        self.fails = dict(fails)
        self.die_after = die_after
        self.lock = threading.Lock()
        self.seen = {}          # name -> requests so far (for 503xK)
        self.answered = 0

    def resolve(self, url_path):
        """(name, host path) of a regular file under the root, or None."""
        name = urllib.parse.unquote(urllib.parse.urlsplit(url_path).path).lstrip("/")
        if "\0" in name:
            return None
        full = os.path.realpath(os.path.join(self.root, name))
        if not full.startswith(self.root + os.sep) or not os.path.isfile(full):
            return None
        return name, full

    def count_request(self, name):
        with self.lock:
            self.seen[name] = self.seen.get(name, 0) + 1
            return self.seen[name]

    def count_answer(self):
        with self.lock:
            self.answered += 1
            return self.die_after and self.answered >= self.die_after


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "blob-server"

    def log_message(self, fmt, *args):  # our own log lines only
        pass

    def do_GET(self):
        self.serve(send_body=True)

    def do_HEAD(self):
        self.serve(send_body=False)

    def serve(self, send_body):
        state = self.server.state
        log(f"{self.command} {self.path}")
        found = state.resolve(self.path)
        name = found[0] if found else urllib.parse.unquote(self.path).lstrip("/")
        mode, k = state.fails.get(name, (None, 0))
        if mode == "hang":
            self.close_connection = True
            threading.Event().wait()
        if mode == "reset":
            self.reset()
            return
        if mode == "slow":
            threading.Event().wait(2.0)
        if mode == "404" or not found:
            self.answer(404, b"not found\n", send_body)
            return
        if mode == "503" and state.count_request(name) <= k:
            self.answer(503, b"try again later\n", send_body)
            return
        with open(found[1], "rb") as f:
            body = bytearray(f.read())
        if mode == "corrupt":
            if body:
                body[len(body) // 2] ^= 0xFF
            else:
                body = bytearray(b"\xff")
        self.answer(200, bytes(body), send_body)

    def answer(self, code, body, send_body):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        self.wfile.flush()
        log(f"-> {code} {self.path}")
        if self.server.state.count_answer():
            log("answered enough requests, exiting")
            sys.stderr.flush()
            os._exit(0)

    def reset(self):
        """Closes the connection with a TCP reset, answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
        log(f"-> reset {self.path}")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fail", action="append", type=parse_fail, default=[])
    ap.add_argument("--die-after", type=int, default=0)
    args = ap.parse_args()
    if not os.path.isdir(args.root):
        ap.error(f"--root {args.root}: not a directory")
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args.root, args.fail, args.die_after)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    log(f"serving {server.state.root} on 127.0.0.1:{server.server_address[1]}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
