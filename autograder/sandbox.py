"""The grading kernel's sandbox: an allow-listed root, namespaces, an unprivileged uid and limits.

Two halves, one file (the launcher runs as a plain script, before ``autograder``
could be imported):

- :class:`SandboxKernelManager`, a ``jupyter_client`` kernel manager that starts
  every grading kernel through this file, ``python sandbox.py [limits] --parent-pid PID
  [--env NAME=VALUE ...] -- python -m ipykernel_launcher -f conn.json``, with an
  environment built from an allow-list (:func:`_kernel_environment`; nothing else of
  the grader's reaches the kernel) and the ``ipc`` transport: the kernel's sockets are
  files in a fresh folder of its own (``/tmp/agk-*``), removed with it.
- :func:`main`, that launcher. It dies with the kernel manager's process
  (``PR_SET_PDEATHSIG``). Where it may (as root, or with unprivileged user namespaces) it

  1. reads the connection file and the non-notebook files of the kernel's folder;
  2. checks in a throwaway child that namespaces, mounts and ``pivot_root`` work here, then
     enters new mount, PID, network and IPC namespaces (and a user namespace when not root) and
     forks: the kernel is PID 1 of its namespace, so when it dies every process it started
     dies with it (and it dies with the launcher); its only network interface is ``lo``
     (ipykernel relays forked processes' output over it);
  3. builds a new root from an allow-list (:func:`_root_plan`) and pivots into it (``pivot_root``),
     detaching the old one: a tmpfs holding, read-only at their own paths, the system
     folders (``/usr``, ``/etc``, ...; links such as ``/bin -> usr/bin`` as links), the
     Python installation, the ``sys.path`` folders that can hold no course data, and the
     kit's ``course_utils``; a minimal ``/dev``, a fresh
     ``/proc``, a private ``/tmp`` (the kernel's working folder) and ``/dev/shm``, and,
     writable, the folder of its sockets. Nothing else: no course root, gradebook, source
     notebook, other student's file, grading workspace, home folder or repository;
  4. as root, switches to a uid of its own (no other kernel can signal it or touch
     its files); in a user namespace, drops every capability;
  5. sets limits: CPU seconds, data segment (memory), file size, processes, no core
     (defaults in :data:`LIMITS`, each configurable as ``SandboxKernelManager.<name>``);
  6. replaces its environment with the allow-listed one and starts ipykernel in-process
     (the grader then sends the harness, :mod:`autograder.kernel.harness`, before any
     student cell).

  Without namespaces it only moves to a fresh temporary folder and sets the limits and
  the environment, and says so on stderr: the kernel can then read whatever the
  grader's account can.

The kernel's exit status (an ``os._exit`` code or a signal) reaches the kernel
manager unchanged, so the grader can say how a kernel died.
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
import errno
import fcntl
import importlib.util
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, Dict, Integer

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 1 << 14, 1 << 18)
MOUNT_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
                      "nodiratime": 2048, "relatime": 1 << 21, "nosymfollow": 256}   # kept on a remount
MNT_DETACH = 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}.get(
    platform.machine())   # glibc has no wrapper for it
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
PACKAGE = Path(__file__).resolve().parent    # this package, by default also the course root
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                "stderr": "/proc/self/fd/2"}
COURSE_FILES = ("nbgrader_config.py", "gradebook.db")   # what makes a folder (part of) a course
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
PASSED_ENV = ("PYTHONHASHSEED", "OMP_WAIT_POLICY")      # the grader's own variables a kernel gets
NEW_ROOT, OLD_ROOT = "/newroot", "/oldroot"             # while the kernel's root is being built


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


def _pivot_root(libc, new_root: str, put_old: str) -> None:
    if SYS_PIVOT_ROOT is None:
        raise OSError(errno.ENOSYS, f"pivot_root: no system call number known for {platform.machine()}")
    _call(libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), new_root.encode(), put_old.encode()), "pivot_root")


def _die_with_parent(libc, parent: int | None) -> None:
    """Get SIGKILL when the parent (the kernel manager's process) dies; exit now if it already has."""
    _call(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if parent is not None and os.getppid() != parent:
        os._exit(1)


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


def _socket_folder(info: dict) -> str:
    """The folder of the kernel's ipc sockets, which the sandbox lets it write: it must be
    empty (a fresh one, as :class:`SandboxKernelManager` makes), so it shows the kernel nothing."""
    if info.get("transport") != "ipc":
        raise SystemExit("sandbox: the kernel must use the ipc transport (it has a network of its own)")
    folder = os.path.dirname(info["ip"])
    if not os.path.isabs(folder) or os.path.realpath(folder) != folder or not os.path.isdir(folder) \
            or os.listdir(folder):
        raise SystemExit(f"sandbox: the kernel's sockets need an empty folder of their own, not {folder!r}")
    return folder


# -- what the kernel's root holds, worked out on the grader's file system, before the namespaces
def _under(path: str, roots) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one (``/a/bc`` is not inside ``/a/b``)."""
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _outermost(paths) -> list[str]:
    """``paths`` without those inside another one, sorted."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(p != q and _under(p, [q]) for q in paths)]


def _python_folders() -> list[str]:
    """The Python installation (real paths): its prefixes and its executable's folder."""
    folders = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
               os.path.dirname(os.path.realpath(sys.executable)))
    return sorted({os.path.realpath(p) for p in folders if os.path.isdir(p)})


def _course_utils() -> list[str]:
    """The folders of the ``course_utils`` package, where Python finds it (real paths)."""
    spec = importlib.util.find_spec("course_utils")
    return sorted({os.path.realpath(p) for p in (spec.submodule_search_locations or [])} if spec else set())


def _kit_folders() -> list[str]:
    """The kit's code a kernel needs: ``course_utils`` (the harness reaches it as source, sent by
    the grader, so no file of ``autograder`` is needed)."""
    return _course_utils()


def _kit_roots(python: list[str]) -> set[str]:
    """The sys.path folders Python finds ``course_utils`` in, outside the Python installation
    (PYTHONPATH or the working folder put them there, e.g. the repository): a kernel keeps
    them on its path but sees in them the kit's folders alone."""
    on_path = {os.path.realpath(p) for p in sys.path}
    roots = {os.path.dirname(p) for p in _course_utils()}
    return {r for r in roots if r in on_path and not _under(r, python)}


def _protected() -> list[str]:
    """Folders a kernel must never see, even inside an allowed one: this package (by default the
    course root), the repository's ``.git``, the working folder (a notebook's, in its course) and
    the shared temporary folders (grading workspaces, other kernels' sockets)."""
    shared = {"/tmp", "/var/tmp", tempfile.gettempdir()}
    return [str(PACKAGE), str(PACKAGE.parent / ".git"), os.getcwd(), *shared]


def _safe(path: str, protected: list[str]) -> bool:
    """Whether a folder can show no course data: it is neither inside nor above a protected
    folder, and neither it nor a folder right inside it is a course or holds a gradebook."""
    if any(_under(path, [p]) or _under(p, [path]) for p in protected):
        return False
    try:
        folders = [path, *(entry.path for entry in os.scandir(path) if entry.is_dir())]
    except OSError:
        return False
    return not any(os.path.exists(os.path.join(f, name)) for f in folders for name in COURSE_FILES)


def _kept(entries) -> list[str]:
    """The entries of a module search path that a kernel keeps: those that are no folder (a zip,
    an import hook's name), lie in the Python installation, are a kit root or are safe."""
    python, protected = _python_folders(), [os.path.realpath(p) for p in _protected()]
    roots = _kit_roots(python)

    def keeps(entry: str) -> bool:
        real = os.path.realpath(entry)
        return not os.path.isdir(real) or _under(real, python) or real in roots or _safe(real, protected)

    return [p for p in entries if p and keeps(p)]


def _links(path: str) -> list[tuple[str, str]]:
    """The symbolic links met on the way to ``path``: (where one is, what it says), in order."""
    links, done, todo = [], "/", list(Path(os.path.abspath(path)).parts[1:])
    while todo and len(links) < 40:
        step = os.path.join(done, todo.pop(0))
        if os.path.islink(step):
            target = os.readlink(step)
            links.append((step, target))
            done = "/" if os.path.isabs(target) else done
            todo[:0] = Path(target).parts[1:] if os.path.isabs(target) else Path(target).parts
        else:
            done = os.path.normpath(step)
    return links


@dataclasses.dataclass
class _Root:
    """What the kernel's root holds besides /tmp, /dev, /proc and its socket folder."""

    binds: list[str]                # folders bound read-only at their own (real) paths, outermost
    covers: list[str]               # protected folders inside those, covered with an empty tmpfs
    kit: list[str]                  # kit folders inside a cover, bound again
    links: list[tuple[str, str]]    # the symbolic links on the way to any of them, recreated


def _root_plan() -> _Root:
    """The allow-list: the system folders, the Python installation, the sys.path folders a kernel
    keeps (the kit's import roots not as a whole: the repository holds the course) and the kit."""
    python = _python_folders()
    roots = _kit_roots(python)
    stated = [*SYSTEM_FOLDERS, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(sys.executable), *_kept(sys.path), *_kit_folders()]
    wanted = [p for p in stated if os.path.isdir(p) and os.path.realpath(p) not in roots]
    binds = _outermost([*python, *(os.path.realpath(p) for p in wanted)])
    protected = [os.path.realpath(p) for p in _protected() if os.path.isdir(p)]
    covers = [p for p in protected if any(p != b and _under(p, [b]) for b in binds)]
    links = dict.fromkeys(link for p in wanted for link in _links(p))
    return _Root(binds, covers, [k for k in _kit_folders() if _under(k, covers)], list(links))


# -- namespaces and mounts
def _enter_namespaces(libc, as_root: bool) -> None:
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | (0 if as_root else CLONE_NEWUSER)
    _call(libc.unshare(flags), "unshare")
    if not as_root:  # map our own uid; we hold every capability inside the new namespace
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _stage(libc) -> None:
    """Pivot into a small empty tmpfs holding the grader's root at /oldroot and room for the
    kernel's at /newroot (it is mounted over /tmp, which shows again under /oldroot)."""
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=700")
    os.chdir("/tmp")
    os.mkdir("." + OLD_ROOT)
    os.mkdir("." + NEW_ROOT)
    _pivot_root(libc, ".", "." + OLD_ROOT)
    os.chdir("/")


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
            _stage(libc)
        except OSError as exc:
            os.write(write, str(exc).encode()[:500])
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else message or f"probe ended with status {status}"


def _fork_into_pid_namespace() -> int:
    """Fork; the parent waits and exits the way the child (the kernel, PID 1) did. Returns, in
    the child, the read end of a pipe that the parent holds open: at end of file, it is gone."""
    alive, held = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(held)
        return alive
    os.close(alive)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # interrupts are for the kernel
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _loopback_up() -> None:
    """Bring up ``lo``, the only interface of the kernel's network namespace: ipykernel relays the
    output of the kernel's forked processes over it (TCP on 127.0.0.1, its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh22x", b"lo", 0)   # a struct ifreq
        flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def _bind(libc, path: str) -> None:
    """Bind the grader's ``path`` at the same path in the kernel's root."""
    os.makedirs(NEW_ROOT + path, exist_ok=True)
    _mount(libc, OLD_ROOT + path, NEW_ROOT + path, None, MS_BIND | MS_REC)


def _make_dev(libc, tmp_mb: int) -> None:
    """A minimal /dev: a few devices bound from the grader's, the standard links, a private /dev/shm."""
    dev = NEW_ROOT + "/dev"
    os.mkdir(dev)
    _mount(libc, "tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755")
    for name in DEVICES:
        if os.path.exists(f"{OLD_ROOT}/dev/{name}"):
            Path(dev, name).touch()
            _mount(libc, f"{OLD_ROOT}/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm")
    _mount(libc, "tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")


def _read_only(libc, root: str, writable: set[str]) -> None:
    """Remount every mount at or below ``root`` read-only but those at ``writable`` (keeping the
    flags a user namespace may not drop). ``root`` holds a /proc."""
    with open(f"{root}/proc/self/mountinfo") as f:
        mounts = [line.split()[4:6] for line in f]
    for point, options in mounts:
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point)   # \040 is a space
        if _under(point, [root]) and point not in writable:
            kept = sum(MOUNT_OPTION_FLAGS.get(o, 0) for o in options.split(","))
            _mount(libc, None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _build_root(libc, plan: _Root, sockets: str, tmp_mb: int) -> None:
    """The kernel's root at /newroot: ``plan``, a private /tmp, the socket folder, /dev and a fresh
    /proc (mounted while the grader's is in sight, as a user namespace requires); all read-only
    but /tmp, /dev/shm and the socket folder. Every folder made on the way is mode 755."""
    os.umask(0o022)
    _mount(libc, "tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    os.mkdir(NEW_ROOT + "/tmp")   # first: the plan may bind folders under /tmp (a checkout there)
    _mount(libc, "tmpfs", NEW_ROOT + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    for path in plan.binds:
        _bind(libc, path)
    for path in plan.covers:
        _mount(libc, "tmpfs", NEW_ROOT + path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for path in plan.kit:
        _bind(libc, path)
    for link, target in plan.links:
        if not os.path.lexists(NEW_ROOT + link):
            os.makedirs(os.path.dirname(NEW_ROOT + link), exist_ok=True)
            os.symlink(target, NEW_ROOT + link)
    _bind(libc, sockets)
    _make_dev(libc, tmp_mb)
    os.mkdir(NEW_ROOT + "/proc")
    _mount(libc, "proc", NEW_ROOT + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _read_only(libc, NEW_ROOT, {NEW_ROOT + p for p in ("/tmp", "/dev/shm", "/proc", sockets)})


def _switch_root(libc) -> None:
    """Make /newroot the root, and detach the grader's root and the staging tmpfs: no path, no
    open folder and no capability leads back to them."""
    _call(libc.umount2(OLD_ROOT.encode(), MNT_DETACH), "umount old root")
    stage = os.open("/", os.O_DIRECTORY | os.O_RDONLY)
    os.chdir(NEW_ROOT)
    _pivot_root(libc, ".", ".")   # the staging root now lies over the new one, at /
    os.fchdir(stage)
    os.close(stage)
    _call(libc.umount2(b".", MNT_DETACH), "umount staging root")
    os.chdir("/")


def _drop_capabilities(libc) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _call(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def _die_with_launcher(libc, alive: int) -> None:
    """The kernel's own PR_SET_PDEATHSIG (a fork and a uid change clear it); exit now if the
    launcher died before (its pid is out of sight here: the pipe it holds tells)."""
    _call(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if select.select([alive], [], [], 0)[0]:
        os._exit(1)
    os.close(alive)


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


# -- the environment
def _python_path(environ) -> str:
    """PYTHONPATH for the launcher and its kernel: the kit's import roots, then the entries of the
    grader's PYTHONPATH that a kernel keeps (:func:`_kept`)."""
    given = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.isdir(p)]
    paths = [*sorted(_kit_roots(_python_folders())), *(os.path.realpath(p) for p in _kept(given))]
    return os.pathsep.join(dict.fromkeys(paths))


def _kernel_environment(environ, extra: dict[str, str]) -> dict[str, str]:
    """A kernel's environment, from an allow-list: a fixed PATH with the Python's bin folder, a
    UTF-8 locale, PYTHONPATH (:func:`_python_path`) where needed, :data:`PASSED_ENV` where
    ``environ`` (the grader's) sets them, and ``extra``. Nothing else of ``environ``."""
    env = {"PATH": f"{os.path.dirname(sys.executable)}:{SYSTEM_PATH}", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           **{name: environ[name] for name in PASSED_ENV if name in environ}}
    if python_path := _python_path(environ):
        env["PYTHONPATH"] = python_path
    return {**env, **extra}


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
    for name, (default, text) in LIMITS.items():
        parser.add_argument(_flag(name), type=int, default=default, help=text)
    parser.add_argument("--uid-base", type=int, default=UID_BASE,
                        help="as root, the kernel runs as uid-base + its launcher's pid (0: stay root)")
    parser.add_argument("--parent-pid", type=int, help="the kernel manager's pid: die with it")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment variable for the kernel")
    args = parser.parse_args(argv[:split])
    libc = _libc()
    _die_with_parent(libc, args.parent_pid)
    sys.dont_write_bytecode = True
    cmd = argv[split + 1:]

    with open(cmd[cmd.index("-f") + 1], "rb") as f:
        conn_bytes = f.read()
    data_files = _read_files(os.getcwd())
    env = _kernel_environment(os.environ, dict(item.split("=", 1) for item in args.env))
    kernel_path = ["", *_kept(sys.path)]

    as_root, launcher_pid = os.geteuid() == 0, os.getpid()
    why = _namespaces_fail(libc, as_root)
    isolated = why is None
    if isolated:
        plan, sockets = _root_plan(), _socket_folder(json.loads(conn_bytes))
        _enter_namespaces(libc, as_root)
        alive = _fork_into_pid_namespace()
        _loopback_up()
        _stage(libc)
        _build_root(libc, plan, sockets, args.tmp_mb)
        _switch_root(libc)
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
    if isolated:   # the kernel binds its sockets there
        os.chown(sockets, uid, gid)
        os.chmod(sockets, 0o700)

    if own_uid:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    elif isolated and not as_root:
        _drop_capabilities(libc)
    if isolated:  # after the uid change, which clears it
        _die_with_launcher(libc, alive)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _set_limits(args, own_uid)
    os.environ.clear()
    os.environ.update(env, HOME=home, USER="student", LOGNAME="student", IPYTHONDIR=f"{home}/.ipython",
                      MPLCONFIGDIR=f"{home}/.config/matplotlib", XDG_CACHE_HOME=f"{home}/.cache",
                      JUPYTER_RUNTIME_DIR=f"{home}/.jupyter", NUMBA_CACHE_DIR=f"{home}/.cache/numba")
    os.chdir(home)
    sys.path[:] = kernel_path

    from ipykernel.kernelapp import IPKernelApp
    # parent_handle 1: no parent poller (PR_SET_PDEATHSIG ends the kernel) and no connection banner
    app = IPKernelApp.instance(parent_handle=1)
    app.initialize(["ipykernel_launcher", *_kernel_argv(cmd, new_conn)])
    app.start()


# ----------------------------------------------------------------------- kernel manager
def _limit(name: str) -> Integer:
    """The configurable trait of a limit, with its default and help from :data:`LIMITS`."""
    default, text = LIMITS[name]
    return Integer(default, help=text).tag(config=True)


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel through :func:`main` with the limits below (configurable), the
    allow-listed environment and its sockets in a fresh folder of their own."""

    cpu_seconds = _limit("cpu_seconds")
    memory_mb = _limit("memory_mb")
    file_mb = _limit("file_mb")
    tmp_mb = _limit("tmp_mb")
    processes = _limit("processes")
    uid_base = Integer(UID_BASE, help="as root, kernels run as uid_base + pid; 0: stay root").tag(config=True)
    kernel_env = Dict(help="environment variables for the kernel").tag(config=True)
    extra_env = Dict(help="more of them, set per run (e.g. thread counts)").tag(config=True)
    transport = CaselessStrEnum(["ipc"], default_value="ipc", help="ipc only: a kernel has no network")
    _sockets: str | None = None   # the folder of this kernel's sockets, while it has one

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        opts = [f"{_flag(name)}={getattr(self, name)}" for name in LIMITS]
        opts += [f"--uid-base={self.uid_base}", f"--parent-pid={os.getpid()}"]
        opts += [f"--env={k}={v}" for k, v in {**self.kernel_env, **self.extra_env}.items()]
        return [sys.executable, str(Path(__file__).resolve()), *opts, "--", *cmd]

    async def _async_pre_start_kernel(self, **kw):
        """A fresh socket folder, short enough for a unix socket's path, kept over restarts."""
        if self._sockets is None:
            self._sockets = tempfile.mkdtemp(prefix="agk-", dir="/tmp")
            self.ip = os.path.join(self._sockets, "k")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = _kernel_environment(os.environ, {})
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    # AsyncKernelManager's public names are aliases of KernelManager's methods, not of ours
    pre_start_kernel = _async_pre_start_kernel
    _launch_kernel = _async_launch_kernel
    cleanup_resources = _async_cleanup_resources


if __name__ == "__main__":
    main()
