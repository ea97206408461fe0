// Two entry points of one executable (int32, one element per thread).
extern "C" __global__ void negate(const int* input, int* output) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  output[i] = -input[i];
}

extern "C" __global__ void double_values(const int* input, int* output) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  output[i] = input[i] * 2;
}
