#version 450
// write_indirect_counts: writes the workgroup count (4, 1, 1) for a later indirect dispatch.
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) buffer Counts { uint counts[3]; };

void main() {
  counts[0] = 4;
  counts[1] = 1;
  counts[2] = 1;
}
