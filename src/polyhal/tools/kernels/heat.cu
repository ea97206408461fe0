// One explicit step of 2-D heat diffusion on an n x n float grid, edges held fixed.
extern "C" __global__ void heat_step(const float* in, float* out, unsigned n, unsigned alpha_bits) {
  const unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= n || y >= n) return;
  const unsigned i = y * n + x;
  if (x == 0 || y == 0 || x == n - 1 || y == n - 1) {
    out[i] = in[i];
    return;
  }
  const float alpha = __uint_as_float(alpha_bits);
  const float lap = in[i - n] + in[i + n] + in[i - 1] + in[i + 1] - 4.0f * in[i];
  out[i] = in[i] + alpha * lap;
}
