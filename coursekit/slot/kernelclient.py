"""The kernel manager and client of the slot's kernels (the student's and the judge's): jupyter_client's
own, with two waits taken out of a kernel's start (measured on 01_tensors: together about a quarter of a
slot's time, idle).

Their sockets (the manager's control socket, the client's channels) connect while the kernel is still
starting, before the kernel has bound its own; ZeroMQ then tries again every 100 ms (``RECONNECT_IVL``),
so the first request reached a kernel up to 0.1 s after it was ready, and the manager's control socket
could still be unconnected when the first cell ran. Here the manager's and its client's sockets try
every 10 ms (a failed connect to a Unix socket that is not there yet costs microseconds).

``wait_for_ready`` in jupyter_client 8 ends by emptying the IOPub channel until no message has come for
0.2 s: every kernel start waits 0.2 s with nothing to do, twice per submission with the judge (measured
on 01_tensors: about a tenth of a slot's time). Here the channel is emptied up to the kernel's
``status: idle`` for the ``kernel_info`` request it answered, the last message the kernel publishes
before it waits for a request, so every earlier message (the ``starting`` status, the request's
``busy``) is gone as before. Where that message never comes (a kernel that published it before the
channel was subscribed), the wait ends as jupyter_client's does: 0.2 s without a message.
Everything else is jupyter_client's: the reply is awaited, a dead kernel or the timeout raises.
"""
from __future__ import annotations

import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from traitlets import DottedObjectName, default

QUIET_S = 0.2          # jupyter_client's own wait for a quiet IOPub channel
RECONNECT_MS = 10      # ZeroMQ's default: 100


class ReadyKernelManager(AsyncKernelManager):
    """jupyter_client's manager, whose sockets retry every 10 ms and whose client is
    :class:`ReadyKernelClient` (a context of its own, with the same default)."""

    client_class = DottedObjectName("coursekit.slot.kernelclient.ReadyKernelClient", config=True)

    @default("client_factory")
    def _client_factory_default(self):
        return ReadyKernelClient

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        return _context()


class ReadyKernelClient(AsyncKernelClient):

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        return _context()

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:        # IOPub is subscribed once it delivers something; otherwise ask again
                    first = await ensure_async(self.iopub_channel.get_msg(timeout=QUIET_S))
                except Empty:
                    first = None
                if first is not None:
                    self._handle_kernel_info_reply(reply)
                    answered = (reply.get("parent_header") or {}).get("msg_id", request)
                    if not _idle_after(first, answered):
                        await self._flush_until_idle(answered)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _flush_until_idle(self, request: str) -> None:
        while True:
            try:
                msg = await ensure_async(self.iopub_channel.get_msg(timeout=QUIET_S))
            except Empty:
                return
            if _idle_after(msg, request):
                return

    wait_for_ready = _async_wait_for_ready


def _context() -> zmq.asyncio.Context:
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)    # the default of every socket made from it
    return context


def _idle_after(msg: dict, request: str) -> bool:
    """Whether ``msg`` is the kernel's ``status: idle`` once it has answered ``request``."""
    return (msg.get("msg_type") == "status" and (msg.get("content") or {}).get("execution_state") == "idle"
            and (msg.get("parent_header") or {}).get("msg_id") == request)
