"""Checked mode: hazards that would silently give wrong results become errors.

    python examples/tutorial/checked_mode.py [device]     # or POLYHAL_CHECKED=1 for all

Two commands between the same barriers may run concurrently, so two overlapping writes
without a barrier are a race; a host read of memory that queued work is about to write
returns whatever is there at that moment.  A checked device reports both.
"""

import sys

import polyhal as hal

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None, checked=True)
buffer = device.allocate_buffer(64)

# A race inside a command buffer: reported at end(), naming both commands.
cb = device.create_command_buffer()
cb.begin()
cb.fill_buffer(buffer, 0, 32, 1)
cb.fill_buffer(buffer, 16, 32, 2)  # overlaps [16, 32) of the first fill
try:
    cb.end()
    raise SystemExit("the race was not reported")
except hal.FailedPreconditionError as error:
    print(f"{device.driver}: {str(error)[:60]}...")

# A host read of bytes that a pending submission writes.
gate = device.create_semaphore(0)
device.queue_fill(buffer, 0, 64, 7, wait=[(gate, 1)], signal=[(gate, 2)])
try:
    buffer.read()
    raise SystemExit("the host hazard was not reported")
except hal.FailedPreconditionError as error:
    print(f"{device.driver}: {str(error)[:60]}...")
gate.signal(1)
assert buffer.read(wait=True) == b"\x07" * 64  # wait=True waits for that submission
device.close()
