"""The grading kernel's sandbox: namespaces, an unprivileged uid and resource limits.

Two halves, one file (the launcher runs as a plain script, before ``autograder``
could be imported):

- :class:`SandboxKernelManager`, a ``jupyter_client`` kernel manager that starts
  every grading kernel through this file:
  ``python sandbox.py [limits] [--hide PATH ...] -- python -m ipykernel_launcher -f conn.json``.
- :func:`main`, that launcher. Where it may (as root, or with unprivileged user
  namespaces) it

  1. reads the connection file and the non-notebook files of the kernel's folder;
  2. checks in a throwaway child that namespaces and mounts work here, then
     enters new mount and PID namespaces (and a user namespace when not root) and
     forks: the kernel is PID 1 of its namespace, so when it dies every process it
     started dies with it;
  3. makes every file system read-only, covers the course root, the repository's
     ``.git`` and the grading workspace with empty read-only tmpfs (no source
     notebook, gradebook, hidden test or other student's file is reachable), gives
     the kernel a private ``/tmp`` (its working folder) and ``/dev/shm``, and mounts
     a fresh ``/proc``;
  4. as root, switches to a uid of its own (no other kernel can signal it or touch
     its files); in a user namespace, drops every capability;
  5. sets limits: CPU seconds, data segment (memory), file size, processes, no core
     (defaults in :data:`LIMITS`, each configurable as ``SandboxKernelManager.<name>``);
  6. loads the integrity guard (``guard.py``) and starts ipykernel in-process.

  Without namespaces it only moves to a fresh temporary folder and sets the limits,
  and says so on stderr: the kernel can then read whatever the grader's account can.

The kernel's exit status (an ``os._exit`` code or a signal) reaches the kernel
manager unchanged, so the grader can say how a kernel died.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import re
import resource
import signal
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer, List, Unicode

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 1 << 14, 1 << 18)
MOUNT_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
                      "nodiratime": 2048, "relatime": 1 << 21}   # must be kept on a remount
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
KERNEL_HOME = "/tmp/work"          # the kernel's working folder inside its namespace
MAX_COPY_BYTES = 256 * 2**20       # data files copied next to the kernel, at most
# A kernel's default limits, the one place they are written: the launcher's flags and
# SandboxKernelManager's traits of the same names (set in nbgrader_config.py) start from them.
LIMITS = {   # name: (default, help)
    "cpu_seconds": (600, "CPU seconds a kernel may use in all"),
    "memory_mb": (4096, "data segment (heap) limit of a kernel, MiB"),
    "file_mb": (512, "largest file a kernel may write, MiB"),
    "tmp_mb": (512, "size of the kernel's private /tmp and of its /dev/shm, MiB each"),
    "processes": (256, "processes (threads included) of a kernel; only as root, where the kernel "
                  "has a uid of its own"),
}
UID_BASE = 1_000_000   # as root, a kernel runs as UID_BASE + its launcher's pid


# --------------------------------------------------------------------------- launcher
def _flag(name: str) -> str:
    """The launcher's flag for a limit: ``cpu_seconds`` -> ``--cpu-seconds``."""
    return "--" + name.replace("_", "-")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _call(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: None if s is None else str(s).encode())
    _call(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
          f"mount {target}")


def _read_files(folder: str | None) -> list[tuple[str, bytes]]:
    """The data files beside the notebook (never notebooks: they may hold hidden tests)."""
    files, total = [], 0
    if not folder or not os.path.isdir(folder):
        return files
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = os.path.join(root, name)
            if name.endswith(".ipynb") or name.startswith(".") or not os.path.isfile(path):
                continue
            total += os.path.getsize(path)
            if total > MAX_COPY_BYTES:
                return files
            with open(path, "rb") as f:
                files.append((os.path.relpath(path, folder), f.read()))
    return files


def _enter_namespaces(libc, as_root: bool) -> None:
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if as_root else CLONE_NEWUSER)
    _call(libc.unshare(flags), "unshare")
    if not as_root:  # map our own uid; we hold every capability inside the new namespace
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _namespaces_fail(libc, as_root: bool) -> str | None:
    """Why namespaces cannot be used here (None: they can), tried in a throwaway child: a
    system may allow the unshare but refuse the mounts (AppArmor's restricted user
    namespaces), which the kernel's own process could not undo."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            _enter_namespaces(libc, as_root)
            _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
            _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
        except OSError as exc:
            os.write(write, str(exc).encode()[:500])
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else message or f"probe ended with status {status}"


def _fork_into_pid_namespace() -> None:
    """Fork; the parent waits and exits the way the child (the kernel, PID 1) did."""
    pid = os.fork()
    if pid == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # interrupts are for the kernel
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _blocking_ancestor(path: str) -> str | None:
    """The topmost folder above ``path`` that other users cannot traverse (e.g. a 700 home)."""
    parts = Path(path).parts
    for i in range(2, len(parts) + 1):
        folder = os.path.join(*parts[:i])
        if os.stat(folder).st_mode & 0o001 == 0:
            return folder
    return None


def _needed_paths(hide: list[str]) -> list[str]:
    """What the kernel must read: the interpreter, its packages and the kit's sources."""
    spec = importlib.util.find_spec("course_utils")
    kit = list(spec.submodule_search_locations or []) if spec else []
    candidates = (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), *sys.path, *kit)
    paths = {os.path.realpath(p) for p in candidates if p and os.path.isdir(p)}
    paths = {p for p in paths if not _under(p, hide)}
    return sorted(p for p in paths if not any(p != q and _under(p, [q]) for q in paths))


def _under(path: str, roots) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one (``/a/bc`` is not inside ``/a/b``)."""
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _read_only(libc, under: list[str] | None = None) -> None:
    """Remount every mount but /proc, /sys and /dev read-only (keeping the flags a user
    namespace may not drop): the kernel writes only to its own tmpfs mounted after this.
    With ``under``, only the mounts at or below those folders."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4:6] for line in f]
    for point, options in mounts:
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point)   # \040 is a space
        if point in ("/proc", "/sys", "/dev") or point.startswith(("/proc/", "/sys/", "/dev/")):
            continue
        if under is not None and not _under(point, under):
            continue
        kept = sum(MOUNT_OPTION_FLAGS.get(o, 0) for o in options.split(","))
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | kept
        try:
            _mount(libc, None, point, None, flags)
        except OSError as exc:
            print(f"sandbox: {exc}; that file system stays writable", file=sys.stderr)


def _hide_and_mount(libc, hide: list[str], tmp_mb: int) -> None:
    """Private mounts: all read-only, hidden folders, a private /tmp and /dev/shm, a fresh /proc.

    As root the kernel runs under a uid of its own; what it needs from folders that
    uid could not traverse (a Python under /root, say) is bound back into an empty
    tmpfs laid over that folder, so the rest of it stays out of reach too.
    """
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    _read_only(libc)
    # what the kernel needs from under /tmp (a checkout of the kit there, say) is bound back
    # into the private /tmp, read-only, through descriptors opened before it covers them
    under_tmp = [p for p in _needed_paths(hide) if p.startswith("/tmp/")]
    descriptors = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in under_tmp]
    _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    os.umask(0o022)
    for path, fd in zip(under_tmp, descriptors):
        os.makedirs(path, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    if under_tmp:
        _read_only(libc, under=under_tmp)
    blocked = [(p, a) for p in _needed_paths(hide) if (a := _blocking_ancestor(p))]
    for i, (path, _) in enumerate(blocked):
        os.makedirs(f"/tmp/.stage/{i}")
        _mount(libc, path, f"/tmp/.stage/{i}", None, MS_BIND | MS_REC)
    for ancestor in sorted({a for _, a in blocked}):
        _mount(libc, "tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for i, (path, _) in enumerate(blocked):
        os.makedirs(path, exist_ok=True)
        _mount(libc, f"/tmp/.stage/{i}", path, None, MS_BIND | MS_REC)
        _call(libc.umount2(f"/tmp/.stage/{i}".encode(), MNT_DETACH), "umount stage")
        os.rmdir(f"/tmp/.stage/{i}")
    if blocked:
        os.rmdir("/tmp/.stage")
    for path in hide:   # under /tmp: only where a folder bound back above brought it back
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    if os.path.isdir("/dev/shm"):
        _mount(libc, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _drop_capabilities(libc) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _call(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def _set_limits(args, own_uid: bool) -> None:
    mb = 2**20
    limits = [(resource.RLIMIT_CPU, args.cpu_seconds, args.cpu_seconds + 2),
              (resource.RLIMIT_DATA, args.memory_mb * mb, args.memory_mb * mb),
              (resource.RLIMIT_FSIZE, args.file_mb * mb, args.file_mb * mb),
              (resource.RLIMIT_CORE, 0, 0)]
    if own_uid:  # RLIMIT_NPROC counts every process of the uid: only safe with a uid of our own
        limits.append((resource.RLIMIT_NPROC, args.processes, args.processes))
    for which, soft, hard in limits:
        resource.setrlimit(which, (soft, hard))


def _kernel_argv(cmd: list[str], connection_file: str) -> list[str]:
    """ipykernel's arguments, with the connection file moved to ``connection_file``."""
    try:
        start = cmd.index("ipykernel_launcher") + 1
    except ValueError:
        raise SystemExit(f"sandbox: expected an ipykernel command, got {cmd}") from None
    argv = list(cmd[start:])
    argv[argv.index("-f") + 1] = connection_file
    return argv


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hide", action="append", default=[], help="folder the kernel must not see")
    for name, (default, text) in LIMITS.items():
        parser.add_argument(_flag(name), type=int, default=default, help=text)
    parser.add_argument("--uid-base", type=int, default=UID_BASE,
                        help="as root, the kernel runs as uid-base + its launcher's pid (0: stay root)")
    parser.add_argument("--pid-dir", help="where to record the launcher's pid (for a hard kill)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment variable for the kernel")
    args = parser.parse_args(argv[:split])
    sys.dont_write_bytecode = True
    cmd = argv[split + 1:]

    conn = cmd[cmd.index("-f") + 1]
    with open(conn, "rb") as f:
        conn_bytes = f.read()
    data_files = _read_files(os.getcwd())
    if args.pid_dir:
        Path(args.pid_dir, str(os.getpid())).touch()
    guard_spec = importlib.util.spec_from_file_location("_autograder_guard",
                                                        Path(__file__).with_name("guard.py"))
    guard = sys.modules["_autograder_guard"] = importlib.util.module_from_spec(guard_spec)
    guard_spec.loader.exec_module(guard)

    libc, as_root, launcher_pid = _libc(), os.geteuid() == 0, os.getpid()
    hide = sorted({os.path.realpath(p) for p in args.hide if p})
    why = _namespaces_fail(libc, as_root)
    isolated = why is None
    if isolated:
        _enter_namespaces(libc, as_root)
        _fork_into_pid_namespace()
        _hide_and_mount(libc, hide, args.tmp_mb)
        home = KERNEL_HOME
        os.makedirs(home)
    else:
        print(f"sandbox: no mount/PID namespace ({why}); the kernel can read what the grader "
              "can. Grade as root or enable user namespaces to hide the course files.", file=sys.stderr)
        home = tempfile.mkdtemp(prefix="autograder-kernel-")
    own_uid = as_root and args.uid_base > 0
    uid = args.uid_base + launcher_pid if own_uid else os.getuid()
    gid = uid if own_uid else os.getgid()
    for rel, content in data_files:
        dest = Path(home, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    new_conn = os.path.join(home, ".kernel.json")
    Path(new_conn).write_bytes(conn_bytes)
    os.chmod(new_conn, 0o600)
    for root, dirs, files in os.walk(home):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, uid, gid)

    if own_uid:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    elif isolated and not as_root:
        _drop_capabilities(libc)
    if isolated:  # after the uid change, which clears it
        _call(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _set_limits(args, own_uid)
    os.environ.update(HOME=home, USER="student", LOGNAME="student", IPYTHONDIR=f"{home}/.ipython",
                      MPLCONFIGDIR=f"{home}/.config/matplotlib", XDG_CACHE_HOME=f"{home}/.cache",
                      JUPYTER_RUNTIME_DIR=f"{home}/.jupyter", NUMBA_CACHE_DIR=f"{home}/.cache/numba")
    for name in ("AUTOGRADER_HIDE", "AUTOGRADER_PID_DIR"):
        os.environ.pop(name, None)
    os.environ.update(item.split("=", 1) for item in args.env)
    os.chdir(home)
    sys.path[:] = ["", *(p for p in sys.path if p and not _under(p, hide))]
    guard.snapshot()   # before anything the student controls; imports numpy, torch and the kit

    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    # on loopback, inside its own namespaces: ipykernel's TCP warning is noise in every student's log
    app.log.addFilter(lambda record: not record.getMessage().startswith("Kernel is running over TCP"))
    app.initialize(["ipykernel_launcher", *_kernel_argv(cmd, new_conn)])
    guard.arm(app.shell)
    app.start()


# ----------------------------------------------------------------------- kernel manager
def _limit(name: str) -> Integer:
    """The configurable trait of a limit, with its default and help from :data:`LIMITS`."""
    default, text = LIMITS[name]
    return Integer(default, help=text).tag(config=True)


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel through :func:`main` with the limits below (configurable)."""

    cpu_seconds = _limit("cpu_seconds")
    memory_mb = _limit("memory_mb")
    file_mb = _limit("file_mb")
    tmp_mb = _limit("tmp_mb")
    processes = _limit("processes")
    uid_base = Integer(UID_BASE, help="as root, kernels run as uid_base + pid; 0: stay root").tag(config=True)
    hidden_paths = List(Unicode(), help="folders the kernel must not see (the course root, "
                        "the repository's .git and $AUTOGRADER_HIDE are added)").tag(config=True)
    kernel_env = Dict(help="environment variables for the kernel").tag(config=True)
    extra_env = Dict(help="more of them, set per run (e.g. thread counts)").tag(config=True)
    extra_hidden = List(Unicode())   # set by GuardedExecute: this run's course root

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        package = Path(__file__).resolve().parent
        hide = [*self.hidden_paths, *self.extra_hidden, str(package),
                str(package.parent / ".git"),
                *filter(None, os.environ.get("AUTOGRADER_HIDE", "").split(os.pathsep))]
        opts = [f"{_flag(name)}={getattr(self, name)}" for name in LIMITS] + [f"--uid-base={self.uid_base}"]
        if os.environ.get("AUTOGRADER_PID_DIR"):
            opts.append(f"--pid-dir={os.environ['AUTOGRADER_PID_DIR']}")
        env = {**self.kernel_env, **self.extra_env}
        opts += [f"--hide={p}" for p in hide] + [f"--env={k}={v}" for k, v in env.items()]
        return [sys.executable, str(Path(__file__).resolve()), *opts, "--", *cmd]


if __name__ == "__main__":
    main()
