#version 450
// One step of heat diffusion on a strip of a grid split across ranks (see heat_strip.c):
// a rows x cols block, its border (halo rows, fixed edge columns) copied, its interior updated.
layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer In { float data[]; } src;
layout(set = 0, binding = 1) writeonly buffer Out { float data[]; } dst;
layout(push_constant) uniform Constants { uint cols; uint rows; uint alpha_bits; } pc;

void main() {
  uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y, cols = pc.cols;
  if (x >= cols || y >= pc.rows) return;
  uint i = y * cols + x;
  if (x == 0 || y == 0 || x == cols - 1 || y == pc.rows - 1) {
    dst.data[i] = src.data[i];
    return;
  }
  float alpha = uintBitsToFloat(pc.alpha_bits);
  float lap = src.data[i - cols] + src.data[i + cols] + src.data[i - 1] + src.data[i + 1]
              - 4.0 * src.data[i];
  dst.data[i] = src.data[i] + alpha * lap;
}
