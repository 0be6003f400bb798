# Stopping what the host tools and the tests started: by the PID we hold.

import signal
import subprocess


def stop_process(process):
    """SIGTERM to the PID we started, SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
