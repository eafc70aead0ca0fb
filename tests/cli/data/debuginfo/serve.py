#!/usr/bin/env python3
"""Test fixture servers on 127.0.0.1, a random port printed on stdout.

  serve.py DIR      serve DIR over HTTP (GET and HEAD)
  serve.py --stall  accept connections and never answer
"""
import http.server
import socket
import sys


def main():
    if sys.argv[1] == "--stall":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        print(s.getsockname()[1], flush=True)
        held = []
        while True:
            conn, _ = s.accept()
            held.append(conn)  # never read, never answered
    directory = sys.argv[1]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=directory, **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
