/* Kernels of `polyhal bench`. */
#include "polyhal.h"

/* One workgroup bumps a counter: the cost measured is everything around the call. */
POLYHAL_ENTRY(touch) {
  uint32_t* counter = (uint32_t*)dispatch->binding_ptrs[0];
  counter[0] += 1;
  return 0;
}

/* y = x * s + o over 64 int32 per workgroup. */
POLYHAL_ENTRY(axpb) {
  const int32_t* x = (const int32_t*)dispatch->binding_ptrs[0];
  int32_t* y = (int32_t*)dispatch->binding_ptrs[1];
  const int32_t s = (int32_t)dispatch->push_constants[0];
  const int32_t o = (int32_t)dispatch->push_constants[1];
  const size_t n = dispatch->binding_lengths[0] / 4;
  /* A 2-D grid of workgroups (GPUs cap one dimension at 65535). */
  size_t group = (size_t)workgroup->workgroup_id_y * dispatch->workgroup_count_x +
                 workgroup->workgroup_id_x;
  size_t begin = group * 64, end = begin + 64;
  if (end > n) end = n;
  for (size_t i = begin; i < end; ++i) y[i] = x[i] * s + o;
  return 0;
}
