"""The judge kernel's notebook namespace: names a test cell does not define itself are the
student's, looked up in the student's kernel when first used in a cell and then kept for that cell.

At the start of each cell the judge takes the student kernel's random generators, gradient mode and
the error of the cell run last (``utils.checks.defined`` reads it); at the end it leaves its
generators and the record of passed exercises (``passed``/``solved``) in the student's kernel, so
the notebook goes on as it would have after the test cell.
"""
from __future__ import annotations

import builtins
import importlib.util
import os
import socket
import sys
import time
import types

from . import peer as peer_mod
from . import tracked
from .errors import rebuild_error
from .rng import _rng_state, _set_rng_state
from .values import Decoder
from .wire import ProtocolError, check_error_info

SOLVED_NAME = "__exercises_passed__"      # utils.checks.progress.SOLVED_NAME
_MISSING = object()


class JudgeNamespace(dict):
    def __init__(self, path: str, connect_timeout: float = 30.0):
        super().__init__()
        self._path = path
        self._timeout = connect_timeout
        self._peer = None
        self._fetched: set[str] = set()
        self._tracked: dict[str, list] = {}     # the student's plain-data names read in this cell -> [object, digest]
        self._shared: set[str] = set()          # this cell's names the student's kernel shares (share)
        self._pending: set[str] = set()         # of those, assigned here and not yet sent
        self._shell = None

    # dict's own __getitem__ calls this for a missing name: LOAD_NAME at a cell's top level and
    # LOAD_GLOBAL in the cell's functions both come here (the namespace is not an exact dict)
    def __missing__(self, name):
        if not isinstance(name, str) or name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)
        reply = self.peer().request("lookup", name=name)
        if reply["op"] == "error":
            raise rebuild_error(reply["error"])
        if reply["info"].get("missing"):
            raise KeyError(name)
        value = Decoder(self._peer.proxy, self._peer.own, session=self._peer.session)(reply["value"])
        dict.__setitem__(self, name, value)
        self._fetched.add(name)
        tracked.follow(self._tracked, name, value)
        return value

    # -- the student's plain data this cell read: changes either way, in place (tracked.py) -----------
    def _writes(self) -> list:
        """The student's plain data this cell read and changed since it crossed (tracked.py)."""
        from .values import Encoder
        return tracked.changed(self._tracked, lambda n, d: dict.get(self, n, d),
                               lambda v: Encoder(self._peer.handle)(v), rebound=False)

    def _send_writes(self) -> None:
        """(Peer.before_reading) Before a request that reads the student's state or runs its code."""
        if self._tracked or self._pending:
            names, writes = self._bindings(), self._writes()
            if names or writes:
                reply = self._peer.request("push", state={}, names=names, deleted=[], sync=[], writes=writes)
                if reply["op"] == "error":
                    raise rebuild_error(reply["error"])

    def share(self, names: list) -> None:
        """Before a test cell (coursekit/slot/cellnames.py): its names the student's kernel shares, as in one
        kernel (bound by its released part, used by the student's cells, untouched by its hidden part)."""
        self._shared = {n for n in names if isinstance(n, str)}

    def _bindings(self) -> list:
        """[name, value] for the shared names this cell assigned since the last push: plain data only (a
        function or other object of the judge's stays here); from then on followed as the names it read
        (a value too large to follow is sent, and read again at the next cell)."""
        from .values import Encoder
        from .wire import MAX_ITEMS
        out = []
        for name in sorted(self._pending):
            value = dict.get(self, name, _MISSING)
            if value is not _MISSING and tracked.digest(value, limit=MAX_ITEMS) is not None:
                out.append([name, Encoder(self._peer.handle)(value)])
                self._fetched.add(name)        # (the next cell reads it from the student's kernel again)
                tracked.follow(self._tracked, name, value)
        self._pending.clear()
        return out

    def _take_names(self, names) -> None:
        """(Peer.on_names) What a call of the student's code changed in the names this cell read."""
        if not isinstance(names, list):
            raise ProtocolError("names must be a list of [name, value] pairs")
        for pair in names:
            if not (isinstance(pair, list) and len(pair) in (2, 3) and isinstance(pair[0], str)):
                raise ProtocolError("names must be a list of [name, value, places kept] entries")
            keep = tracked.kept_paths(pair[2] if len(pair) == 3 else None)
            if pair[0] not in self._tracked:
                continue                       # (not one this cell read)
            new = Decoder(self._peer.proxy, self._peer.own, session=self._peer.session)(pair[1])
            tracked.take(self._tracked, lambda n, d: dict.get(self, n, d), lambda n, v: dict.__setitem__(self, n, v),
                         pair[0], new, keep)

    # a test cell that deletes or rebinds one of the student's names (nbgrader's documentation course:
    # `del squares`, call sum_of_squares, `squares = orig`) does so in the student's kernel too, as it
    # would in one shared kernel
    def __delitem__(self, name):
        student = name in self._fetched
        dict.__delitem__(self, name)
        self._tracked.pop(name, None)
        if student:
            self.peer().request("push", state={}, names=[], deleted=[name], sync=[], writes=[])

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, value)
        if name in self._shared and name not in self._fetched:
            self._pending.add(name)          # (sent before the next read or call: a loop's rebinding costs nothing)
        elif name in self._fetched:
            from .values import Encoder
            peer = self.peer()      # (the student's own object goes back as itself: encode.Encoder._origin)
            enc = Encoder(peer.handle, origins=peer.origins, theirs=peer.session)
            peer.request("push", state={}, names=[[name, enc(value)]], deleted=[], sync=[], writes=[])
            if name in self._tracked:
                tracked.follow(self._tracked, name, value)

    def __contains__(self, name):
        if dict.__contains__(self, name):
            return True
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def peer(self):
        if self._peer is None:
            deadline = time.monotonic() + self._timeout
            while True:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(self._path)
                    break
                except OSError as exc:
                    sock.close()
                    if time.monotonic() > deadline:
                        raise ProtocolError(f"the student's kernel does not answer ({exc})") from None
                    time.sleep(0.05)
            self.use(peer_mod.Peer(sock, "judge"))
        return self._peer

    def use(self, peer) -> None:
        """The connection to the student's kernel this namespace reads through."""
        self._peer = peer
        peer.before_reading = self._send_writes
        peer.on_names = self._take_names

    def attach(self, shell) -> None:
        self._shell = shell
        shell.events.register("pre_run_cell", self.begin_cell)
        shell.events.register("post_run_cell", self.end_cell)

    def _student_modules(self) -> None:
        """The student's own modules beside the notebook (``helper.py``, ``mypkg/``): a test cell's
        ``import helper`` gets a module whose attributes are the student kernel's (imported there)."""
        try:
            entries = os.listdir(".")
        except OSError:
            return
        for entry in entries:
            name = entry[:-3] if entry.endswith(".py") else entry if os.path.isfile(
                os.path.join(entry, "__init__.py")) else None
            if not name or not name.isidentifier() or name in sys.modules or hasattr(builtins, name):
                continue
            try:
                if importlib.util.find_spec(name) is not None:      # the judge's own library wins, as in
                    continue                                          # the student's kernel (folder last)
            except (ImportError, ValueError):
                continue
            sys.modules[name] = StudentModule(name, self)

    def begin_cell(self, info=None) -> None:
        self._student_modules()
        for name in self._fetched:
            dict.pop(self, name, None)
        self._fetched.clear()
        self._tracked.clear()
        self._pending.clear()
        reply = self.peer().request("pull")
        _set_rng_state(reply["state"])
        last = reply["info"].get("last_error")
        if last is not None:
            check_error_info(last)
        self._shell.coursekit_previous_error = rebuild_error(last) if last is not None else None

    def end_cell(self, result=None) -> None:
        from .state import sync_values
        from .values import Encoder
        names = []
        if dict.__contains__(self, SOLVED_NAME):
            names.append([SOLVED_NAME, Encoder(self.peer().handle)(dict.__getitem__(self, SOLVED_NAME))])
        peer = self.peer()          # what the cell changed in the student's modules, left there as in one kernel
        sync = sync_values(Encoder(peer.handle, origins=peer.origins, theirs=peer.session), peer.session)
        names += self._bindings()
        peer.request("push", state=_rng_state(), names=names, deleted=[], sync=sync, writes=self._writes())
        self._shared = set()


class StudentModule(types.ModuleType):
    """A module of the student's files: imported in the student's kernel when first used; every
    attribute is looked up there (functions and classes as handles, values as data)."""

    def __init__(self, name: str, namespace: JudgeNamespace):
        super().__init__(name)
        object.__setattr__(self, "_namespace", namespace)
        object.__setattr__(self, "_handle", None)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._handle is None:
            peer = self._namespace.peer()
            reply = peer.request("import", name=self.__name__)
            if reply["op"] == "error":
                raise rebuild_error(reply["error"])
            object.__setattr__(self, "_handle", Decoder(peer.proxy, peer.own, session=peer.session)(reply["value"]))
        return getattr(self._handle, attr)
