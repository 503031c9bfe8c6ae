#!/usr/bin/python3
"""Iceberg's RTSP server: GStreamer's RTSP server (gst-rtsp-server) serving H.264 mount points.

Each mount `/NAME` is fed by an MPEG-TS stream (H.264 inside) that an ffmpeg of ours sends to
udp://127.0.0.1:PORT. One shared media per mount, so any number of players share one feed; players
may use RTP over TCP (interleaved) or over UDP.

Run with Debian's python3 (packages python3-gi, gir1.2-gst-rtsp-server-1.0, gir1.2-gstreamer-1.0,
gstreamer1.0-plugins-base, -good, -bad):

  rtsp-server.py [--host 0.0.0.0] [--port 8554] [--mount NAME=UDPPORT ...]

More mounts can be added or removed while running, one JSON object a line on stdin:
  {"op": "add", "name": "door", "udpPort": 40000}
  {"op": "remove", "name": "door"}
Every command is answered on stdout with one line: `ok add door` or `error add door: REASON`.

Prints `ready PORT` on stdout once listening. Exits when stdin closes (so it never outlives the
process that started it), on SIGTERM/SIGINT, and with status 3 when it cannot listen.
"""

import argparse
import json
import os
import re
import signal
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402
except (ImportError, ValueError) as err:  # ValueError: the typelib is missing
    print(f"missing: {err} (python3-gi, gir1.2-gst-rtsp-server-1.0)", file=sys.stderr, flush=True)
    sys.exit(4)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# The elements of a mount's pipeline and the Debian package that ships each.
ELEMENTS = {
    "udpsrc": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "tsparse": "gstreamer1.0-plugins-bad",
    "tsdemux": "gstreamer1.0-plugins-bad",
    "h264parse": "gstreamer1.0-plugins-bad",
}


def launch_line(udp_port: int) -> str:
    # address=127.0.0.1: only this machine can feed a mount. buffer-size: a keyframe burst must not
    # overflow the socket. config-interval=-1: SPS/PPS before every keyframe, so a player that
    # joins mid-stream can start at the next keyframe.
    return (
        f"( udpsrc address=127.0.0.1 port={udp_port} buffer-size=4194304 "
        'caps="video/mpegts,systemstream=(boolean)true,packetsize=(int)188" '
        "! tsparse ! tsdemux ignore-pcr=true ! h264parse config-interval=-1 "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description="Iceberg RTSP server (GStreamer)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--mount", action="append", default=[], metavar="NAME=UDPPORT")
    args = parser.parse_args()

    Gst.init(None)
    missing = [f"{e} ({pkg})" for e, pkg in ELEMENTS.items() if Gst.ElementFactory.find(e) is None]
    if missing:
        print(f"missing GStreamer elements: {', '.join(missing)}", file=sys.stderr, flush=True)
        return 4

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    names = set()

    def add(name, udp_port):
        if not isinstance(name, str) or not NAME.match(name):
            return f"invalid mount name {name!r}"
        if not isinstance(udp_port, int) or not 1 <= udp_port <= 65535:
            return f"invalid udp port {udp_port!r}"
        if name in names:
            mounts.remove_factory("/" + name)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(udp_port))
        factory.set_shared(True)
        factory.set_latency(200)
        mounts.add_factory("/" + name, factory)
        names.add(name)
        return None

    def remove(name):
        if name not in names:
            return f"no mount {name!r}"
        mounts.remove_factory("/" + name)
        names.discard(name)
        return None

    for spec in args.mount:
        name, _, port = spec.partition("=")
        problem = add(name, int(port) if port.isdigit() else port)
        if problem:
            print(f"error: --mount {spec}: {problem}", file=sys.stderr, flush=True)
            return 2

    try:
        source_id = server.attach(None)
    except GLib.Error as err:
        source_id = 0
        print(f"error: {err.message}", file=sys.stderr, flush=True)
    if source_id == 0:
        print(f"error: cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 3

    loop = GLib.MainLoop()
    pending = bytearray()

    def on_stdin(_fd, _condition):
        try:
            data = os.read(sys.stdin.fileno(), 65536)
        except OSError:
            data = b""
        if not data:  # stdin closed: whoever started us is gone
            loop.quit()
            return False
        pending.extend(data)
        while b"\n" in pending:
            raw, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            handle(raw.decode("utf-8", "replace").strip())
        return True

    def handle(line):
        if not line:
            return
        try:
            cmd = json.loads(line)
            op, name = cmd.get("op"), cmd.get("name")
        except (ValueError, AttributeError):
            say("error ? ?: not a JSON object")
            return
        if op == "add":
            problem = add(name, cmd.get("udpPort"))
        elif op == "remove":
            problem = remove(name)
        else:
            problem = f"unknown op {op!r}"
        say(f"ok {op} {name}" if problem is None else f"error {op} {name}: {problem}")

    GLib.unix_fd_add_full(
        GLib.PRIORITY_DEFAULT, sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda *_: (loop.quit(), False)[1])

    say(f"ready {server.get_bound_port()}")
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
