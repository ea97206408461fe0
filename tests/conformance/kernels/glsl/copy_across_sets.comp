#version 450
// copy_across_sets: set 1 binding 0 [i] = set 0 binding 0 [i] (uint32).
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer Input { uint input_values[]; };
layout(set = 1, binding = 0) buffer Output { uint output_values[]; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  output_values[i] = input_values[i];
}
