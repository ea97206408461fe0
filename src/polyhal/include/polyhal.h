/* polyhal local-driver kernel ABI: IREE's executable-library ABI, version 0.x.
 *
 * An entry point is
 *   int entry(const polyhal_env_t* environment,
 *             const polyhal_dispatch_state_t* dispatch,
 *             const polyhal_workgroup_state_t* workgroup);
 * returning 0 on success.  The field order and widths below are the ABI.
 *
 * A binding may be touched only within binding_lengths[i] bytes of binding_ptrs[i].  On a
 * checked device (checked=True, POLYHAL_CHECKED=1) every buffer lies between guard pages:
 * an access past them faults and fails the submission (DataLossError naming the entry
 * point, workgroup, binding and offset) instead of corrupting the process.
 */
#ifndef POLYHAL_H_
#define POLYHAL_H_

#include <stddef.h>
#include <stdint.h>

typedef struct polyhal_dispatch_state_t {
  uint32_t workgroup_size_x;
  uint32_t workgroup_size_y;
  uint16_t workgroup_size_z;
  uint16_t push_constant_count;
  uint32_t workgroup_count_x;
  uint32_t workgroup_count_y;
  uint16_t workgroup_count_z;
  uint8_t max_concurrency;
  uint8_t binding_count;
  const uint32_t* push_constants;
  void* const* binding_ptrs;   /* in (set, binding) order, already offset */
  const size_t* binding_lengths;
} polyhal_dispatch_state_t;

typedef struct polyhal_workgroup_state_t {
  uint32_t workgroup_id_x;
  uint32_t workgroup_id_y;
  uint16_t workgroup_id_z;
  uint16_t reserved;
  uint32_t processor_id;
  void* local_memory;
  uint32_t local_memory_size;
} polyhal_workgroup_state_t;

/* Opaque to hand-written kernels; IREE-compiled libraries receive their environment. */
typedef struct polyhal_env_t polyhal_env_t;

#define POLYHAL_ENTRY(name)                                              \
  int name(const polyhal_env_t* environment,                             \
           const polyhal_dispatch_state_t* dispatch,                     \
           const polyhal_workgroup_state_t* workgroup)

#endif  /* POLYHAL_H_ */
