// abs_f32: output[i] = |input[i]|, one element per thread.
extern "C" __global__ void abs_f32(const float* input, float* output) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  output[i] = fabsf(input[i]);
}
