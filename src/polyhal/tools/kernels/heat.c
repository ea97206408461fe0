/* One explicit step of 2-D heat diffusion on an n x n float grid, edges held fixed.
 * Workgroups are 16 x 16 tiles; on the CPU one call runs the whole tile. */
#include "polyhal.h"

#define TILE 16

POLYHAL_ENTRY(heat_step) {
  const float* in = (const float*)dispatch->binding_ptrs[0];
  float* out = (float*)dispatch->binding_ptrs[1];
  const uint32_t n = dispatch->push_constants[0];
  union { uint32_t u; float f; } alpha = {dispatch->push_constants[1]};
  const uint32_t y0 = workgroup->workgroup_id_y * TILE, x0 = workgroup->workgroup_id_x * TILE;
  for (uint32_t y = y0; y < y0 + TILE && y < n; ++y) {
    for (uint32_t x = x0; x < x0 + TILE && x < n; ++x) {
      const uint32_t i = y * n + x;
      if (x == 0 || y == 0 || x == n - 1 || y == n - 1) {
        out[i] = in[i];
      } else {
        const float lap = in[i - n] + in[i + n] + in[i - 1] + in[i + 1] - 4.0f * in[i];
        out[i] = in[i] + alpha.f * lap;
      }
    }
  }
  return 0;
}
