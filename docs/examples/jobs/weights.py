#!/usr/bin/env python3
# A Hypha job in Python (docs/services.md): reads its input, reports progress twice over the job
# bridge, writes a result file of `mib` MiB (input: {"seed": "...", "mib": 50}). Run it as a
# process executor with result = "file"; the local-stack test runs it and checks the bytes.
import hashlib, http.client, json, os, socket

class Bridge(http.client.HTTPConnection):
    """HTTP over the worker's Unix socket ($HYPHA_JOB_SOCKET)."""
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.environ["HYPHA_JOB_SOCKET"])

def progress(fraction, message):
    bridge = Bridge("job")
    bridge.request("POST", "/v1/progress", json.dumps({"fraction": fraction, "message": message}), {"content-type": "application/json"})
    assert bridge.getresponse().status == 204

params = json.load(open(os.environ["HYPHA_INPUT"]))
progress(0.1, "read the input")
block = hashlib.sha256(params["seed"].encode()).digest() * 32768  # 1 MiB
with open(os.environ["HYPHA_RESULT"], "wb") as out:
    for _ in range(int(params["mib"])):
        out.write(block)
progress(1.0, "weights written")
