"""bwrap applies its options in order: a mount must not hide what was bound below it (a course cloned in /tmp)."""
from coursekit.sandbox.bwrap import Mounts


def _position(args, *option):
    n = len(option)
    return next(i for i in range(len(args) - n + 1) if args[i:i + n] == list(option))


def test_a_tmpfs_added_after_a_bind_below_it_goes_first():
    m = Mounts(open_parents=True).ro("/tmp/ci/main/.venv").rw("/tmp/ci/work", "/grade/work").tmpfs("/tmp", 64, "1777")
    args = m.args
    tmpfs = _position(args, "--tmpfs", "/tmp")
    assert tmpfs < _position(args, "--ro-bind", "/tmp/ci/main/.venv", "/tmp/ci/main/.venv")
    assert tmpfs < _position(args, "--dir", "/tmp/ci")                    # the parents are made inside the tmpfs
    assert _position(args, "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/tmp") == tmpfs - 4
    assert _position(args, "--bind", "/tmp/ci/work", "/grade/work") > 0    # an unrelated mount keeps its place


def test_mounts_elsewhere_keep_their_order_and_the_root_is_remounted_last():
    m = Mounts().ro("/usr/lib/x").tmpfs("/grade/work", 8).tmpfs("/tmp", 8, "1777").read_only_root()
    assert m.args.index("/usr/lib/x") < m.args.index("/grade/work") < m.args.index("/tmp")
    assert m.args[-2:] == ["--remount-ro", "/"]
