#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tap_holder: hold an existing TAP the way a hypervisor does, for the e2e tests.

  tap_holder.py IFNAME [--queues N] [--netns NS --dev DEV]
  tap_holder.py --helper CMD --br BRIDGE [--netns NS --dev DEV]

Attaches to the TAP IFNAME (in the caller's namespace) with TUNSETIFF, N queues
with IFF_MULTI_QUEUE when N > 1, and prints "ready" once it holds them. With
--netns, it then stands for the guest's NIC: it copies frames between the TAP
queues and a packet socket on DEV inside network namespace NS (one end of a
veth whose other end the guest uses), as QEMU copies between a TAP and a
virtio NIC. Without it, it reads and discards. SIGTERM or SIGINT ends it.

With --helper, it gets its TAP as QEMU's -netdev bridge does: it runs
"CMD --use-vnet --fd=N --br=BRIDGE" through /bin/sh -c with one end of a
socketpair as fd N, receives the TAP's fd on the other end (SCM_RIGHTS),
and prints "ready TAPNAME"; the frames then carry a virtio-net header.
"""
import argparse
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
CLONE_NEWNET = 0x40000000
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
ETH_P_ALL = 0x0003
TUNGETIFF = 0x800454D2
VNET_HDR_LEN = 10


def attach(ifname, queues):
    flags = IFF_TAP | IFF_NO_PI | (IFF_MULTI_QUEUE if queues > 1 else 0)
    fds = []
    for _ in range(queues):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), flags))
        fds.append(fd)
    return fds


def from_helper(cmd, bridge):
    """Run the bridge helper as QEMU does; return the TAP fd it passed and the TAP's name."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    line = f"{cmd} --use-vnet --fd={theirs.fileno()} --br={bridge}"
    helper = subprocess.Popen(["/bin/sh", "-c", line], pass_fds=[theirs.fileno()])
    theirs.close()
    rc = helper.wait()
    if rc != 0:
        sys.exit(f"tap_holder: the helper exited with {rc}")
    _, fds, _, _ = socket.recv_fds(ours, 1, 1)
    if not fds:
        sys.exit("tap_holder: the helper passed no fd")
    ifr = fcntl.ioctl(fds[0], TUNGETIFF, bytes(40))
    os.set_blocking(fds[0], False)
    return fds[0], ifr[:16].rstrip(b"\0").decode()


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


def pump(fds, sock, hdr):
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    if sock:
        poller.register(sock.fileno(), select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            try:
                if sock and fd == sock.fileno():
                    os.write(fds[0], bytes(hdr) + sock.recv(65536))
                else:
                    frame = os.read(fd, 65536)
                    if sock:
                        sock.send(frame[hdr:])
            except (BlockingIOError, OSError):
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ifname", nargs="?")
    ap.add_argument("--helper")
    ap.add_argument("--br")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--netns")
    ap.add_argument("--dev")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    hdr, name = 0, a.ifname
    if a.helper:
        fd, name = from_helper(a.helper, a.br)
        fds, hdr = [fd], VNET_HDR_LEN
    else:
        try:
            fds = attach(a.ifname, a.queues)
        except OSError as e:
            sys.exit(f"tap_holder: cannot attach {a.ifname}: {e.strerror}")
    sock = guest_socket(a.netns, a.dev) if a.netns else None
    print("ready", name, flush=True)
    try:
        pump(fds, sock, hdr)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
