"""IREE-compiled GPU kernels (SPIR-V on vulkan, PTX on cuda) through polyhal command buffers.

Each test skips, with the reason, where the driver has no device (CI runs vulkan on lavapipe
when it is installed; cuda needs an NVIDIA GPU).
"""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal
from polyhal import iree

# A larger f16 matmul: on cuda IREE gives it dynamic shared memory (workgroup_local_memory).
F16_MATMUL = """
func.func @mmh(%a: tensor<512x256xf16>, %b: tensor<256x384xf16>) -> tensor<512x384xf32> {
  %init = tensor.empty() : tensor<512x384xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<512x384xf32>) -> tensor<512x384xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<512x256xf16>, tensor<256x384xf16>)
                      outs(%fill : tensor<512x384xf32>) -> tensor<512x384xf32>
  return %mm : tensor<512x384xf32>
}
"""

REFERENCES = {
    "add": lambda a, b: a + b,
    "matmul_bias": lambda a, b, c: a @ b + c,
    "matmul": lambda a, b: a @ b,
    "mmh": lambda a, b: a.astype(np.float32) @ b.astype(np.float32),
}


def reference(name: str):
    for prefix, fn in REFERENCES.items():
        if name.startswith(prefix + "_dispatch"):
            return fn
    raise AssertionError(f"no reference for {name}")


@pytest.fixture(scope="module", params=["vulkan", "cuda"])
def gpu(request, iree_compiler, tmp_path_factory):
    name = request.param
    if name not in hal.available_drivers():
        pytest.skip(f"no {name} device here")
    with hal.create_device(name) as device:
        dump = iree.compile_mlir(
            iree_compiler["model"], tmp_path_factory.mktemp(f"iree-{name}"), driver=name
        )
        yield device, dump


def run_all(device, dump, rtol):
    rng = np.random.default_rng(0)
    exes = dump.create_executables(device)
    for d in dump:
        *inputs, output = d.bindings
        arrays = [rng.standard_normal(b.shape).astype(b.dtype) for b in inputs]
        buffers = [device.buffer_from(a) for a in arrays]
        out = device.allocate_buffer(output.length)
        with device.create_command_buffer() as cb:
            d.record(cb, exes, [*buffers, out])
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=120)
        got = out.to_numpy(output.dtype, output.shape)
        np.testing.assert_allclose(
            got, reference(d.name)(*arrays), rtol=rtol, atol=rtol, err_msg=d.name
        )


def test_dump_formats(gpu):
    device, dump = gpu
    assert dump.format == {"vulkan": "spirv", "cuda": "ptx"}[device.driver.split(":")[0]]
    for d in dump:
        assert d.workgroup_count is not None
        assert d.entry_point.workgroup_size != (1, 1, 1)


def test_every_dispatch_matches_numpy(gpu):
    device, dump = gpu
    run_all(device, dump, rtol=1e-4)


def test_cuda_dynamic_shared_memory(gpu, tmp_path):
    device, _ = gpu
    if not device.driver.startswith("cuda"):
        pytest.skip("dynamic shared memory is a cuda matter")
    dump = iree.compile_mlir(F16_MATMUL, tmp_path, driver=device.driver)
    (d,) = list(dump)
    assert d.local_memory_size > 0
    run_all(device, dump, rtol=2e-2)
