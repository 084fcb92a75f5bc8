#!/usr/bin/env python3
"""A local stand-in for the SCS compliance monitor's `POST /reports` (test use only).

Python 3 standard library only. It follows the rules of the real monitor
(`compliance-monitor/monitor.py`, see docs/publish.md):

1. HTTP Basic auth must match --user/--password          else 401 "Incorrect username or password"
                                                          (no header: 401 "Not authenticated")
2. Content-Type is application/x-signed-yaml or -json    else 415 "Unsupported content type"
3. body = signature + "&" + report, split on SEP          else 401 "missing signature"
4. `ssh-keygen -Y verify -f allowed_signers -I mail@csp.eu -n report -s SIG < REPORT`
   against --public-key                                   else 401 "verification failed"
5. every document's `subject` is --subject or one of the --delegate subjects
                                                          else 401 "delegation problem?"
6. no document's `run.uuid` is stored already            else 409 "Conflict: report already present"
7. store the report bytes as STORE/<run.uuid>.yaml|json and answer 200 `null`.

It listens on 127.0.0.1 (or --host) on a free port, prints `PORT=<n>` as its first stdout line, and stops by
itself after --max-seconds. Secrets are never logged (only the request line is).
"""

import argparse
import base64
import binascii
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEP = "-----END SSH SIGNATURE-----\n&"
CONTENT_TYPES = ("application/x-signed-yaml", "application/x-signed-json")
SIGNER_ID = "mail@csp.eu"


def yaml_documents(text):
    """Split a YAML stream into documents on `---` lines (what scs-compliance-check writes)."""
    docs, current = [], []
    for line in text.splitlines():
        if line == "---" or line.startswith("--- "):
            if any(l.strip() and not l.lstrip().startswith("#") for l in current):
                docs.append(current)
            current = []
        elif line == "...":
            continue
        else:
            current.append(line)
    if any(l.strip() and not l.lstrip().startswith("#") for l in current):
        docs.append(current)
    return docs


def scalar(value):
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def yaml_fields(lines):
    """Top-level `subject` and `run.uuid` of one block-style YAML document, without a YAML lib."""
    subject, uuid, in_run, run_indent = None, None, False, None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if indent == 0:
            in_run = stripped.startswith("run:")
            run_indent = None
            if stripped.startswith("subject:"):
                subject = scalar(stripped[len("subject:"):])
            if stripped.startswith("run:") and stripped[4:].strip().startswith("{"):
                # flow style: run: {uuid: ..., ...}
                for part in stripped[4:].strip().strip("{}").split(","):
                    if part.strip().startswith("uuid:"):
                        uuid = scalar(part.strip()[len("uuid:"):])
            continue
        if in_run:
            if run_indent is None:
                run_indent = indent
            if indent == run_indent and stripped.startswith("uuid:") and uuid is None:
                uuid = scalar(stripped[len("uuid:"):])
    return subject, uuid


def report_fields(content_type, text):
    """List of (subject, run_uuid) per document; raises ValueError if unparsable."""
    if content_type.endswith("-json"):
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
        out = []
        for doc in docs:
            if not isinstance(doc, dict):
                raise ValueError("report document is not an object")
            out.append((doc.get("subject"), (doc.get("run") or {}).get("uuid")))
        return out
    return [yaml_fields(doc) for doc in yaml_documents(text)]


class Monitor:
    def __init__(self, args):
        self.user = args.user
        self.password = args.password
        self.subjects = {args.subject, *args.delegate}
        with open(args.public_key, encoding="utf-8") as f:
            keytype, key = f.read().split()[:2]
        self.allowed_signers = f"{SIGNER_ID} {keytype} {key}\n"
        self.store = args.store
        self.lock = threading.Lock()
        self.ssh_keygen = shutil.which("ssh-keygen")
        os.makedirs(self.store, exist_ok=True)

    def check_auth(self, header):
        if not header or not header.lower().startswith("basic "):
            return "Not authenticated"
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "Invalid authentication credentials"
        if user != self.user or password != self.password:
            return "Incorrect username or password"
        return None

    def verify(self, signature, report):
        with tempfile.TemporaryDirectory() as tmp:
            allowed = os.path.join(tmp, "allowed_signers")
            sig = os.path.join(tmp, "report.sig")
            with open(allowed, "w", encoding="utf-8") as f:
                f.write(self.allowed_signers)
            with open(sig, "w", encoding="utf-8") as f:
                f.write(signature)
            proc = subprocess.run(
                [self.ssh_keygen, "-Y", "verify", "-f", allowed, "-I", SIGNER_ID, "-n", "report", "-s", sig],
                input=report.encode("utf-8"),
                capture_output=True,
                check=False,
            )
            return proc.returncode == 0

    def post_reports(self, headers, body):
        """Return (status, detail-or-None)."""
        problem = self.check_auth(headers.get("Authorization"))
        if problem:
            return 401, problem
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            return 415, "Unsupported content type"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return 400, "body is not UTF-8"
        sep = text.find(SEP)
        if sep < 0:
            return 401, "missing signature"
        sep += len(SEP)
        signature, report = text[: sep - 1], text[sep:]
        if not self.verify(signature, report):
            return 401, "verification failed"
        try:
            fields = report_fields(content_type, report)
        except ValueError as exc:
            return 400, f"cannot parse report: {exc}"
        if not fields:
            return 400, "empty report"
        for subject, uuid in fields:
            if subject not in self.subjects:
                return 401, "delegation problem?"
            if not uuid:
                return 400, "report without run.uuid"
        ext = "json" if content_type.endswith("-json") else "yaml"
        with self.lock:
            for _, uuid in fields:
                if os.path.exists(os.path.join(self.store, f"{uuid}.{ext}")):
                    return 409, "Conflict: report already present"
            uuid = fields[0][1]
            with open(os.path.join(self.store, f"{uuid}.{ext}"), "wb") as f:
                f.write(report.encode("utf-8"))
            for _, other in fields[1:]:
                with open(os.path.join(self.store, f"{other}.{ext}"), "wb") as f:
                    f.write(b"")  # marks the uuid as stored; the bytes live under the first one
        return 200, None


def make_handler(monitor):
    class Handler(BaseHTTPRequestHandler):
        server_version = "scs-monitor-stub/1"

        def answer(self, status, detail):
            payload = json.dumps({"detail": detail} if detail is not None else None).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Compliance monitor"')
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            if self.path == "/healthz":
                self.answer(200, None)
            else:
                self.answer(404, "Not Found")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path.rstrip("/") != "/reports":
                self.answer(404, "Not Found")
                return
            status, detail = monitor.post_reports(self.headers, body)
            self.answer(status, detail)

        def log_message(self, fmt, *args):  # request line and status only, never headers
            sys.stderr.write("monitor-stub: " + (fmt % args) + "\n")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="directory for accepted reports")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--public-key", required=True, help="the account's OpenSSH public key file")
    parser.add_argument("--subject", required=True, help="the account's subject")
    parser.add_argument("--delegate", action="append", default=[], help="subject delegating to the account")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (only loopback or a testenv address: pods of the real node reach 10.201.0.1)")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop after this long")
    args = parser.parse_args()

    server = ThreadingHTTPServer((args.host, args.port), make_handler(Monitor(args)))
    server.daemon_threads = True
    print(f"PORT={server.server_address[1]}", flush=True)
    deadline = time.monotonic() + args.max_seconds

    def stop_at_deadline():
        while time.monotonic() < deadline:
            time.sleep(0.2)
        server.shutdown()

    threading.Thread(target=stop_at_deadline, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
