"""The slot's kernel start without jupyter_client's idle waits (coursekit/slot/kernelclient.py,
SandboxedProvisioner.kill in coursekit/warm/sandboxed.py).

Each wait is shown as what it is, not timed: jupyter_client's start ends only when its IOPub channel
has been quiet for 0.2 s (a ``queue.Empty`` after a 0.2 s wait); ZeroMQ retries a connection every
100 ms by default; jupyter_client's manager polls a killed kernel every 0.1 s until its process has
been reaped.
"""
from __future__ import annotations

import asyncio
import sys
from queue import Empty

import pytest

from coursekit.slot.kernelclient import QUIET_S, RECONNECT_MS, ReadyKernelClient, ReadyKernelManager


def _status(state, parent):
    return {"msg_type": "status", "content": {"execution_state": state}, "parent_header": {"msg_id": parent}}


class _Channel:
    """A channel that hands out queued messages, then raises Empty (recording each wait)."""

    def __init__(self, messages):
        self.messages, self.waits, self.empties = list(messages), [], 0

    async def get_msg(self, timeout=None):
        self.waits.append(timeout)
        if self.messages:
            msg = self.messages.pop(0)
            return msg() if callable(msg) else msg
        self.empties += 1
        raise Empty


class _Fake(ReadyKernelClient):
    """ReadyKernelClient's own wait_for_ready on scripted channels."""

    def __init__(self, shell, iopub, alive=True):
        super().__init__()
        self._shell, self._iopub, self._alive, self.sent = shell, iopub, alive, []

    @property
    def shell_channel(self):
        return self._shell

    @property
    def iopub_channel(self):
        return self._iopub

    def kernel_info(self):
        self.sent.append(f"info-{len(self.sent) + 1}")
        return self.sent[-1]

    async def _async_is_alive(self):
        return self._alive

    def _handle_kernel_info_reply(self, msg):
        self.handled = msg


def _reply(parent):
    return {"msg_type": "kernel_info_reply", "parent_header": {"msg_id": parent}, "content": {"status": "ok"}}


def test_the_start_ends_at_the_kernel_info_idle_without_a_quiet_wait():
    iopub = _Channel([_status("starting", ""), _status("busy", "info-1"),
                      {"msg_type": "stream", "parent_header": {}, "content": {}}, _status("idle", "info-1")])
    kc = _Fake(_Channel([_reply("info-1")]), iopub)
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.sent == ["info-1"] and kc.handled["msg_type"] == "kernel_info_reply"
    assert iopub.messages == [] and iopub.empties == 0, iopub.waits     # everything up to idle: read, no wait


def test_an_idle_of_another_request_does_not_end_it_and_a_lost_one_ends_as_jupyter_clients_does():
    iopub = _Channel([_status("busy", "info-1"), _status("idle", "someone-else")])
    kc = _Fake(_Channel([_reply("info-1")]), iopub)
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert iopub.empties == 1 and iopub.waits[-1] == QUIET_S        # then a quiet channel, as jupyter_client


def test_iopub_not_subscribed_yet_asks_again():
    """No IOPub message at all after the first reply (the channel was not subscribed yet): the kernel
    is asked again, as jupyter_client does, and the second request's idle ends the start."""
    class Late(_Channel):
        async def get_msg(self, timeout=None):
            if kc.sent == ["info-1"]:
                self.waits.append(timeout)
                self.empties += 1
                raise Empty
            if not self.messages and self.empties == 1 and not self.refilled:
                self.refilled = True
                self.messages = [_status("busy", "info-2"), _status("idle", "info-2")]
            return await super().get_msg(timeout)
    iopub = Late([])
    iopub.refilled = False
    kc = _Fake(_Channel([_reply("info-1"), _reply("info-2")]), iopub)
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.sent == ["info-1", "info-2"] and kc.handled["parent_header"]["msg_id"] == "info-2"
    assert iopub.empties == 1 and iopub.messages == []           # no quiet wait after the idle either


def test_a_kernel_that_dies_before_replying_is_an_error():
    kc = _Fake(_Channel([]), _Channel([]), alive=False)
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(kc.wait_for_ready(timeout=5))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ipc transport")
def test_a_real_kernel_starts_without_an_idle_wait_and_runs_code(tmp_path):
    """An ordinary ipykernel with the slot's manager: its client is the slot's, ready without IOPub's
    quiet wait; every socket (the manager's control socket included) retries every 10 ms; the first
    execution's output is its own."""
    import zmq

    async def go():
        km = ReadyKernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "k"),
                                connection_file=str(tmp_path / "k.json"))
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        try:
            assert isinstance(kc, ReadyKernelClient)
            kc.start_channels()
            empties = []
            get = kc.iopub_channel.get_msg

            async def counting(timeout=None):
                try:
                    return await get(timeout=timeout)
                except Empty:
                    empties.append(timeout)
                    raise
            kc.iopub_channel.get_msg = counting
            await kc.wait_for_ready(timeout=60)
            assert empties == [], empties
            for socket in (kc.shell_channel.socket, kc.iopub_channel.socket, km._control_socket):
                assert socket.get(zmq.RECONNECT_IVL) == RECONNECT_MS
            kc.iopub_channel.get_msg = get
            out = []
            reply = await kc.execute_interactive("print(6 * 7)", timeout=60,
                                                 output_hook=lambda m: out.append(m))
            assert reply["content"]["status"] == "ok"
            assert [m["content"]["text"] for m in out if m["msg_type"] == "stream"] == ["42\n"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
    asyncio.run(go())


def test_a_killed_sandboxed_kernel_is_reaped_when_kill_returns(monkeypatch):
    """The provisioner's kill waits for the zygote's report of the kernel's end: right after it,
    jupyter_client's manager finds the kernel gone (it would otherwise sleep 0.1 s and poll again)."""
    from coursekit.warm import sandboxed

    class Reported(sandboxed.SandboxedKernel):
        """A forked kernel whose end the zygote reports only once someone waits for it."""
        pid = 12345

        def __init__(self):
            self.killed = self.reported = False

        def send_signal(self, sig):
            self.killed = True

        def poll(self):
            return -9 if self.reported else None

        def wait(self, timeout=None):
            assert self.killed
            self.reported = True
            return -9

    prov = sandboxed.SandboxedProvisioner(kernel_id="k", kernel_spec=None, parent=None)
    prov.process, prov.pid, prov.pgid = Reported(), 12345, None

    async def go():
        await prov.kill()
        return await prov.poll()
    assert asyncio.run(go()) == -9
