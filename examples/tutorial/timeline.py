"""A timeline of a program: trace a few queue operations and a host wait, then open the
file in https://ui.perfetto.dev (or chrome://tracing).

    python examples/tutorial/timeline.py [device] [trace.json]
"""

import json
import os
import sys
import tempfile

import numpy as np

import polyhal as hal

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None)
path = (
    sys.argv[2]
    if len(sys.argv) > 2
    else os.path.join(tempfile.gettempdir(), "polyhal-timeline.json")
)

with device.trace(path):  # only this block is traced; POLYHAL_TRACE=path traces everything
    timeline = device.create_semaphore(0)
    a = device.buffer_from(np.arange(1 << 16, dtype=np.uint32))
    b = device.allocate_buffer(a.size)
    device.queue_copy(a, 0, b, 0, a.size, wait=[(timeline, 1)], signal=[(timeline, 2)])
    device.queue_fill(a, 0, a.size, 0, wait=[(timeline, 2)], signal=[(timeline, 3)])
    device.queue_host_call(lambda: None, wait=[(timeline, 3)], signal=[(timeline, 4)])
    timeline.signal(1)
    timeline.wait(4, timeout=10)

with open(path) as f:
    events = json.load(f)
operations = [
    e["name"]
    for e in events
    if e.get("cat") == "queue" and e["ph"] == "b" and e["name"] not in ("waiting", "running")
]
print(f"{device.driver}: {path}: {operations}")  # ['queue_copy', 'queue_fill', 'queue_host_call']
device.close()
