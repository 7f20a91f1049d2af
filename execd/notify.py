"""systemd readiness notification (sd_notify) without a dependency."""
import os
import socket


def notify(state, environ=None):
    """Send `state` (e.g. "READY=1") to $NOTIFY_SOCKET; a no-op without one."""
    path = (environ or os.environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode("utf-8"), path)
        return True
    except OSError:
        return False
