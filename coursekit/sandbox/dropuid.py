"""Become an unprivileged uid for good, then run a command (the first step inside a root-made sandbox).

    python -I -S dropuid.py UID -- COMMAND ...

bubblewrap, run by root, builds the sandbox (namespaces, mounts) as root and starts this with only
CAP_SETUID and CAP_SETGID; it drops the supplementary groups, sets the real, effective and saved
gid and uid (which clears every capability), forbids gaining privileges again (no_new_privs),
checks, and execs the command. Standard library only.
"""
import ctypes
import os
import sys


def main(argv: list) -> None:
    uid = int(argv[0])
    cmd = argv[argv.index("--") + 1:]
    if uid <= 0 or not cmd:
        sys.exit("dropuid: need a uid above 0 and a command")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) != 0:   # PR_SET_NO_NEW_PRIVS
        sys.exit("dropuid: could not set no_new_privs")
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
        sys.exit("dropuid: could not drop privileges")
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
