"""Launcher that confines one student kernel (used by utils.grading through a kernel spec).

Run as a plain script (``python -I -S utils/sandbox.py ...``) so that it imports nothing from the
course; it only uses the standard library, then replaces itself (``exec``) with the real kernel:

    python utils/sandbox.py [--no-net] [--uid U --gid G] [--mem BYTES] [--fsize BYTES]
                            [--nproc N] [--home DIR] -- python -m ipykernel_launcher -f CONN.json

In order:
0. ``--mask PATH`` / ``--expose PATH`` (repeatable, need root): a private mount namespace in which
   each masked folder is covered by an empty read-only tmpfs and each masked file by /dev/null
   (the grader masks the course's solutions/, submitted/, autograded/, feedback/ and gradebook),
   and each exposed path (e.g. the Python installation under /root) is made reachable by covering
   its nearest non-world-searchable ancestor with a tmpfs that holds only that path.
1. ``--no-net``: a new, empty network namespace (``unshare(CLONE_NEWNET)``, needs root): the kernel
   sees only a loopback device that is down, so it cannot open any socket to any address; the
   grader talks to it over Unix-domain sockets (jupyter_client's ``ipc`` transport).
2. resource limits: address space (``--mem``; a huge allocation raises MemoryError), size of any
   file written (``--fsize``), number of processes (``--nproc``), no core dumps.
3. ``--uid/--gid`` (needs root): the connection file (root-only, 0600) is copied into ``--home``
   for that user, supplementary groups are dropped, then gid and uid are set for good; the
   kernel can then write only where that uid may (its working copy and its fresh home); the
   environment is cut down to KEEP_ENV (no CI secrets or tokens reach student code).
4. ``exec`` of the command.

``--probe`` does steps 1-3 and exits 0, so the grader can check up front what the machine allows.
"""
import ctypes
import os
import resource
import sys

CLONE_NEWNET = 0x40000000
# what a sandboxed kernel keeps of the grader's environment (CI secrets, tokens and the like go)
KEEP_ENV = ("PATH", "LANG", "LC_", "TZ", "TERM", "HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "MPLBACKEND",
            "OMP_", "MKL_", "OPENBLAS_", "JPY_", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "VIRTUAL_ENV",
            "CUDA_VISIBLE_DEVICES", "PYDEVD_")
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _mount(src, target, fstype, flags, data=None):
    libc = _libc()
    rc = libc.mount(src.encode() if src else None, target.encode(), fstype.encode() if fstype else None,
                    ctypes.c_ulong(flags), data.encode() if data else None)
    if rc != 0:
        _fail(f"mount {src} -> {target} failed: {os.strerror(ctypes.get_errno())}")


def _world_searchable(path):
    try:
        return bool(os.stat(path).st_mode & 0o001)
    except OSError:
        return False


def _setup_mounts(masks, exposes, stage_dir):
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    # exposes first: paths below a folder that others may not enter (e.g. /root/.pyenv)
    groups = {}
    for path in exposes:
        path = os.path.realpath(path)
        parts = path.split("/")
        blocker = None
        for i in range(2, len(parts)):
            anc = "/".join(parts[:i])
            if not _world_searchable(anc):
                blocker = anc
                break
        if blocker:
            groups.setdefault(blocker, []).append(path)
    n = 0
    for blocker, paths in groups.items():
        staged = []
        for path in paths:
            stage = os.path.join(stage_dir, f".stage{n}")
            n += 1
            os.makedirs(stage, exist_ok=True)
            _mount(path, stage, None, MS_BIND | MS_REC)
            staged.append((path, stage))
        _mount("tmpfs", blocker, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
        for path, stage in staged:
            target = blocker + path[len(blocker):]
            os.makedirs(target, exist_ok=True)
            _mount(stage, target, None, MS_BIND | MS_REC)
            _libc().umount2(stage.encode(), 2)
        _mount("none", blocker, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_BIND)
    for path in masks:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=4k")
            _mount("none", path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)


def _fail(msg: str) -> None:
    sys.stderr.write(f"sandbox: {msg}\n")
    sys.exit(97)


def main(argv: list) -> None:
    if "--" in argv:
        split = argv.index("--")
        opts, cmd = argv[:split], argv[split + 1:]
    else:
        opts, cmd = argv, []
    conf = {"--uid": None, "--gid": None, "--mem": None, "--fsize": None, "--nproc": None, "--home": None}
    no_net = probe = False
    masks, exposes = [], []
    i = 0
    while i < len(opts):
        if opts[i] in ("--mask", "--expose") and i + 1 < len(opts):
            (masks if opts[i] == "--mask" else exposes).append(opts[i + 1])
            i += 1
        elif opts[i] == "--no-net":
            no_net = True
        elif opts[i] == "--probe":
            probe = True
        elif opts[i] in conf and i + 1 < len(opts):
            conf[opts[i]] = opts[i + 1]
            i += 1
        else:
            _fail(f"unknown option {opts[i]!r}")
        i += 1
    if not cmd and not probe:
        _fail("no command given after --")

    flags = (CLONE_NEWNET if no_net else 0) | (CLONE_NEWNS if (masks or exposes) else 0)
    if flags:
        if _libc().unshare(flags) != 0:
            _fail(f"unshare failed: {os.strerror(ctypes.get_errno())}")
    if masks or exposes:
        _setup_mounts(masks, exposes, conf["--home"] or "/tmp")

    for opt, limit in (("--mem", resource.RLIMIT_AS), ("--fsize", resource.RLIMIT_FSIZE),
                       ("--nproc", resource.RLIMIT_NPROC)):
        if conf[opt]:
            value = int(conf[opt])
            resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    if conf["--uid"] is not None:
        uid, gid = int(conf["--uid"]), int(conf["--gid"] or conf["--uid"])
        home = conf["--home"]
        if "-f" in cmd and home:
            k = cmd.index("-f") + 1
            with open(cmd[k], "rb") as fh:
                data = fh.read()
            copy = os.path.join(home, ".kernel-connection.json")
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chown(copy, uid, gid)
            cmd[k] = copy
        for key in list(os.environ):
            if not key.startswith(KEEP_ENV):
                del os.environ[key]
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.geteuid() != uid or os.getuid() != uid:
            _fail("could not drop privileges")
    if conf["--home"]:
        os.environ["HOME"] = conf["--home"]
    if probe:
        sys.exit(0)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
