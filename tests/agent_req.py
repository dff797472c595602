#!/usr/bin/env python3
"""agent_req.py SOCKET JSON... - talk to a tapyard guest agent on its virtio-serial socket.

Connects to SOCKET (QEMU's chardev for the agent's port), asks hello until the agent answers
(for up to --wait seconds: the guest may still be booting), then sends each JSON request in
turn and prints each reply on a line of its own. Exits 1 when the agent never answers.
Used by the QEMU tests (tests/e2e_vmlab.sh) and the VM bench (bench/vm.sh) when QEMU is run
directly rather than through `tapyard image boot`.
"""
import argparse
import json
import socket
import sys
import time


def connect(path, wait):
    end = time.time() + wait
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(3)
            s.connect(path)
            s.sendall(b'{"cmd":"hello"}\n')
            f = s.makefile("rb")
            if json.loads(f.readline()).get("ok"):
                return s, f
        except (OSError, ValueError):
            pass
        if time.time() > end:
            sys.exit("agent_req: no agent answered on %s within %d s" % (path, wait))
        time.sleep(0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("requests", nargs="+", metavar="JSON")
    ap.add_argument("--wait", type=int, default=120, help="seconds to wait for the agent")
    ap.add_argument("--timeout", type=int, default=120, help="seconds to wait for a reply")
    a = ap.parse_args()
    s, f = connect(a.socket, a.wait)
    s.settimeout(a.timeout)
    for req in a.requests:
        s.sendall(req.encode() + b"\n")
        print(f.readline().decode().strip(), flush=True)


if __name__ == "__main__":
    main()
