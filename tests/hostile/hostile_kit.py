"""Hostile submissions, each a small real one that tries one thing, and the checks around a run.

Every hostile notebook gets the paths it attacks base64-encoded in its source, so the
executed notebook shows a path (or a key, a secret, a marker) only if the attack *read*
it; what it found is printed by label and sha256, never echoed from its own source.
Every process a hostile submission starts carries TAG in its command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.sandbox.local.uids import LOCAL_UID_COUNT, LOCAL_UID_FIRST

REPO = Path(__file__).resolve().parents[2]
SERVING_FIXTURES = REPO / "tests" / "serving" / "fixtures"
SHARED_REQUIREMENTS = SERVING_FIXTURES / "requirements.txt"
TAG = f"hostile-{uuid.uuid4().hex[:10]}"
# The Docker sandbox's user, and the pool the local backend takes a user of its own from.
SANDBOX_UIDS = {str(uid) for uid in (10001, *range(LOCAL_UID_FIRST, LOCAL_UID_FIRST + LOCAL_UID_COUNT))}
# Big files are compared by size and sampled content: the huge-file case is a sparse 64 GB file.
_SAMPLED_OVER = 64 * 1024**2

POLICY = """\
[notebook]
memory_mb = 1024
cpus = 1.0
pids = 128
cell_timeout_s = 15
total_timeout_s = 45
scoring_timeout_s = 90
max_output_chars_per_cell = 20000
max_images_per_cell = 8
tmpfs_mb = 64
network = false
disk_mb = 256
max_files = 5000
log_mb = 2
max_copy_mb = 64

[service]
memory_mb = 512
cpus = 1.0
pids = 64
tmpfs_mb = 16
read_only_root = true
network = false
startup_timeout_s = 10
request_timeout_s = 2.0
log_mb = 2

[build]
timeout_s = 20
max_log_chars = 50000
memory_mb = 1024

[probe]
rates = [50, 150]
step_duration_s = 2
warmup_s = 0.5
"""
QUICK_SERVING = (
    "load_rates = [50.0, 150.0]\nload_step_s = 2.0\nload_warmup_s = 0.5\nquality_budget_s = 30.0\n"
    "oversized_batch_rows = 2000\nkeep_layer_cache = true\n"
)


@dataclass
class Targets:
    """What the hostile code goes after: the grader's secrets and everything outside its folder."""

    root: Path
    key: Path
    submissions: Path
    reports: Path
    work_base: Path
    home_canary: Path
    tmp_canary: Path
    listener_port: int
    gateway: str
    secret: str
    markers: dict[str, str] = field(default_factory=dict)

    def encoded(self, paths: dict[str, str | Path]) -> str:
        return base64.b64encode(json.dumps({k: str(v) for k, v in paths.items()}).encode()).decode()


def bridge_gateway(client) -> str:
    """The host's address on Docker's default bridge, where hostile code looks for the grader.

    A freshly started engine's IPAM config holds only the subnet (no "Gateway"); the gateway
    is then the address of the bridge interface itself (docker0)."""
    network = client.networks.get("bridge")
    configs = (network.attrs.get("IPAM") or {}).get("Config") or []
    for config in configs:
        if config.get("Gateway"):
            return str(config["Gateway"]).split("/")[0]
    interface = (network.attrs.get("Options") or {}).get("com.docker.network.bridge.name") or "docker0"
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", interface], capture_output=True, text=True)
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", shown.stdout)
    if match is None:
        raise RuntimeError(
            f"cannot tell the host's address on Docker's bridge: IPAM config {configs}, "
            f"interface {interface}: {(shown.stdout + shown.stderr).strip() or 'no IPv4 address'}"
        )
    return match.group(1)


def cell_outputs(folder: Path) -> str:
    """Everything the executed notebooks in `folder` printed or returned (their sources left out)."""
    texts = []
    for path in sorted(folder.glob("*.ipynb")):
        for cell in json.loads(path.read_text(errors="replace")).get("cells", []):
            for output in cell.get("outputs", []):
                text = output.get("text") or (output.get("data") or {}).get("text/plain") or output.get("traceback")
                texts.append("".join(text) if isinstance(text, list) else str(text or ""))
                texts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}" if "ename" in output else "")
    return "\n".join(texts)


def notebook(path: Path, sources: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(book, path)


def _prelude(targets: Targets, paths: dict[str, str | Path]) -> str:
    return (
        "import base64, glob, hashlib, json, os, socket, subprocess, sys, time\n"
        f"TARGETS = json.loads(base64.b64decode({targets.encoded(paths)!r}).decode())\n"
        "def sha(data):\n    return hashlib.sha256(data).hexdigest()\n"
        "def attempt(label, action):\n"
        "    try:\n        result = action()\n        print(label, 'OK', result)\n        return result\n"
        # The paths were planted by the test, not leaked by the grader: echo them by label only.
        "    except BaseException as exc:\n        message = str(exc)\n"
        "        for name, target in sorted(TARGETS.items(), key=lambda item: -len(item[1])):\n"
        "            message = message.replace(target, f'<{name}>')\n"
        "        print(label, 'blocked', type(exc).__name__, message[:80])\n"
        "def read(path):\n    data = open(path, 'rb').read(4_000_000)\n    return f'READ {len(data)} bytes sha {sha(data)}: {data[:300]!r}'\n"
    )


def _marker(folder: Path, candidate: str, targets: Targets) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    marker = f"MARKER-{candidate}-{uuid.uuid4().hex}"
    (folder / "marker.txt").write_text(marker)
    targets.markers[candidate] = marker


def _readme(folder: Path, text: str) -> None:
    (folder / "README.md").write_text(f"# {folder.name}\n\n{text}\n")


# --- the honest submission ----------------------------------------------------------------

# The world the honest submission is graded on: its sources name churn-v1's fixed columns.
HONEST_SPEC = "churn-v1"
HONEST_SOURCES = [
    "import os\nimport mlflow, mlflow.sklearn\nimport pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import average_precision_score\n"
    "from sklearn.model_selection import train_test_split\nfrom sklearn.impute import SimpleImputer\n"
    "from sklearn.pipeline import make_pipeline\n"
    "df = pd.read_parquet('data/churn.parquet')\nprint(df.shape, df['churned_next_30d'].mean())\n"
    "print(open('marker.txt').read())",
    "features = ['tenure_months', 'monthly_charges', 'support_calls_30d', 'days_since_last_login', "
    "'late_payments_12m', 'satisfaction_score']\n"
    "X, y = df[features], df['churned_next_30d']\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)\n"
    "model = make_pipeline(SimpleImputer(strategy='median'), LogisticRegression(max_iter=500, "
    "class_weight='balanced')).fit(X_train, y_train)\n"
    "pr_auc = average_precision_score(y_test, model.predict_proba(X_test)[:, 1])\nprint('PR-AUC', round(pr_auc, 3))",
    "mlflow.set_experiment('churn')\n"
    "with mlflow.start_run(run_name='logreg_baseline'):\n"
    "    mlflow.log_param('model', 'logistic_regression')\n    mlflow.log_metric('pr_auc', pr_auc)\n"
    "    mlflow.sklearn.log_model(model, name='model', input_example=X_train.head(3), "
    "serialization_format='cloudpickle')\nprint('logged')",
]


def honest(root: Path, targets: Targets) -> Path:
    folder = root / "honest"
    _marker(folder, "honest", targets)
    notebook(folder / "churn_model.ipynb", HONEST_SOURCES)
    _readme(folder, "A logistic regression baseline, logged to MLflow. PR-AUC is the metric: churn is rare.")
    return folder


# --- notebook-side attacks ------------------------------------------------------------------


def read_key(root: Path, targets: Targets, name: str = "read-key") -> Path:
    folder = root / name
    _marker(folder, name, targets)
    paths = {
        "key-json": targets.key / "answer_key.json",
        "labels": targets.key / "holdout" / "labels.parquet",
        "holdout-features": targets.key / "holdout" / "features.parquet",
        "key-dir": targets.key,
        "repo-demo-key": REPO / "out" / "demo" / "key" / "answer_key.json",
        "other-candidate-marker": targets.submissions / "honest" / "marker.txt",
        "other-candidate-folder": targets.submissions / "honest",
        "submissions": targets.submissions,
        "reports": targets.reports,
        "honest-evidence": targets.reports / "_graded" / "honest" / "evidence.json",
        "work-base": targets.work_base,
        "root-home": "/root",
        "shadow": "/etc/shadow",
        "docker-socket": "/var/run/docker.sock",
    }
    notebook(
        folder / "steal.ipynb",
        [
            _prelude(targets, paths) + "print(sorted(os.environ.items()))",
            "for label, path in TARGETS.items():\n"
            "    attempt(label, (lambda p=path: read(p)) if not label.endswith(('dir', 'folder', 'submissions', 'reports',"
            " 'base', 'home')) else (lambda p=path: os.listdir(p)))",
            # The grading folder: every ancestor of the working folder and what it holds.
            "here = os.getcwd()\nwhile here != '/':\n    here = os.path.dirname(here)\n"
            "    listing = attempt('ancestor', lambda: os.listdir(here))\n"
            "    for name in listing or []:\n        attempt('sibling', lambda: os.listdir(os.path.join(here, name)))",
            # Every process the sandbox can see: its command line and its environment.
            "for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):\n"
            "    attempt(f'cmdline {pid}', lambda: open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ')[:400])\n"
            "    attempt(f'environ {pid}', lambda: open(f'/proc/{pid}/environ', 'rb').read().replace(b'\\0', b' ')[:2000])\n"
            "attempt('parent environ', lambda: open(f'/proc/{os.getppid()}/environ', 'rb').read()[:2000])",
            # Guessed places of a key anywhere the sandbox can look (bounded walk).
            "found = []\nfor top in ('/tmp', '/work', '/root', '/home', '/srv', '/opt', '/mnt', '/data', '/var/tmp'):\n"
            "    for base, dirs, files in os.walk(top):\n"
            "        if base.count('/') > 6:\n            dirs[:] = []\n"
            "        found += [os.path.join(base, f) for f in files if 'answer_key' in f or f == 'labels.parquet']\n"
            "for path in found[:20]:\n    attempt('guessed', lambda: read(path))\nprint('guessed files', len(found))",
        ],
    )
    return folder


def network(root: Path, targets: Targets, with_service: bool = True) -> Path:
    """Connects to the test's listener from the notebook, and from a build step and the service."""
    folder = root / "network"
    _marker(folder, "network", targets)
    probe = (
        "import socket\n"
        "def own_gateway():\n"
        "    for line in open('/proc/net/route').read().splitlines()[1:]:\n"
        "        fields = line.split()\n"
        "        if fields[1] == '00000000':\n"
        "            return socket.inet_ntoa(bytes.fromhex(fields[2])[::-1])\n"
        # The first address of each network it is attached to: a bridge's gateway, the grader's end of a veth pair.
        "def neighbours():\n"
        "    found = []\n"
        "    for line in open('/proc/net/route').read().splitlines()[1:]:\n"
        "        fields = line.split()\n"
        "        if fields[1] != '00000000' and fields[2] == '00000000':\n"
        "            network = int.from_bytes(bytes.fromhex(fields[1])[::-1], 'big')\n"
        "            found.append(socket.inet_ntoa((network + 1).to_bytes(4, 'big')))\n"
        "    return found\n"
        f"def reach(where):\n    results = []\n"
        f"    for host in dict.fromkeys(h for h in ({targets.gateway!r}, own_gateway(), *neighbours(), '127.0.0.1') if h):\n"
        "        try:\n"
        f"            socket.create_connection((host, {targets.listener_port}), timeout=3).close()\n"
        "            results.append(f'{where} {host} REACHED')\n"
        "        except OSError as exc:\n"
        "            results.append(f'{where} {host} blocked {type(exc).__name__}')\n"
        "    return results\n"
    )
    notebook(
        folder / "phone_home.ipynb",
        [
            probe + "print(reach('notebook'))",
            "import urllib.request\ntry:\n"
            f"    urllib.request.urlopen('http://{targets.gateway}:{targets.listener_port}/', timeout=3)\n"
            "    print('http REACHED')\nexcept Exception as exc:\n"
            "    print('http blocked', type(exc).__name__)",
        ],
    )
    if with_service:
        (folder / "probe.py").write_text(probe)
        (folder / "app.py").write_text(
            "from fastapi import FastAPI\nfrom probe import reach\n\nRESULTS = reach('service')\n"
            "print(RESULTS, flush=True)\napp = FastAPI()\n\n\n@app.get('/health')\ndef health():\n"
            "    return {'status': 'ok', 'reach': RESULTS}\n\n\n@app.post('/predict')\ndef predict(row: dict):\n"
            "    return {'churn_probability': 0.05}\n"
        )
        shutil.copy(SHARED_REQUIREMENTS, folder / "requirements.txt")
        # The probe's lines must stay in the evidence's log tails: no access log, the build's attempt last.
        (folder / "Dockerfile").write_text(
            "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --no-cache-dir -r requirements.txt\nEXPOSE 8000\n"
            'CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]\n'
            "COPY probe.py app.py ./\n"
            "RUN python -c \"from probe import reach; print(*reach('build'), sep='\\\\n')\"\n"
        )
    return folder


def fork_bomb(root: Path, targets: Targets) -> Path:
    folder = root / "fork-bomb"
    _marker(folder, "fork-bomb", targets)
    notebook(
        folder / "bomb.ipynb",
        [
            "print('before')",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
            "print('after')",
        ],
    )
    return folder


def memory_hog(root: Path, targets: Targets) -> Path:
    folder = root / "memory-hog"
    _marker(folder, "memory-hog", targets)
    notebook(
        folder / "hog.ipynb",
        ["print('before')", "hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 1024 * 1024))"],
    )
    return folder


def infinite_loop(root: Path, targets: Targets) -> Path:
    folder = root / "infinite-loop"
    _marker(folder, "infinite-loop", targets)
    notebook(folder / "loop.ipynb", ["print('before')", "while True:\n    pass", "print('never')"])
    return folder


def disk_fill(root: Path, targets: Targets) -> Path:
    folder = root / "disk-fill"
    _marker(folder, "disk-fill", targets)
    notebook(
        folder / "fill.ipynb",
        [
            "import os\nchunk = os.urandom(1 << 20)\ntry:\n    with open('/tmp/fill.bin', 'wb') as out:\n"
            "        while True:\n            out.write(chunk)\nexcept OSError as exc:\n    print('/tmp full', exc)",
            "try:\n    with open('one-big-file.bin', 'wb') as out:\n        while True:\n            out.write(chunk)\n"
            "except OSError as exc:\n    print('one file capped', exc)",
            "for n in range(10_000):\n    with open(f'filler-{n}.bin', 'wb') as out:\n        out.write(chunk * 8)",
        ],
    )
    return folder


def gigabyte_print(root: Path, targets: Targets) -> Path:
    """Gigabytes into a cell's output, then straight to the process's stdout (the engine's log)."""
    folder = root / "gigabyte-print"
    _marker(folder, "gigabyte-print", targets)
    notebook(
        folder / "a_cell_output.ipynb",
        ["block = 'x' * (1 << 20)\nfor _ in range(4096):\n    print(block)", "print('still alive')"],
    )
    notebook(
        folder / "b_process_output.ipynb",
        ["import os\nblock = b'y' * (1 << 20)\nfor _ in range(256):\n    os.write(1, block)\nprint('256 MB to fd 1')"],
    )
    return folder


def writes_outside(root: Path, targets: Targets) -> Path:
    folder = root / "writes-outside"
    _marker(folder, "writes-outside", targets)
    paths = {
        "home-canary": targets.home_canary,
        "tmp-canary": targets.tmp_canary,
        "repo-file": REPO / "grader" / "__init__.py",
        "repo-new": REPO / f"{TAG}.txt",
        "honest-report": targets.reports / "honest" / "report.json",
        "own-original": targets.submissions / "writes-outside" / "marker.txt",
        "other-original": targets.submissions / "honest" / "churn_model.ipynb",
        "key-json": targets.key / "answer_key.json",
        "work-base": targets.work_base / f"{TAG}.txt",
        "root-home": f"/root/{TAG}.txt",
        "etc": f"/etc/{TAG}.txt",
        "next-to-run": targets.root / f"{TAG}.txt",
    }
    notebook(
        folder / "scribble.ipynb",
        [
            _prelude(targets, paths) + "for label, path in TARGETS.items():\n"
            f"    attempt(label, lambda p=path: open(p, 'a').write('{TAG}'))",
            f"attempt('home', lambda: open(os.path.join(os.environ.get('HOME', '/tmp'), '{TAG}'), 'w').write('x'))\n"
            f"attempt('tmp', lambda: open('/tmp/{TAG}', 'w').write('x'))\n"
            f"attempt('data', lambda: open('data/churn.parquet', 'ab').write(b'x'))\n"
            f"attempt('data-new', lambda: open('data/{TAG}', 'w').write('x'))",
        ],
    )
    return folder


BACKGROUND = (
    "import os, subprocess, sys\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)', '{tag}-setsid'], start_new_session=True)\n"
    "subprocess.Popen(f\"nohup {{sys.executable}} -c 'import time; time.sleep(3600)' {tag}-nohup >/dev/null 2>&1 &\", "
    "shell=True)\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(3600)', '{tag}-daemon'])\n"
    "    os._exit(0)\n"
    "os.waitpid(child, 0)\nprint('three background processes started')"
)


def background(root: Path, targets: Targets) -> Path:
    folder = root / "background"
    _marker(folder, "background", targets)
    notebook(folder / "linger.ipynb", [BACKGROUND.format(tag=TAG), "print('notebook ends')"])
    return folder


def forger(root: Path, targets: Targets) -> Path:
    folder = root / "forger"
    _marker(folder, "forger", targets)
    fake_report = {
        "schema_version": "report/1",
        "candidate": "forger",
        "total": 100,
        "bonus": 5,
        "passed": True,
        "verdict": "pass",
        "forged": TAG,
    }
    fake_state = {"schema_version": "cohort-state/1", "candidate": "forger", "outcome": "graded", "forged": TAG}
    fake_status = {"forged.ipynb": {"seconds": 1, "error": None, "cells": [], "forged": TAG}}
    paths = {
        "reports-evidence": targets.reports / "_graded" / "forger" / "evidence.json",
        "reports-report": targets.reports / "forger" / "report.json",
        "reports-state": targets.reports / "_cohort" / "state" / "forger.json",
        "honest-report": targets.reports / "honest" / "report.json",
        "summary": targets.reports / "summary.json",
    }
    documents = base64.b64encode(
        json.dumps({"report": fake_report, "state": fake_state, "status": fake_status}).encode()
    ).decode()
    notebook(
        folder / "forge.ipynb",
        [
            _prelude(targets, paths) + f"DOCS = json.loads(base64.b64decode({documents!r}).decode())\n"
            "for name, doc in (('evidence.json', DOCS['report']), ('report.json', DOCS['report']),"
            " ('state.json', DOCS['state'])):\n    attempt(name, lambda: open(name, 'w').write(json.dumps(doc)))\n"
            "for label, path in TARGETS.items():\n"
            "    attempt(label, lambda p=path: (os.makedirs(os.path.dirname(p), exist_ok=True), "
            "open(p, 'w').write(json.dumps(DOCS['state' if 'state' in label else 'report']))))",
            # The runner's output folder is on its command line: forge its status file, now and later.
            "outs = []\nfor pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    try:\n        argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n    except OSError:\n"
            "        continue\n    if b'--out' in argv:\n        outs.append(argv[argv.index(b'--out') + 1].decode())\n"
            "for out in outs:\n    attempt('status', lambda: open(os.path.join(out, 'status.json'), 'w').write("
            "json.dumps(DOCS['status'])))\n"
            "    attempt('executed', lambda: open(os.path.join(out, 'forge.ipynb'), 'w').write('{}'))\n"
            "forever = ('import json, sys, time\\nend = time.time() + 120\\nwhile time.time() < end:\\n'\n"
            "           '    try:\\n        open(sys.argv[1], \"w\").write(sys.argv[2])\\n    except OSError:\\n        pass\\n'\n"
            "           '    time.sleep(0.01)\\n')\n"
            "for out in outs:\n    subprocess.Popen([sys.executable, '-c', forever, os.path.join(out, 'status.json'), "
            f"json.dumps(DOCS['status']), '{TAG}-forger'], start_new_session=True)\n"
            "print('outs', len(outs))",
            "print('forger: 100/100 (+5 bonus), PASS; red flags: none')\n"
            "print('| forger | graded | 100 | 5 | pass | - | - |')",
        ],
    )
    return folder


def symlinks(root: Path, targets: Targets) -> Path:
    folder = root / "symlinks"
    _marker(folder, "symlinks", targets)
    key_json = targets.key / "answer_key.json"
    (folder / "key").symlink_to(targets.key)
    (folder / "answer.json").symlink_to(key_json)
    (folder / "etc").symlink_to("/etc")
    (folder / "README.md").symlink_to(key_json)
    (folder / "stolen.ipynb").symlink_to(key_json)
    store = folder / "mlruns" / "0"
    store.mkdir(parents=True)
    (store / "meta.yaml").write_text(
        "artifact_location: file:///nowhere/mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n"
    )
    (store / "leak.yaml").symlink_to(key_json)
    (store / "zero").symlink_to("/dev/zero")
    (folder / "mlruns" / "etc").symlink_to("/etc")
    planted = {"dockerignore": ".dockerignore", "requirements": "requirements.txt", "store": "mlruns-planted"}
    notebook(
        folder / "links.ipynb",
        [
            _prelude(targets, {"key": key_json})
            + "for label, path in (('key', 'key/answer_key.json'), ('answer', 'answer.json'), ('etc', 'etc/hostname'),"
            " ('readme', 'README.md')):\n    attempt(label, lambda p=path: read(p))",
            # Links planted at run time for the grader to trip over when it reads this folder afterwards.
            "for name in " + repr(list(planted.values())) + ":\n"
            "    attempt('plant ' + name, lambda n=name: os.symlink(TARGETS['key'], n))\n"
            "attempt('plant fifo', lambda: os.mkfifo('Dockerfile'))",
        ],
    )
    return folder


def bad_notebook(root: Path, targets: Targets) -> Path:
    folder = root / "bad-notebook"
    _marker(folder, "bad-notebook", targets)
    (folder / "analysis.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "print(1)", "outputs": [')
    _readme(folder, "My notebook.")
    return folder


def binary_readme(root: Path, targets: Targets) -> Path:
    folder = root / "binary-readme"
    _marker(folder, "binary-readme", targets)
    (folder / "README.md").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(64 * 1024))
    return folder


def huge_readme(root: Path, targets: Targets) -> Path:
    folder = root / "huge-readme"
    _marker(folder, "huge-readme", targets)
    line = b"Monitoring: drift of every feature, checked weekly with a PSI threshold of 0.2. " * 8 + b"\n"
    with open(folder / "README.md", "wb") as out:
        for _ in range((50 * 1024**2) // len(line) + 1):
            out.write(line)
    return folder


HUGE_FILE_BYTES = 64 * 1024**3


def huge_file(root: Path, targets: Targets) -> Path:
    folder = root / "huge-file"
    _marker(folder, "huge-file", targets)
    with open(folder / "features.dat", "wb") as out:
        out.truncate(HUGE_FILE_BYTES)  # sparse: 64 GB on paper, nothing on disk
    notebook(
        folder / "peek.ipynb",
        ["import os\nprint(os.path.exists('features.dat'), sorted(os.listdir('.')))", "print('done')"],
    )
    return folder


def zip_bomb(root: Path, targets: Targets, name: str = "zip-bomb") -> Path:
    """A submission holding a zip that expands ~1000-fold; and the same zip beside the submissions."""
    folder = root / name
    _marker(folder, name, targets)
    bomb = folder / "data-archive.zip"
    zero = b"\0" * (1 << 20)
    with (
        zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("expanded-bomb-member.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(512):
            member.write(zero)
    shutil.copy(bomb, root / "candidate-sent-a.zip")
    notebook(folder / "look.ipynb", ["import os\nprint(sorted(os.listdir('.')))", "print('done')"])
    return folder


# --- service-side attacks -------------------------------------------------------------------


def _service(root: Path, targets: Targets, name: str, fixture: str | None, dockerfile: str | None = None) -> Path:
    folder = root / name
    _marker(folder, name, targets)
    shutil.copy(SHARED_REQUIREMENTS, folder / "requirements.txt")
    if fixture:
        for path in (SERVING_FIXTURES / fixture).iterdir():
            shutil.copy(path, folder / path.name)
    if dockerfile:
        (folder / "Dockerfile").write_text(dockerfile)
    return folder


def build_never_ends(root: Path, targets: Targets) -> Path:
    return _service(
        root,
        targets,
        "build-never-ends",
        None,
        "FROM python:3.11-slim\nRUN echo waiting for a model that never arrives && sleep 100000\n"
        'CMD ["python", "-m", "http.server", "8000"]\n',
    )


def exits_at_once(root: Path, targets: Targets) -> Path:
    return _service(root, targets, "exits-at-once", "exits")


def never_healthy(root: Path, targets: Targets) -> Path:
    """Sleeps forever at import of the service."""
    return _service(root, targets, "never-healthy", "neverhealthy")


def dies_under_load(root: Path, targets: Targets) -> Path:
    return _service(root, targets, "dies-under-load", "dies")


# --- the listener, snapshots and leftovers --------------------------------------------------


class Listener:
    """A TCP listener on 0.0.0.0 that records every connection it accepts."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("0.0.0.0", 0))
        self.server.listen(64)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self.server.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


def file_digest(path: Path) -> str:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return f"link {os.readlink(path)}"
    digest = hashlib.sha256(f"{stat.S_IMODE(info.st_mode):o} {info.st_size}".encode())
    with open(path, "rb") as handle:
        if info.st_size > _SAMPLED_OVER:
            digest.update(handle.read(1 << 20))
            handle.seek(info.st_size - (1 << 20))
            digest.update(handle.read(1 << 20))
            digest.update(str(info.st_mtime_ns).encode())
        else:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file, folder and link under `root` (links not followed), with a content digest."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        dirs[:] = [
            d
            for d in dirs
            if os.path.normpath(os.path.join(rel_folder, d)) not in skip
            and d not in ("__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache")
        ]
        for name in dirs:
            path = Path(folder, name)
            if path.is_symlink():
                found[os.path.relpath(path, root)] = file_digest(path)
        for name in files:
            path = Path(folder, name)
            rel = os.path.relpath(path, root)
            if rel not in skip:
                found[rel] = file_digest(path)
    return found


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def tagged_processes(tag: str = TAG) -> list[str]:
    """Processes anywhere on this host whose command line carries the hostile tag."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if tag in text:
            found.append(f"{cmdline.parent.name}: {text[:200]}")
    return found


def sandbox_processes() -> dict[int, str]:
    """Processes running as a sandbox user, with the container (if any) each belongs to."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cgroup = (status.parent / "cgroup").read_text()
        except OSError:
            continue
        if any(
            line.split()[1:2] and line.split()[1] in SANDBOX_UIDS
            for line in text.splitlines()
            if line.startswith("Uid:")
        ):
            container = next(
                (
                    part.split("/")[-1]
                    for part in cgroup.replace(":", "\n").splitlines()
                    if "docker" in part and len(part.split("/")[-1]) == 64
                ),
                "",
            )
            found[int(status.parent.name)] = container
    return found


def json_logs(client, docker_root: str) -> dict[str, int]:
    """Sizes of the engine's json-file logs of the grader's containers (by container id)."""
    sizes = {}
    for container in client.containers.list(all=True, filters={"label": "org.churn-grader.owner-pid"}):
        log = Path(docker_root, "containers", container.id, f"{container.id}-json.log")
        try:
            sizes[container.id] = log.stat().st_size
        except OSError:
            continue
    return sizes


class LogWatch:
    """Polls the grader's containers' engine logs during a run and keeps the largest seen."""

    def __init__(self, client) -> None:
        self.client = client
        self.root = client.info()["DockerRootDir"]
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                sizes = json_logs(self.client, self.root)
            except Exception:
                continue
            self.largest = max([self.largest, *sizes.values()])

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
