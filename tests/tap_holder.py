#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tap_holder: hold an existing TAP the way a hypervisor does, for the e2e tests.

  tap_holder.py IFNAME [--queues N] [--netns NS --dev DEV]

Attaches to the TAP IFNAME (in the caller's namespace) with TUNSETIFF, N queues
with IFF_MULTI_QUEUE when N > 1, and prints "ready" once it holds them. With
--netns, it then stands for the guest's NIC: it copies frames between the TAP
queues and a packet socket on DEV inside network namespace NS (one end of a
veth whose other end the guest uses), as QEMU copies between a TAP and a
virtio NIC. Without it, it reads and discards. SIGTERM or SIGINT ends it.
"""
import argparse
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
CLONE_NEWNET = 0x40000000
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
ETH_P_ALL = 0x0003


def attach(ifname, queues):
    flags = IFF_TAP | IFF_NO_PI | (IFF_MULTI_QUEUE if queues > 1 else 0)
    fds = []
    for _ in range(queues):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), flags))
        fds.append(fd)
    return fds


def guest_socket(netns, dev):
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{netns}") as ns:
        if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            sys.exit(f"tap_holder: setns {netns}: {os.strerror(ctypes.get_errno())}")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.bind((dev, ETH_P_ALL))
    s.setblocking(False)
    return s


def pump(fds, sock):
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    if sock:
        poller.register(sock.fileno(), select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            try:
                if sock and fd == sock.fileno():
                    os.write(fds[0], sock.recv(65536))
                else:
                    frame = os.read(fd, 65536)
                    if sock:
                        sock.send(frame)
            except (BlockingIOError, OSError):
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ifname")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--netns")
    ap.add_argument("--dev")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        fds = attach(a.ifname, a.queues)
    except OSError as e:
        sys.exit(f"tap_holder: cannot attach {a.ifname}: {e.strerror}")
    sock = guest_socket(a.netns, a.dev) if a.netns else None
    print("ready", flush=True)
    try:
        pump(fds, sock)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
