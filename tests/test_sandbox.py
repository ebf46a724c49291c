"""The sandbox seen from inside a grading kernel: an allow-listed root, no network, an
allow-listed environment, and no kernel left behind by ``grade``.

Kernels start through :class:`~autograder.sandbox.SandboxKernelManager`, as nbclient starts
them. What they must not see (a course root with a gradebook, source notebooks and another
student's submission, a TA's downloads) lies *outside* /tmp, as on a real grader: anything
under /tmp would be out of sight in the kernel's private /tmp anyway. Skipped where the
sandbox cannot use namespaces (it then only sets limits, and says so).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import site
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook

from autograder import sandbox
from autograder.sandbox import SandboxKernelManager

REPO = Path(__file__).resolve().parent.parent
OUTSIDE = REPO / ".pytest_outside"          # in .gitignore
SECRET = ("AUTOGRADER_TEST_SECRET", f"planted-{uuid.uuid4().hex}")
WHY_NOT = sandbox._namespaces_fail(sandbox._libc(), os.geteuid() == 0)
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no namespaces here: {WHY_NOT}")


class Kernel:
    """A sandboxed kernel and a blocking client, as nbclient uses them."""

    def __init__(self, cwd: Path, **traits):
        self.km = SandboxKernelManager(kernel_name="python3", **traits)
        run_sync(self.km.start_kernel)(cwd=str(cwd))
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def stdout(self, code: str) -> str:
        """What running ``code`` in the kernel printed (it must raise nothing)."""
        out, errors = [], []

        def hook(msg):
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append("\n".join(msg["content"]["traceback"]))

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=120)
        assert reply["content"]["status"] == "ok", "\n".join(errors)
        return "".join(out)

    def value(self, code: str, expression: str):
        """Run ``code`` in the kernel, then return ``expression`` evaluated there (JSON)."""
        printed = self.stdout(f"{code}\nimport json as _json\nprint(_json.dumps({expression}))")
        return json.loads(printed.strip().splitlines()[-1])

    def connection(self) -> dict:
        return json.loads(Path(self.km.connection_file).read_text())

    def close(self) -> None:
        self.kc.stop_channels()
        run_sync(self.km.shutdown_kernel)(now=True)


@pytest.fixture(scope="module")
def outside():
    """Folders a kernel must not see, outside /tmp: a course (gradebook, source notebook, another
    student's submission and, in submitted/me/hw1, the notebook folder a kernel starts in, with a
    data file) and a TA's downloads."""
    root = OUTSIDE / uuid.uuid4().hex
    course = root / "course"
    files = {"course/nbgrader_config.py": "c = get_config()\n", "course/gradebook.db": "SECRET gradebook",
             "course/source/hw1/hw1.ipynb": "### BEGIN HIDDEN TESTS SECRET",
             "course/submitted/other_student/hw1/hw1.ipynb": "SECRET other student",
             "course/submitted/me/hw1/hw1.ipynb": "SECRET my own notebook, never copied",
             "course/submitted/me/hw1/data.csv": "x,y\n1,2\n", "Downloads/hw1_alice.ipynb": "SECRET download",
             "elsewhere/empty.txt": ""}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    yield {"root": root, "course": course, "notebook_folder": course / "submitted" / "me" / "hw1",
           "files": [root / rel for rel in files]}
    shutil.rmtree(root, ignore_errors=True)
    with contextlib.suppress(OSError):   # unless another session still uses it
        OUTSIDE.rmdir()


@pytest.fixture(scope="module")
def kernels(outside):
    """Kernel A in the notebook folder, with a secret planted in the grader's environment, and
    kernel B elsewhere, with variables configured for it."""
    os.environ[SECRET[0]] = SECRET[1]
    try:
        a = Kernel(outside["notebook_folder"])
        b = Kernel(outside["root"] / "elsewhere", kernel_env={"SSL_COURSE_PROFILE": "grading"},
                   extra_env={"OMP_NUM_THREADS": "1"})
    finally:
        del os.environ[SECRET[0]]
    yield a, b
    a.close()
    b.close()


def _allowed() -> set[str]:
    """The folders a kernel's root is made of, worked out here without the sandbox's code (and
    the grader's PYTHONPATH folders but the repository, which a kernel may see too)."""
    python = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable)), site.getusersitepackages())
    given = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    folders = [*sandbox.SYSTEM_FOLDERS, *python, *given, REPO / "course_utils"]
    return {os.path.realpath(p) for p in folders if os.path.isdir(p)} - {str(REPO)}


def test_root_holds_the_allow_list_alone(kernels, outside):
    """Walking the kernel's root (not into the allowed folders, /proc, /dev and /tmp) meets nothing
    but those folders, the folders on the way to them and the system's links (/bin -> usr/bin)."""
    a, _ = kernels
    allowed = _allowed()
    special = {"/proc", "/dev", "/tmp"}
    seen = a.value(f"""import os
seen = []
def walk(folder):
    for entry in os.scandir(folder):
        seen.append([entry.path, entry.is_symlink()])
        if entry.is_dir(follow_symlinks=False) and entry.path not in {sorted(allowed | special)!r}:
            walk(entry.path)
walk("/")""", "seen")
    stray = [path for path, link in seen if path not in allowed | special
             and not any(folder.startswith(path + "/") for folder in allowed)
             and not (link and path in sandbox.SYSTEM_FOLDERS)]
    assert stray == [], stray
    assert a.value("import os", "sorted(os.listdir('/dev'))") == sorted(
        [d for d in sandbox.DEVICES if os.path.exists(f"/dev/{d}")] + [*sandbox.DEVICE_LINKS, "shm"])
    sockets = os.path.basename(os.path.dirname(a.connection()["ip"]))
    assert a.value("import os", "sorted(os.listdir('/tmp'))") == sorted(["work", sockets])


def test_course_and_grader_files_are_out_of_reach(kernels, outside):
    """Not readable, not even listable: the course, another student, the downloads, the repository's
    autograder/ (its course root) and .git, home folders; not through .. of the working folder or
    /proc/1/cwd either."""
    a, _ = kernels
    package = [REPO / "autograder" / name for name in ("", "source", "nbgrader_config.py", "gradebook.db")]
    places = [*map(str, outside["files"]), str(outside["root"]), str(outside["course"]), *map(str, package),
              str(REPO / ".git"), str(REPO / "tests"), "/home", "/root/.bashrc"]
    reached = a.value(f"""import os
reached = []
for place in {places!r} + ["..", "/proc/1/cwd/..", "/proc/1/root"]:
    for path in [place, os.path.join(place, "course"), os.path.join(place, "gradebook.db")]:
        if os.path.lexists(path) and not os.path.samefile(path, "/tmp") and path != "/proc/1/root":
            reached.append(path)""", "reached")
    assert reached == [], reached
    assert a.value("import os", "sorted(n for n in os.listdir('.') if not n.startswith('.'))") == ["data.csv"]


def test_the_kit_imports_and_nothing_but_tmp_is_writable(kernels):
    a, _ = kernels
    kit = a.value("import course_utils", "course_utils.__file__")
    assert kit == str(REPO / "course_utils" / "__init__.py")
    targets = ["/x", "/usr/x", "/etc/x", "/dev/x", "/proc/x", str(REPO / "course_utils" / "losses.py"),
               str(REPO / "course_utils" / "x"), str(REPO / "autograder" / "kernel" / "x"),
               str(REPO / "autograder" / "x"), str(Path(sys.prefix) / "x"), "/tmp/x", "/tmp/work/x",
               "/dev/shm/x", "/dev/null"]
    wrote = a.value(f"""import os
wrote = []
for path in {targets!r}:
    try:
        with open(path, "a") as f:
            f.write("x")
        wrote.append(path)
    except OSError:
        pass
for path in wrote[:-1]:
    os.remove(path)""", "wrote")
    assert wrote == ["/tmp/x", "/tmp/work/x", "/dev/shm/x", "/dev/null"]


def test_the_environment_is_the_allow_list(kernels):
    a, b = kernels
    code = f"""import os, subprocess
seen = {{}}
seen["environ"] = {SECRET[1]!r} in repr(dict(os.environ)) or {SECRET[0]!r} in os.environ
for name in ["/proc/self/environ", "/proc/1/environ"]:
    try:
        seen[name] = {SECRET[1]!r}.encode() in open(name, "rb").read()
    except PermissionError:   # as root the kernel's own uid cannot read it (not dumpable)
        seen[name] = False
seen["child"] = {SECRET[1]!r} in subprocess.run(["env"], capture_output=True, text=True).stdout"""
    assert a.value(code, "seen") == {"environ": False, "/proc/self/environ": False, "/proc/1/environ": False,
                                     "child": False}
    environ = a.value("import os", "dict(os.environ)")
    assert environ["LANG"] == environ["LC_ALL"] == "C.UTF-8" and environ["HOME"] == "/tmp/work"
    assert environ["PATH"].split(":")[0] == os.path.dirname(sys.executable)
    assert not {"VIRTUAL_ENV", "PWD", "OLDPWD", "SHELL", "JPY_PARENT_PID", "SSH_AUTH_SOCK"} & set(environ)
    if "OMP_WAIT_POLICY" in os.environ:
        assert environ["OMP_WAIT_POLICY"] == os.environ["OMP_WAIT_POLICY"]
    configured = b.value("import os", "[os.environ[n] for n in ('SSL_COURSE_PROFILE', 'OMP_NUM_THREADS')]")
    assert configured == ["grading", "1"]


def test_no_network_and_no_other_kernel(kernels):
    """Kernels talk over unix sockets; a kernel has only its own lo and reaches neither another
    kernel's ports nor a TCP server of the grader's. Over lo, ipykernel still relays the output of
    a forked process."""
    a, b = kernels
    info = b.connection()
    assert info["transport"] == "ipc" and info["ip"].startswith("/tmp/agk-")
    assert os.path.exists(f"{info['ip']}-{info['shell_port']}")   # B's shell socket, seen from the grader
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        reached = a.value(f"""import os, socket
reached = []
for port in [{info['shell_port']}, {info['iopub_port']}, {server.getsockname()[1]}]:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        reached.append(port)
    except OSError:
        pass
if os.path.exists({os.path.dirname(info['ip'])!r}):
    reached.append("B's socket folder")""", "reached")
    finally:
        server.close()
    assert reached == []
    assert a.value("import socket", "[name for _, name in socket.if_nameindex()]") == ["lo"]
    assert "forked" in a.stdout("import os, time\nif os.fork() == 0:\n    print('forked', flush=True)\n"
                                "    os._exit(0)\nos.wait()\ntime.sleep(1)")


def test_the_socket_folder_goes_with_the_kernel(outside):
    kernel = Kernel(outside["root"] / "elsewhere")
    folder = os.path.dirname(kernel.km.ip)
    assert len(f"{kernel.km.ip}-99") < 100 and os.path.isdir(folder)
    if os.geteuid() == 0:   # the kernel's own uid binds its sockets there
        assert os.stat(folder).st_uid >= sandbox.UID_BASE and os.stat(folder).st_mode & 0o777 == 0o700
    kernel.close()
    assert not os.path.exists(folder)


# --------------------------------------------------------------------------- grade
def _status(pid: str) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pids) -> list[str]:
    return [pid for pid in pids if _status(pid).get("State", "Z").split()[0] not in ("Z", "X")]


class _Watch(threading.Thread):
    """Records, while ``grade`` runs, every process of its kernels: the launchers (children of a
    worker of ``workspace``), the kernels (their children) and processes with ``marker``."""

    def __init__(self, workspace: Path, marker: str):
        super().__init__(daemon=True)
        self.workspace, self.marker = str(workspace).encode(), marker.encode()
        self.launchers, self.kernels, self.marked, self.done = set(), set(), set(), threading.Event()

    def _worker(self, pid: str) -> bool:
        return b"autograder.worker" in _cmdline(pid) and self.workspace in _cmdline(pid)

    def run(self):
        while not self.done.wait(0.2):
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
            parents = {p: _status(p).get("PPid") for p in pids}
            workers = {p for p in pids if self._worker(p)}
            self.launchers |= {p for p in pids if parents[p] in workers and b"sandbox.py" in _cmdline(p)}
            self.kernels |= {p for p in pids if parents[p] in self.launchers}
            self.marked |= {p for p in pids if self.marker in _cmdline(p)}


def _tiny_course(root: Path):
    """A course of one assignment, one notebook, one answer and its test, released."""
    from autograder.__main__ import main
    from autograder.course import Course

    course = Course().derived(root / "course")
    meta = {"schema_version": 3, "locked": False}
    answer = {**meta, "grade": False, "solution": True, "grade_id": "answer"}
    test = {**meta, "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "test-answer"}
    nb = new_notebook(cells=[
        new_code_cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION",
                      metadata={"nbgrader": answer}),
        new_code_cell("assert answer() == 42", metadata={"nbgrader": test})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    course.path("source", "hw9").mkdir(parents=True)
    nbformat.write(nb, str(course.path("source", "hw9") / "tiny.ipynb"))
    main(["--course", str(course.root), "release", "hw9", "--notebooks", str(root / "notebooks")])
    return course, nbformat.read(str(course.path("release", "hw9") / "tiny.ipynb"), as_version=4)


def test_grade_leaves_no_kernel_behind(outside):
    """Two students each start a process that ignores SIGTERM and sleeps forever in a session of
    its own; one ends normally (3 s later), the other sleeps past the student timeout (its worker
    is killed). Once ``grade`` returns, none of their kernels' processes is left."""
    from autograder.grade import Limits, grade
    from autograder.samples import write_submission

    marker = f"sleeper-{uuid.uuid4().hex}"
    course, released = _tiny_course(outside["root"] / "grading")
    spawn = ("import signal, subprocess, sys\n"
             "subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, "
             f"signal.SIG_IGN); time.sleep(10**6)', {marker!r}], start_new_session=True)\n"
             "def answer():\n    return 42")
    for student, seconds in [("finishes", 3), ("hangs", 10**6)]:
        nb = nbformat.from_dict(json.loads(nbformat.writes(released)))
        nb.cells[0].source = spawn
        nb.cells.append(new_code_cell(f"import time\ntime.sleep({seconds})"))
        write_submission(course, "hw9", student, {"tiny": nb})
    workspace = outside["root"] / "workspace"
    workspace.mkdir()
    watch = _Watch(workspace, marker)
    watch.start()
    try:
        outcomes = grade(course, ["hw9"], workers=2, workspace=workspace, echo=lambda line: None,
                         limits=Limits(cell_timeout=600, student_timeout=60))
    finally:
        watch.done.set()
        watch.join()
    lines = {o.student: o.line() for o in outcomes}
    assert lines["finishes"].startswith("hw9 finishes: 1/1"), lines
    assert "stopped after 60 s" in lines["hangs"], lines
    assert len(watch.launchers) >= 2 and len(watch.marked) >= 2, (watch.launchers, watch.marked)
    everything = watch.launchers | watch.kernels | watch.marked
    deadline = time.monotonic() + 10
    while _alive(everything) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(everything) == []
