#version 450
// `polyhal bench`: y = x * s + o over 64 int32 per workgroup.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer X { int x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { int y[]; };
layout(push_constant) uniform Constants { int s; int o; } pc;
void main() {
  // A 2-D grid of workgroups (GPUs cap one dimension at 65535).
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
           + gl_LocalInvocationID.x;
  if (i < x.length()) y[i] = x[i] * pc.s + pc.o;
}
