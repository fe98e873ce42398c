#!/usr/bin/env python3
"""Sends the inspect corpora through a WAF and counts what it blocks (bench/detection_vs_crs).

drive.py upstream PORT            an HTTP/1.1 upstream answering 200 to everything (threads)
drive.py send NAME PORT PIDS...   every attack and benign line, as a query parameter and as a
                                  JSON field, through 127.0.0.1:PORT (keep-alive); a 403 is a
                                  block. Prints one TSV row per (target, mode, corpus) and the
                                  CPU seconds the processes PIDS (and their children) used.
Standard library only; only 127.0.0.1.
"""
import http.client
import http.server
import json
import os
import socketserver
import sys
import urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "inspect", "corpus")
# A name, not a numeric Host (CRS scores a numeric Host as a protocol anomaly on every request),
# and the headers a browser-less API client sends.
HEADERS = {"Host": "localhost", "User-Agent": "bench-client/1.0", "Accept": "application/json"}
KINDS = ["sqli", "xss", "cmd", "traversal", "ldap", "ssti", "nosql", "ssrf"]


def corpora():
    out = []
    for kind in KINDS:
        with open(os.path.join(ROOT, "attacks", kind + ".txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if "\t" in line:
                    out.append((kind, line.split("\t", 1)[1]))
    with open(os.path.join(ROOT, "benign.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("# "):
                out.append(("benign", line))
    return out


def cpu_seconds(pids):
    """utime+stime (and waited-for children) of each pid and its live children, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    seen, total = set(), 0.0
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total


def send(name, port, pids):
    lines = corpora()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for mode in ["query", "json"]:
        counts = {}
        start = cpu_seconds(pids)
        n = 0
        for kind, payload in lines:
            field = "url" if kind == "ssrf" else "q"
            if mode == "query":
                path = "/fetch" if kind == "ssrf" else "/search"
                conn.request("GET", path + "?" + urllib.parse.urlencode({field: payload}), headers=HEADERS)
            else:
                body = json.dumps({field: payload}).encode()
                conn.request("POST", "/items", body=body, headers={**HEADERS, "Content-Type": "application/json"})
            try:
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = 0
            n += 1
            hit, total = counts.get(kind, (0, 0))
            counts[kind] = (hit + (status == 403), total + 1)
        cpu = cpu_seconds(pids) - start
        for kind in KINDS + ["benign"]:
            hit, total = counts.get(kind, (0, 0))
            print(f"{name}\t{mode}\t{kind}\t{hit}\t{total}")
        print(f"{name}\t{mode}\tcpu_us_per_request\t{cpu * 1e6 / max(n, 1):.0f}\t{n}")
        sys.stdout.flush()


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    if sys.argv[1] == "upstream":
        Server(("127.0.0.1", int(sys.argv[2])), Upstream).serve_forever()
    elif sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), [int(p) for p in sys.argv[4:]])
