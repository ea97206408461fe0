/* write_workgroup_ids: output[x + cx * (y + cy * z)] = that linear workgroup id. */
POLYHAL_ENTRY(write_workgroup_ids) {
  (void)environment;
  uint32_t id = workgroup->workgroup_id_x +
                dispatch->workgroup_count_x *
                    (workgroup->workgroup_id_y +
                     dispatch->workgroup_count_y * (uint32_t)workgroup->workgroup_id_z);
  EXPECT(dispatch->binding_count == 1, 1);
  EXPECT(BINDING_HOLDS(0, (id + 1) * sizeof(uint32_t)), 2);
  ((uint32_t*)dispatch->binding_ptrs[0])[id] = id;
  return 0;
}
