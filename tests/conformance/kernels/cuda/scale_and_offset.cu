// scale_and_offset: output[i] = input[i] * scale + offset (int32).
extern "C" __global__ void scale_and_offset(const int* input, int* output, unsigned int scale,
                                            unsigned int offset) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  output[i] = input[i] * (int)scale + (int)offset;
}
