/* One step of heat diffusion on a strip of a grid split across ranks: a rows x cols float
 * block whose first and last rows are halos (copies of the neighbours' edge rows, or the
 * grid's fixed edge) and whose first and last columns are the grid's fixed edges.  Only
 * the interior is updated; the border is copied.  Workgroups are 16 x 16 tiles. */
#include "polyhal.h"

#define TILE 16

POLYHAL_ENTRY(heat_strip_step) {
  const float* in = (const float*)dispatch->binding_ptrs[0];
  float* out = (float*)dispatch->binding_ptrs[1];
  const uint32_t cols = dispatch->push_constants[0], rows = dispatch->push_constants[1];
  union { uint32_t u; float f; } alpha = {dispatch->push_constants[2]};
  const uint32_t y0 = workgroup->workgroup_id_y * TILE, x0 = workgroup->workgroup_id_x * TILE;
  for (uint32_t y = y0; y < y0 + TILE && y < rows; ++y) {
    for (uint32_t x = x0; x < x0 + TILE && x < cols; ++x) {
      const uint32_t i = y * cols + x;
      if (x == 0 || y == 0 || x == cols - 1 || y == rows - 1) {
        out[i] = in[i];
      } else {
        const float lap = in[i - cols] + in[i + cols] + in[i - 1] + in[i + 1] - 4.0f * in[i];
        out[i] = in[i] + alpha.f * lap;
      }
    }
  }
  return 0;
}
