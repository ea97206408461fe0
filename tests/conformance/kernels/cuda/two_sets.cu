// copy_across_sets: set 1 binding 0 [i] = set 0 binding 0 [i]; parameters in (set, binding) order.
extern "C" __global__ void copy_across_sets(const unsigned int* input, unsigned int* output) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  output[i] = input[i];
}
