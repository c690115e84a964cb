"""A small TCP proxy the fault tests control: pass, refuse, stall (blackhole) or cut after N bytes.

``refuse``: every open connection is closed and new ones are accepted and closed at once.
``stall``: connections stay open, bytes are read and held, nothing is forwarded (the kernel keeps ACKing,
so TCP keepalive and tcp_user_timeout never fire: only a client-side deadline helps).
``cut``: the next connection that carries ``cut_after`` more client->server bytes is closed mid-stream
(mid-batch or mid-COMMIT); then back to ``pass``.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["TcpProxy"]


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.cut_after = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        self._thread.start()

    def set_mode(self, mode: str, cut_after: int = 0) -> None:
        with self._lock:
            self.mode = mode
            self.cut_after = cut_after
            if mode == "refuse":
                self._close_all()

    def _close_all(self) -> None:
        for s in list(self._socks):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        self._socks.clear()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)   # wakes the accept() blocked in the thread (Linux)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            self._close_all()
        self._thread.join(2)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self.mode
            if mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream_bound: bool) -> None:
        held: list[bytes] = []
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    mode = self.mode
                    if mode == "cut" and upstream_bound:
                        if len(data) >= self.cut_after:
                            dst.sendall(data[: self.cut_after])
                            self.mode, self.cuts = "pass", self.cuts + 1
                            raise OSError("cut")
                        self.cut_after -= len(data)
                if mode == "stall":
                    held.append(data)        # read and held: the sender sees its bytes ACKed
                    continue
                if held:
                    dst.sendall(b"".join(held))
                    held.clear()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._socks.discard(src)
                self._socks.discard(dst)
