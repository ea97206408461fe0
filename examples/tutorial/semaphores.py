"""Timeline semaphores across submissions: the queue orders work by semaphore values,
never by the order of the calls, and a failure flows to everything that waits on it.

    python examples/tutorial/semaphores.py [local | local-sync | vulkan | cuda]
"""

import sys
import threading

import polyhal as hal

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None)
buffer = device.allocate_buffer(16)
timeline = device.create_semaphore(0)

# Submitted in reverse order: each waits on a value the previous one signals.  Every call
# returns at once; nothing runs until the host signals 1.
log = []
device.queue_host_call(
    lambda: log.append("host call"), wait=[(timeline, 3)], signal=[(timeline, 4)]
)
device.queue_update(b"polyhal!", 0, buffer, 8, 8, wait=[(timeline, 2)], signal=[(timeline, 3)])
device.queue_fill(buffer, 0, 8, 0x2A, wait=[(timeline, 1)], signal=[(timeline, 2)])
assert timeline.query() == 0 and log == []

timeline.signal(1)  # the host starts the chain
timeline.wait(4, timeout=10)  # seconds; DeadlineExceededError if it passes
assert buffer.read() == b"********polyhal!" and log == ["host call"]

# Another thread may signal; wait_semaphores waits for ALL (default) or ANY of a list.
other = device.create_semaphore(0)
threading.Timer(0.01, other.signal, (5,)).start()
device.wait_semaphores([(timeline, 4), (other, 5)], timeout=10)

# A failed semaphore fails every submission that waits on it, and their signals.
broken = device.create_semaphore(0)
after = device.create_semaphore(0)
device.queue_barrier(wait=[(broken, 1)], signal=[(after, 1)])
broken.fail(hal.StatusCode.ABORTED, "the producer gave up")
try:
    after.wait(1, timeout=10)
    raise SystemExit("the failure did not propagate")
except hal.AbortedError as error:  # also a RuntimeError
    print(f"{device.driver}: the dependent submission failed: {error}")
device.close()
