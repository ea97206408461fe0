#version 450
// One explicit step of 2-D heat diffusion on an n x n float grid, edges held fixed.
layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer In { float data[]; } src;
layout(set = 0, binding = 1) writeonly buffer Out { float data[]; } dst;
layout(push_constant) uniform Constants { uint n; uint alpha_bits; } pc;

void main() {
  uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y, n = pc.n;
  if (x >= n || y >= n) return;
  uint i = y * n + x;
  if (x == 0 || y == 0 || x == n - 1 || y == n - 1) {
    dst.data[i] = src.data[i];
    return;
  }
  float alpha = uintBitsToFloat(pc.alpha_bits);
  float lap = src.data[i - n] + src.data[i + n] + src.data[i - 1] + src.data[i + 1]
              - 4.0 * src.data[i];
  dst.data[i] = src.data[i] + alpha * lap;
}
