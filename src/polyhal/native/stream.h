/* polyhal's command stream: the flat, driver-neutral form of a recorded command buffer.
 *
 * The front end (stream.c, the extension module polyhal._stream) validates every command
 * and appends one fixed-size ph_cmd_t record for it; buffer ranges go to a ph_ref_t pool,
 * push constants to a uint32 pool and update payloads to a byte pool.  Records name them
 * by index, so that a dispatch that repeats the previous one's state reuses its entries.
 * Encoders consume the stream: the local executor (and the CUDA launcher) read these
 * structs directly; the Python encoders read them through polyhal._walker.
 *
 * Everything here is plain C with no Python dependency.  The Python mirror of these
 * layouts is polyhal/_walker.py (RECORD, REF); a test checks that the sizes agree.
 */
#ifndef POLYHAL_STREAM_H
#define POLYHAL_STREAM_H

#include <stdint.h>

enum {
  PH_OP_NOP = 0,
  PH_OP_DISPATCH = 1,     /* fn/env/wg_size/local_memory_size: the entry point's kernel
                           * words; constants and bindings by index; a: indirect counts */
  PH_OP_FILL = 2,         /* a: target; pattern, aux: pattern length (1, 2 or 4) */
  PH_OP_COPY = 3,         /* a: target, b: source */
  PH_OP_UPDATE = 4,       /* a: target; data_offset: the payload in the byte pool */
  PH_OP_BARRIER = 5,      /* data_offset: source | target stage << 32; aux: flags;
                           * object: (memory barriers, buffer barriers) or none */
  PH_OP_SIGNAL_EVENT = 6, /* object: the event; data_offset: source stage */
  PH_OP_RESET_EVENT = 7,  /* object: the event; data_offset: source stage */
  PH_OP_WAIT_EVENTS = 8,  /* object: (events, memory barriers, buffer barriers) */
  PH_OP_DISCARD = 9,      /* a: target */
  PH_OP_EXECUTE = 10,     /* object: (nested stream, resolved binding table or None);
                           * never in a flattened stream */
  PH_OP_COLLECTIVE = 11,  /* object: (channel, op, param, element count); a: send, b: recv */
  PH_OP_BEGIN_DEBUG = 12, /* object: (label, color, location) */
  PH_OP_END_DEBUG = 13,
};

#define PH_AUX_INDIRECT 1u     /* a dispatch whose counts are read from `a` when it runs */
#define PH_NO_OBJECT UINT32_MAX
#define PH_WHOLE UINT64_MAX    /* a slot reference's length: to the end of the slot */

/* A buffer range.  Direct: slot -1, the bytes at base + offset (base: the allocation's
 * address, 0 where a driver has none), alloc: its index in the stream's allocation list.
 * Through the binding table: slot >= 0, offset relative to the slot's range, length exact
 * or PH_WHOLE, base and alloc unused. */
typedef struct {
  int64_t slot;
  uint64_t base;
  uint64_t offset;
  uint64_t length;
  uint32_t alloc;
  uint32_t reserved;
} ph_ref_t;

/* One resolved binding-table entry, as executors receive the table. */
typedef struct {
  uint64_t base;
  uint64_t length;
} ph_slot_t;

typedef struct {
  uint32_t op, aux;
  uint64_t fn, env;               /* dispatch: what the driver's executable gave for it */
  uint32_t wg_size[3], wg_count[3];
  uint32_t constant_count, constants_index;
  uint32_t binding_count, bindings_index;
  uint32_t local_memory_size, pattern;
  uint64_t data_offset;
  ph_ref_t a, b;
  uint32_t object;                /* index in the stream's object list, or PH_NO_OBJECT */
  uint32_t entry_point;           /* dispatch: the entry point's index */
} ph_cmd_t;

/* A whole stream as executors read it. */
typedef struct {
  const ph_cmd_t* cmds;
  uint64_t count;
  const ph_ref_t* refs;
  const uint32_t* constants;
  const uint8_t* data;
} ph_program_t;

#endif
