"""The Vulkan queue: submissions signal one internal timeline semaphore; a completion
thread waits on it with vkWaitSemaphores and reports each submission done in order.

The HAL's timeline semaphores live in the front end, which calls ``execute`` only once a
submission's waits are met, so no user semaphore reaches Vulkan: a submission just
signals the next value of the device's own timeline.  A timeline signal's first
synchronization scope covers every command earlier in submission order, so values are
reached in order and one thread waiting for the oldest value suffices.

Each submission also waits (at every stage) for the value already completed when it is
submitted.  That wait never blocks, but it is the memory dependency that makes the
writes of earlier, host-ordered submissions visible to this one: the front end orders
dependent submissions on the host, which in itself promises Vulkan nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import vulkan as vk

from ...errors import HalError, InternalError
from .instance import check, error, ffi, handle, lib, new

#: How long the completion thread waits before it looks whether the device closes.
_POLL_NS = 250_000_000


class Queue:
    """One VkQueue, its timeline and the submissions in flight."""

    def __init__(self, device: Any, family: int):
        self.device = device
        out = handle("VkQueue")
        lib.vkGetDeviceQueue(device, family, 0, out)
        self.queue = out[0]
        type_info = new(
            "VkSemaphoreTypeCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                "semaphoreType": vk.VK_SEMAPHORE_TYPE_TIMELINE,
                "initialValue": 0,
            },
        )
        info = new(
            "VkSemaphoreCreateInfo*",
            {"sType": vk.VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, "pNext": type_info},
        )
        sem = handle("VkSemaphore")
        check(lib.vkCreateSemaphore(device, info, ffi.NULL, sem), "vkCreateSemaphore")
        self.timeline = sem[0]
        self.submitted = 0  # the last value a submission will signal
        self.completed = 0
        self._lock = threading.Lock()  # vkQueueSubmit needs the queue externally synced
        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[tuple[int, Callable, Any]] = deque()
        self._closing = False
        self._failure: HalError | None = None
        self._thread: threading.Thread | None = None
        # Reused submit structs (filled under _lock).
        self._value = ffi.new("uint64_t[1]")
        self._wait_value = ffi.new("uint64_t[1]")
        self._sems = ffi.new("VkSemaphore[1]", [self.timeline])
        self._wait_stage = ffi.new(
            "VkPipelineStageFlags[1]", [vk.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT]
        )
        self._timeline_info = new(
            "VkTimelineSemaphoreSubmitInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                "waitSemaphoreValueCount": 1,
                "pWaitSemaphoreValues": self._wait_value,
                "signalSemaphoreValueCount": 1,
                "pSignalSemaphoreValues": self._value,
            },
        )
        self._submit = new(
            "VkSubmitInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_SUBMIT_INFO,
                "pNext": self._timeline_info,
                "waitSemaphoreCount": 1,
                "pWaitSemaphores": self._sems,
                "pWaitDstStageMask": self._wait_stage,
                "signalSemaphoreCount": 1,
                "pSignalSemaphores": self._sems,
            },
        )

    def submit(
        self, command_buffers: Sequence[Any], done: Callable[[HalError | None], None], keep: Any
    ) -> None:
        """Submits command buffers (in order) and calls ``done`` once they completed.

        ``keep`` is held until then (the recordings and what they reference).
        """
        if self._failure is not None:
            raise self._failure
        cbs = ffi.new("VkCommandBuffer[]", list(command_buffers))
        with self._lock:
            value = self.submitted + 1
            self._value[0] = value
            self._wait_value[0] = self.completed
            self._submit.commandBufferCount = len(command_buffers)
            self._submit.pCommandBuffers = cbs
            result = lib.vkQueueSubmit(self.queue, 1, self._submit, ffi.NULL)
            if result < 0:
                raise error(result, "vkQueueSubmit")
            self.submitted = value
            with self._cond:
                self._pending.append((value, done, keep))
                self._cond.notify()
        self._ensure_thread()

    def wait_value(self, value: int) -> None:
        """Blocks the calling thread until the timeline reaches ``value``."""
        info, _values = self._wait_info(value)
        while True:
            result = lib.vkWaitSemaphores(self.device, info, _POLL_NS)
            if result == vk.VK_TIMEOUT:
                continue
            check(result, "vkWaitSemaphores")
            return

    def _wait_info(self, value: int) -> tuple[Any, Any]:
        values = ffi.new("uint64_t[1]", [value])
        info = new(
            "VkSemaphoreWaitInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                "semaphoreCount": 1,
                "pSemaphores": self._sems,
                "pValues": values,
            },
        )
        return info, values

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._complete_loop, daemon=True, name="polyhal-vulkan-completion"
                    )
                    self._thread.start()

    def _complete_loop(self) -> None:
        value_out = ffi.new("uint64_t*")
        info, values = self._wait_info(0)  # the value each wait is for goes into values[0]
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                values[0] = self._pending[0][0]
            result = lib.vkWaitSemaphores(self.device, info, _POLL_NS)
            if result == vk.VK_TIMEOUT:
                continue
            failure = None
            if result < 0:
                failure = error(result, "waiting for the GPU")
            else:
                result = lib.vkGetSemaphoreCounterValue(self.device, self.timeline, value_out)
                if result < 0:
                    failure = error(result, "vkGetSemaphoreCounterValue")
            self._retire(value_out[0], failure)

    def _retire(self, reached: int, failure: HalError | None) -> None:
        finished = []
        with self._cond:
            if failure is not None:
                self._failure = failure
                finished, self._pending = list(self._pending), deque()
            else:
                self.completed = reached
                while self._pending and self._pending[0][0] <= reached:
                    finished.append(self._pending.popleft())
        for _, done, _keep in finished:
            try:
                done(failure)
            except Exception as e:  # a callback's bug must not stop completions
                done(InternalError(f"completion failed: {e!r}"))

    def close(self) -> None:
        """Waits for the GPU, stops the completion thread, destroys the timeline."""
        if self._failure is None and self.submitted:
            try:
                self.wait_value(self.submitted)
            except HalError:
                pass
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        lib.vkDestroySemaphore(self.device, self.timeline, ffi.NULL)
