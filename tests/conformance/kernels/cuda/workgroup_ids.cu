// write_workgroup_ids: output[x + cx * (y + cy * z)] = that linear workgroup id.
extern "C" __global__ void write_workgroup_ids(unsigned int* output) {
  unsigned int id = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  output[id] = id;
}
