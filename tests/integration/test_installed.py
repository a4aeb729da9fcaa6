"""The grader as a student or an LMS image gets it: built into an sdist and a wheel,
installed into a fresh venv in a temporary folder, run from there with no repository on
the path; then ``%grade`` inside a notebook's kernel under a real Jupyter server.

The fresh venv gets the grader only from the wheel (``pip install --no-deps``); its
dependencies (TensorFlow, numpy, jupyter_server...) come from the test's own venv
through one .pth line, since installing TensorFlow again would take minutes and the
network.  A check asserts that ``grader`` is imported from the fresh venv."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests

from tests import notebooks as nbs

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel built from the sdist; returns its bin folder."""
    dist = tmp_path_factory.mktemp("dist")
    egg_info = REPOSITORY / "keras_hw_grader.egg-info"
    had_egg_info = egg_info.exists()
    try:
        sdist = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from setuptools import build_meta as b; print(b.build_sdist({str(dist)!r}))",
            ],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
    finally:
        if not had_egg_info:  # setuptools leaves it in the source tree
            shutil.rmtree(egg_info, ignore_errors=True)
    with tarfile.open(dist / sdist) as archive:
        names = archive.getnames()
    assert any(n.endswith("/assignments/exp_decay/assignment.toml") for n in names)
    assert any(n.endswith("/reference/exp_decay/reference.json") for n in names)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(dist / sdist),
        ],
        check=True,
        capture_output=True,
        cwd=dist,
        env=_clean_env(),
    )
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "grader/_data/assignments/exp_decay/assignment.toml" in names
    assert "grader/_data/assignments/messages.toml" in names
    assert "grader/_data/reference/exp_decay/reference.json" in names
    assert not [n for n in names if n.endswith(".report.html")]  # generated, never shipped

    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        cwd=dist,
        env=_clean_env(),  # not the repository: pip would take it for an installed copy
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [str(python), "-c", "import grader; print(grader.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv.parent,
        env=_clean_env(),
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    return venv / "bin"


def test_installed_wheel_lists_and_grades_outside_the_repository(installed, tmp_path):
    listing = subprocess.run(
        [str(installed / "grader"), "assignments", "--lang", "en"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:-1]}
    assert set(rows) == {"exp_decay", "exp_cos", "midterm_2022"}
    assert "ko,en" in rows["exp_decay"] and "Homework: fit" in rows["exp_decay"]
    assert str(REPOSITORY) not in listing.stdout

    path = nbs.write_notebook(nbs.homework(), tmp_path / "hw.ipynb")
    # both streams into one pipe, as a terminal shows them
    completed = subprocess.run(
        [str(installed / "grader"), "check", path.name, "--lang", "en"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=300,
    )
    lines = completed.stdout.splitlines()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "hw.ipynb: graded, 100 / 100" in lines
    report_lines = [line for line in lines if "report.html" in line]
    assert report_lines == [f"report: {tmp_path / 'hw.report.html'}"]
    sandbox_lines = [line for line in lines if "sandbox:" in line]
    assert len(sandbox_lines) == 1 and sandbox_lines[0].startswith("sandbox: ")
    assert (tmp_path / "hw.report.html").is_file()


# --- %grade in a notebook under a real Jupyter server ------------------------------


class Server:
    """jupyter_server from the installed venv, driven as a front end does: REST for
    sessions and saving, the kernel's websocket for execute requests."""

    def __init__(self, bin_folder: Path, root: Path, app: str = "jupyter_server", **env: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.token = uuid.uuid4().hex
        self.root = root
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root.parent / "server.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(bin_folder / "python"),
                "-m",
                app,
                "--no-browser",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            cwd=root,
            env=_clean_env(JUPYTER_RUNTIME_DIR=str(root.parent / "runtime"), **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.get("/api/status").ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("jupyter_server did not start: " + self.log_path.read_text()[-2000:])

    def _headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str):
        return requests.get(self.base + path, headers=self._headers(), timeout=30)

    def post(self, path: str, body: dict):
        return requests.post(self.base + path, json=body, headers=self._headers(), timeout=60)

    def put(self, path: str, body: dict):
        return requests.put(self.base + path, json=body, headers=self._headers(), timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class KernelChannel:
    def __init__(self, server: Server, kernel_id: str):
        import websocket

        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?token={server.token}",
            timeout=300,
        )

    def execute(self, code: str, timeout_s: float = 300) -> list[dict]:
        """Run ``code`` as a cell; returns its iopub messages until the kernel is idle."""
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "student",
                        "session": self.session,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        messages = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["channel"] == "iopub":
                if message["msg_type"] == "status":
                    if message["content"]["execution_state"] == "idle":
                        return messages
                else:
                    messages.append(message)
        raise TimeoutError(code)


def _stream(messages: list[dict], name: str) -> str:
    return "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


def _result(messages: list[dict]) -> dict | None:
    results = [m["content"]["data"] for m in messages if m["msg_type"] == "execute_result"]
    return results[-1] if results else None


def test_grade_magic_in_a_jupyter_server_session(installed, tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    cells = [*nbs.homework(), "%load_ext grader", "%grade"]
    path = nbs.write_notebook(cells, root / "숙제.ipynb", kernel_name="python3")
    server = Server(installed, root)
    try:
        session = server.post(
            "/api/sessions",
            {
                "path": "숙제.ipynb",
                "name": "숙제.ipynb",
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        ).json()
        channel = KernelChannel(server, session["kernel"]["id"])
        for source in nbs.homework():
            outputs = channel.execute(source)
            assert not [m for m in outputs if m["msg_type"] == "error"], outputs
        # the student saves (the front end's save is a PUT of the whole notebook)
        content = json.loads(path.read_text("utf-8"))
        assert server.put(
            "/api/contents/숙제.ipynb", {"type": "notebook", "format": "json", "content": content}
        ).ok
        saved_at = path.stat().st_mtime
        assert not [m for m in channel.execute("%load_ext grader") if m["msg_type"] == "error"]

        graded = channel.execute("%grade")
        assert not [m for m in graded if m["msg_type"] == "error"], graded
        data = _result(graded)
        assert data is not None, _stream(graded, "stderr")
        text = data["text/plain"]
        assert f"채점한 파일: {path}" in text
        assert time.strftime("%H:%M:%S", time.localtime(saved_at)) in text
        assert "숙제.ipynb: 100 / 100" in text
        assert "✓ beta" in text and "✓ plot_curve" in text
        frame = re.search(r'srcdoc="([^"]*)"', data["text/html"])
        report = html.unescape(frame.group(1))
        assert '<span id="score-value">100</span>' in report
        assert report.count("<img") >= 2  # the student's figure and the grader's

        # the same as a function, in English
        called = _result(channel.execute("import grader\ngrader.check(lang='en')"))
        assert called is not None and "Graded file: " in called["text/plain"]
        assert "숙제.ipynb: 100 / 100" in called["text/plain"]

        # a cell run after the save: the file is older than it
        channel.execute("extra = 1")
        stale = channel.execute("%grade")
        assert _result(stale) is None
        complaint = _stream(stale, "stderr").strip()
        assert "먼저 저장" in complaint and len(complaint.splitlines()) == 1

        missing = channel.execute("%grade 없는파일.ipynb")
        assert [m for m in missing if m["msg_type"] == "error"] == []
        assert _stream(missing, "stderr").strip() == "파일이 없습니다: 없는파일.ipynb"
    finally:
        server.stop()


def test_grade_in_jupyterlab_in_chromium(installed, tmp_path):
    """As a student does it: run the cells, see the request to save, save, run %grade, and
    read the score in the report shown under the cell."""
    from tests.integration.browser import browser

    root = tmp_path / "home"
    root.mkdir()
    # the extension loaded at the top, as the README says: it then sees every cell run
    cells = ["%load_ext grader", *nbs.homework(), "%grade"]
    nbs.write_notebook(cells, root / "hw.ipynb", kernel_name="python3")
    # the Lab's built front end lives with the test's own venv, not the student's
    lab_assets = Path(sys.prefix) / "share" / "jupyter" / "lab"
    server = Server(installed, root, "jupyterlab", JUPYTERLAB_DIR=str(lab_assets))
    try:
        with browser() as instance:
            page = instance.new_page(viewport={"width": 1200, "height": 900})
            try:
                page.goto(f"{server.base}/lab/tree/hw.ipynb?token={server.token}")
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                page.wait_for_selector("#jp-main-statusbar >> text=Idle", timeout=60_000)
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                # the %grade cell (running it adds an empty cell below, so not "last")
                last = page.locator(".jp-Notebook .jp-Cell").nth(len(cells) - 1)
                # the cells ran after the file was saved: %grade asks to save first
                # (cells out of view are in the page but not painted: wait for "attached")
                last.locator(".jp-OutputArea-output", has_text="먼저 저장").wait_for(
                    state="attached", timeout=45_000
                )
                last.scroll_into_view_if_needed()
                page.keyboard.press("Control+s")
                page.wait_for_function(
                    "() => !document.querySelector('.jp-mod-dirty')", timeout=30_000
                )
                last.locator(".jp-InputArea-editor").click()
                page.keyboard.press("Shift+Enter")
                last.locator("iframe").wait_for(state="attached", timeout=45_000)
                last.scroll_into_view_if_needed()
                frame = last.frame_locator("iframe")
                frame.locator("#score-value").wait_for(state="attached", timeout=30_000)
                assert frame.locator("#score-value").inner_text() == "100"
                assert last.locator(".jp-OutputArea", has_text="채점한 파일").count() == 1
                assert frame.locator("img").count() >= 2
            finally:  # what the student would have seen, kept beside the test's files
                page.screenshot(path=str(tmp_path / "lab.png"), full_page=True)
    finally:
        server.stop()
