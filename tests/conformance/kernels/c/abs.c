/* abs_f32: output[i] = |input[i]| for workgroup i. */
POLYHAL_ENTRY(abs_f32) {
  (void)environment;
  uint32_t i = workgroup->workgroup_id_x;
  EXPECT(dispatch->binding_count == 2, 1);
  EXPECT(BINDING_HOLDS(0, (i + 1) * sizeof(float)), 2);
  EXPECT(BINDING_HOLDS(1, (i + 1) * sizeof(float)), 3);
  const float* input = (const float*)dispatch->binding_ptrs[0];
  float* output = (float*)dispatch->binding_ptrs[1];
  float v = input[i];
  output[i] = v < 0.0f ? -v : v;
  return 0;
}
