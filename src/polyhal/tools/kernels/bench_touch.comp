#version 450
// `polyhal bench`: one invocation bumps a counter (the cost measured is around the call).
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer Counter { uint value[]; } counter;
void main() { counter.value[0] += 1u; }
