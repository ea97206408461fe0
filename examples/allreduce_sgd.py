"""Data-parallel training of a tiny linear model: every rank computes the gradient on its
shard of the data, an ALL_REDUCE with AVERAGE makes it the gradient of the whole data
set, and every rank applies the same update, so the ranks' weights stay equal.

    mpiexec -n 2 python examples/allreduce_sgd.py            # local (the CPU)
    mpiexec -n 2 python examples/allreduce_sgd.py vulkan     # or local-sync, cuda

(As root, Open MPI wants ``--allow-run-as-root``; more ranks than cores ``--oversubscribe``.)
Each step is three commands in one command buffer -- the gradient kernel, the all-reduce,
the update kernel -- with barriers between them; ``STEPS_PER_SUBMIT`` steps are recorded
once and the buffer is submitted in a chain of timeline values.  Rank 0 checks the final
weights against plain gradient descent in numpy on the whole data set, in one process.
"""

from __future__ import annotations

import sys

import numpy as np

import polyhal as hal
from polyhal.tools.demo import rank_device

FEATURES = 8  # d: the weights' length
ROWS_PER_RANK = 256  # m: each rank's shard of the data
LEARNING_RATE = 0.05
STEPS, STEPS_PER_SUBMIT = 60, 10

# grad: g[j] = 2/m * sum_i x[i, j] * (x[i, :] . w - y[i]), one workgroup per j.
# update: w[j] -= lr * g[j].
KERNELS_C = r"""
#include "polyhal.h"

POLYHAL_ENTRY(grad) {
  const float* x = (const float*)dispatch->binding_ptrs[0];
  const float* y = (const float*)dispatch->binding_ptrs[1];
  const float* w = (const float*)dispatch->binding_ptrs[2];
  float* g = (float*)dispatch->binding_ptrs[3];
  const uint32_t m = dispatch->push_constants[0], d = dispatch->push_constants[1];
  const uint32_t j = workgroup->workgroup_id_x;
  float sum = 0.0f;
  for (uint32_t i = 0; i < m; ++i) {
    float residual = -y[i];
    for (uint32_t k = 0; k < d; ++k) residual += x[i * d + k] * w[k];
    sum += x[i * d + j] * residual;
  }
  g[j] = 2.0f * sum / (float)m;
  return 0;
}

POLYHAL_ENTRY(update) {
  float* w = (float*)dispatch->binding_ptrs[0];
  const float* g = (const float*)dispatch->binding_ptrs[1];
  union { uint32_t bits; float value; } lr = {dispatch->push_constants[0]};
  const uint32_t j = workgroup->workgroup_id_x;
  w[j] -= lr.value * g[j];
  return 0;
}
"""

GRAD_GLSL = """
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(set = 0, binding = 2) readonly buffer W { float w[]; };
layout(set = 0, binding = 3) writeonly buffer G { float g[]; };
layout(push_constant) uniform Constants { uint m; uint d; };

void main() {
  uint j = gl_WorkGroupID.x;
  float sum = 0.0;
  for (uint i = 0; i < m; ++i) {
    float residual = -y[i];
    for (uint k = 0; k < d; ++k) residual += x[i * d + k] * w[k];
    sum += x[i * d + j] * residual;
  }
  g[j] = 2.0 * sum / float(m);
}
"""

UPDATE_GLSL = """
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer W { float w[]; };
layout(set = 0, binding = 1) readonly buffer G { float g[]; };
layout(push_constant) uniform Constants { float lr; };

void main() {
  uint j = gl_WorkGroupID.x;
  w[j] -= lr * g[j];
}
"""

KERNELS_CUDA = r"""
extern "C" __global__ void grad(const float* x, const float* y, const float* w, float* g,
                                unsigned m, unsigned d) {
  unsigned j = blockIdx.x;
  float sum = 0.0f;
  for (unsigned i = 0; i < m; ++i) {
    float residual = -y[i];
    for (unsigned k = 0; k < d; ++k) residual += x[i * d + k] * w[k];
    sum += x[i * d + j] * residual;
  }
  g[j] = 2.0f * sum / (float)m;
}

extern "C" __global__ void update(float* w, const float* g, unsigned lr_bits) {
  unsigned j = blockIdx.x;
  w[j] -= __uint_as_float(lr_bits) * g[j];
}
"""


def data(ranks: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole data set, the same on every rank: rank r's shard is rows
    [r * ROWS_PER_RANK, (r + 1) * ROWS_PER_RANK)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((ranks * ROWS_PER_RANK, FEATURES)).astype(np.float32)
    true_w = np.linspace(-1.0, 1.0, FEATURES, dtype=np.float32)
    y = x @ true_w + 0.01 * rng.standard_normal(len(x)).astype(np.float32)
    return x, y.astype(np.float32)


def reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient descent on the whole data set in one process (float64)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    w = np.zeros(FEATURES)
    for _ in range(STEPS):
        w -= LEARNING_RATE * 2.0 * x.T @ (x @ w - y) / len(x)
    return w


def main(uri: str) -> int:
    # One device per process: "cuda" on a host of several GPUs means cuda:<local rank>.
    device = hal.create_device(rank_device(uri))
    channel = device.create_channel()  # rank and count from mpiexec
    rank, ranks = channel.rank, channel.count
    x, y = data(ranks)
    shard = slice(rank * ROWS_PER_RANK, (rank + 1) * ROWS_PER_RANK)

    grad_layout = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1, 2, 3])], push_constants=2)
    update_layout = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])], push_constants=1)
    exe = device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("grad", grad_layout), hal.EntryPoint("update", update_layout)],
            {
                "c": KERNELS_C,
                "glsl": {"grad": GRAD_GLSL, "update": UPDATE_GLSL},
                "cuda": KERNELS_CUDA,
            },
        )
    )
    xs = device.buffer_from(np.ascontiguousarray(x[shard]))
    ys = device.buffer_from(y[shard])
    w = device.buffer_from(np.zeros(FEATURES, np.float32))
    g = device.allocate_buffer(4 * FEATURES)  # this rank's gradient
    mean = device.allocate_buffer(4 * FEATURES)  # the average over the ranks
    average = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.AVERAGE)

    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)  # reusable
    with cb:
        for _ in range(STEPS_PER_SUBMIT):
            cb.dispatch(
                exe,
                "grad",
                FEATURES,
                constants=[ROWS_PER_RANK, FEATURES],
                bindings=[(0, xs), (1, ys), (2, w), (3, g)],
            )
            cb.execution_barrier()
            cb.collective(channel, average, 0, g, mean, FEATURES)
            cb.execution_barrier()
            cb.dispatch(
                exe, "update", FEATURES, constants=[LEARNING_RATE], bindings=[(0, w), (1, mean)]
            )
            cb.execution_barrier()

    timeline = device.create_semaphore(0)
    rounds = STEPS // STEPS_PER_SUBMIT
    for r in range(rounds):
        device.queue_execute(cb, wait=[(timeline, r)], signal=[(timeline, r + 1)])
    timeline.wait(rounds, timeout=120)
    weights = w.to_numpy("float32")
    device.close()
    if rank != 0:
        return 0
    expected = reference(x, y)
    error = float(np.max(np.abs(weights - expected)))
    ok = error < 1e-4
    print(f"{ranks} ranks on {uri}, {STEPS} steps: w = {np.round(weights, 4)}")
    print(f"max |polyhal - numpy| = {error:.2e}: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
