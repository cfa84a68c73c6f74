"""The student's kernel's end: a thread that answers the judge on a Unix socket.

Started by kernel_start.py before any student code, when grading with the judge. It answers with
the notebook's variables and the results of calls (see peer.py); it decides nothing. Student code
could change what it answers, which only changes the student's own answers: every verdict is the
judge's.
"""
from __future__ import annotations

import os
import socket
import threading



def serve(path: str, namespace: dict) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.lexists(path):
        os.unlink(path)
    server.bind(path)
    os.chmod(path, 0o777)          # the judge runs as another user of its own sandbox
    server.listen(1)

    def loop():
        while True:
            conn, _ = server.accept()
            from .peer import Peer      # (torch and NumPy: imported when the judge first asks, not before)
            peer = Peer(conn, "student")
            peer.namespace = namespace
            try:
                peer.serve_forever()
            except Exception:      # noqa: BLE001 - a closed or broken connection; the judge may come back
                conn.close()

    thread = threading.Thread(target=loop, name="coursekit-judge-link", daemon=True)
    thread.start()
    return thread
