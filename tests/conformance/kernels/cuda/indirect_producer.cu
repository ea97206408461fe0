// write_indirect_counts: writes the workgroup count (4, 1, 1) for a later indirect dispatch.
extern "C" __global__ void write_indirect_counts(unsigned int* counts) {
  counts[0] = 4;
  counts[1] = 1;
  counts[2] = 1;
}
