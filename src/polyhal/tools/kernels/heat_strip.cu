// One step of heat diffusion on a strip of a grid split across ranks (see heat_strip.c):
// a rows x cols block, its border (halo rows, fixed edge columns) copied, its interior updated.
extern "C" __global__ void heat_strip_step(const float* in, float* out, unsigned cols,
                                           unsigned rows, unsigned alpha_bits) {
  const unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= cols || y >= rows) return;
  const unsigned i = y * cols + x;
  if (x == 0 || y == 0 || x == cols - 1 || y == rows - 1) {
    out[i] = in[i];
    return;
  }
  const float alpha = __uint_as_float(alpha_bits);
  const float lap = in[i - cols] + in[i + cols] + in[i - 1] + in[i + 1] - 4.0f * in[i];
  out[i] = in[i] + alpha * lap;
}
