/* Two entry points of one executable, each output[i] = f(input[i]) for workgroup i (int32). */
static int unary(const polyhal_dispatch_state_t* dispatch,
                 const polyhal_workgroup_state_t* workgroup, int32_t factor) {
  uint32_t i = workgroup->workgroup_id_x;
  EXPECT(dispatch->binding_count == 2, 1);
  EXPECT(BINDING_HOLDS(0, (i + 1) * sizeof(int32_t)), 2);
  EXPECT(BINDING_HOLDS(1, (i + 1) * sizeof(int32_t)), 3);
  const int32_t* input = (const int32_t*)dispatch->binding_ptrs[0];
  int32_t* output = (int32_t*)dispatch->binding_ptrs[1];
  output[i] = input[i] * factor;
  return 0;
}

POLYHAL_ENTRY(negate) {
  (void)environment;
  return unary(dispatch, workgroup, -1);
}

POLYHAL_ENTRY(double_values) {
  (void)environment;
  return unary(dispatch, workgroup, 2);
}
