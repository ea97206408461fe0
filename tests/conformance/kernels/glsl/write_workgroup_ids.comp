#version 450
// write_workgroup_ids: output[x + cx * (y + cy * z)] = that linear workgroup id.
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) buffer Output { uint output_values[]; };

void main() {
  uvec3 id = gl_WorkGroupID;
  uvec3 count = gl_NumWorkGroups;
  uint linear = id.x + count.x * (id.y + count.y * id.z);
  output_values[linear] = linear;
}
