/* polyhal cuda launcher: runs command buffers on CUDA streams and launches CUDA graphs,
 * with no Python between two driver calls.
 *
 * Why native: a Python loop over cuda-bindings costs about 5 us per cuLaunchKernel, most
 * of it argument conversion; the driver call itself is about 2 us.  A command buffer
 * arrives as the front end's flattened command stream (native/stream.h); ph_encode turns
 * it, in C and once, into a *launch program* (ph_launch_t records: the stream grouping
 * below and the launch geometry, indexing the stream's own push constants and update
 * bytes), and each submission walks those records, resolves binding-table slots, builds
 * each launch's parameter array on the stack and calls the driver.  No Python runs per
 * command.  The CUDA graph builder (graph.py) describes the slot-dependent nodes of a graph
 * with the same records.
 *
 * It needs no CUDA headers: the few driver entry points it calls arrive as function
 * pointers (ph_api_t, filled by Python from libcuda), and the one driver struct it
 * builds, CUDA_KERNEL_NODE_PARAMS_v2, is declared below with the layout of cuda.h.
 *
 * Streams: stream 0 is the device's queue; a group of dispatches between two barriers
 * may be spread over streams 1..n-1, forked from stream 0 by an event and joined back by
 * one event per stream (PH_FORK / PH_JOIN records the encoder places around the group).
 *
 * Threads: cuLaunchKernel costs about 2.5 us of host time on one thread, but launches to
 * different streams from different threads overlap in the driver (8 threads: about 1.4 us
 * per launch of wall time on an H100 host).  A large group is therefore launched by a
 * pool of threads, one per stream, each walking the group for the records of its stream;
 * the calling thread takes stream 0.  Small groups stay on the calling thread: waking the
 * pool costs tens of microseconds.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream.h"

typedef int CUresult;
typedef void* CUstream;
typedef void* CUevent;
typedef void* CUfunction;
typedef void* CUgraphExec;
typedef void* CUgraphNode;
typedef void* CUcontext;
typedef unsigned long long CUdeviceptr;

#define PH_MAX_STREAMS 32
#define PH_MAX_PARAMS 256
#define PH_COPY_THREADS 256
#define PH_COPY_MAX_BLOCKS 4096
#define PH_THREADED_MIN 64 /* records in a group worth waking the launch threads for */
#define PH_SUBMIT_SPIN_NS 50000 /* the submit thread stays awake this long after a job, */
#define PH_WAKE_SPIN_NS 300000  /* and this long after a submission completed (see below) */

#if defined(__x86_64__) || defined(__i386__)
#define PH_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define PH_PAUSE() __asm__ __volatile__("yield")
#else
#define PH_PAUSE() ((void)0)
#endif

/* Record ops; the same records describe launch programs and the slot-dependent nodes of
 * a graph (then `node` names the graph node whose parameters they rebuild). */
enum {
  PH_NOP = 0,
  PH_DISPATCH = 1,        /* handle: CUfunction; params: refs as pointers, then u32 constants;
                           * node (launch programs): the stream record it came from */
  PH_FILL = 2,            /* refs[0]: target; pattern, pattern_length */
  PH_COPY = 3,            /* refs[0]: source, refs[1]: target */
  PH_UPDATE = 4,          /* handle: host address of the bytes; refs[0]: target */
  PH_FORK = 5,            /* grid[0]: streams used by the group that follows, grid[1]: its JOIN */
  PH_JOIN = 6,            /* grid[0]: streams to join back into stream 0 */
  PH_INDIRECT_UPDATE = 7, /* graph only: refs[0]: the workgroup counts; constants: node handle */
  PH_COLLECTIVE = 8,      /* handle: ph_collective_t*; refs[0]: send, refs[1]: recv;
                           * node: the stream record it came from */
};
enum { PH_FLAG_DEVICE_UPDATABLE = 1 };

typedef struct {
  uint32_t op, stream;
  uint64_t handle;
  uint64_t node;
  uint32_t grid[3], block[3];
  uint32_t shared_memory;
  uint32_t ref_count, ref_index;
  uint32_t constant_count, constant_index;
  uint32_t pattern, pattern_length;
  uint32_t flags;
} ph_launch_t;

typedef struct {
  const ph_launch_t* cmds;
  uint64_t count;
  const ph_ref_t* refs;
  const uint32_t* constants;
} ph_launch_program_t;

/* A graph executable plus the records of the nodes that depend on binding-table slots. */
typedef struct {
  CUgraphExec exec;
  ph_launch_program_t slot_nodes;
  ph_slot_t* last_table;   /* the table the nodes were last updated for (capacity entries) */
  uint64_t last_count;     /* UINT64_MAX: never updated */
  uint64_t capacity;
  uint32_t needs_upload;
  CUdeviceptr token_word;  /* 0, or where each launch first stores its submission's token
                            * (graphs with indirect dispatches: their status records) */
  void* const* const* cells; /* the communicator cells of the graph's collectives: */
  uint64_t cell_count;       /* a launch is refused once one of them is revoked (NULL) */
} ph_graph_t;

typedef struct {
  CUfunction func;
  unsigned int grid_x, grid_y, grid_z;
  unsigned int block_x, block_y, block_z;
  unsigned int shared_memory;
  void** params;
  void** extra;
  void* kern;
  CUcontext ctx;
} ph_kernel_node_params_t; /* CUDA_KERNEL_NODE_PARAMS_v2 */

typedef struct {
  CUresult (*ctx_set_current)(CUcontext);
  CUresult (*launch_kernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                            unsigned, unsigned, CUstream, void**, void**);
  CUresult (*memset_d8)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*memset_d16)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*memset_d32)(CUdeviceptr, unsigned int, size_t, CUstream);
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*event_record)(CUevent, CUstream);
  CUresult (*stream_wait_event)(CUstream, CUevent, unsigned int);
  CUresult (*graph_launch)(CUgraphExec, CUstream);
  CUresult (*graph_upload)(CUgraphExec, CUstream);
  CUresult (*graph_exec_kernel_node_set_params)(CUgraphExec, CUgraphNode,
                                                const ph_kernel_node_params_t*);
  CUresult (*event_synchronize)(CUevent);
} ph_api_t;

typedef struct {
  const ph_api_t* api;
  CUcontext ctx;
  CUstream streams[PH_MAX_STREAMS];
  CUevent fork_event;
  CUevent join_events[PH_MAX_STREAMS];
  CUfunction fill_kernel; /* builtin kernels (kernels.py): unaligned fills, graph transfers */
  CUfunction copy_kernel;
  struct ph_pool* pool;   /* launch threads for streams 1..n-1, or NULL */
  struct ph_queue* queue; /* the submit thread and the completion queue */
} ph_device_t;

/* -- collectives: NCCL -------------------------------------------------------------------
 * NCCL's entry points arrive as function pointers too (ph_nccl_api_t, filled by
 * collective.py from the libnccl that nccl4py loaded), so a collective costs one NCCL call
 * here, on the queue's stream and in queue order, with no Python in between.  A collective
 * names its communicator through a *cell* that the channel owns: a revoked channel
 * (aborted after a failure or a timeout) empties the cell under the queue's exec_lock, so
 * no job can call NCCL with a communicator ncclCommAbort is freeing. */
typedef int ncclResult;
typedef struct {
  ncclResult (*all_gather)(const void*, void*, size_t, int, void*, CUstream);
  ncclResult (*all_reduce)(const void*, void*, size_t, int, int, void*, CUstream);
  ncclResult (*broadcast)(const void*, void*, size_t, int, int, void*, CUstream);
  ncclResult (*reduce)(const void*, void*, size_t, int, int, int, void*, CUstream);
  ncclResult (*reduce_scatter)(const void*, void*, size_t, int, int, void*, CUstream);
  ncclResult (*send)(const void*, size_t, int, int, void*, CUstream);
  ncclResult (*recv)(void*, size_t, int, int, void*, CUstream);
  ncclResult (*group_start)(void);
  ncclResult (*group_end)(void);
} ph_nccl_api_t;

/* IREE's collective kinds (iree_hal_collective_kind_t). */
enum {
  PH_ALL_GATHER = 0, PH_ALL_REDUCE = 1, PH_ALL_TO_ALL = 2, PH_BROADCAST = 3, PH_REDUCE = 4,
  PH_REDUCE_SCATTER = 5, PH_SEND = 6, PH_RECV = 7, PH_SEND_RECV = 8,
};
enum { PH_NCCL_UINT8 = 1 };
/* A failed NCCL call comes back as PH_NCCL_ERROR + its ncclResult, a value no CUresult
 * takes; PH_NCCL_REVOKED: the channel's communicator was revoked. */
#define PH_NCCL_ERROR 0x10000
#define PH_NCCL_REVOKED (PH_NCCL_ERROR + 0x100)

typedef struct {
  const ph_nccl_api_t* nccl;
  void* const* cell;   /* the channel's communicator cell (ncclComm_t, NULL once revoked) */
  uint32_t kind;       /* PH_ALL_GATHER... */
  int32_t datatype;    /* ncclDataType_t; data-movement kinds move ncclUint8 bytes */
  int32_t redop;       /* ncclRedOp_t of reducing kinds */
  int32_t param;       /* root, peer, or SEND_RECV's two int16 peers */
  uint64_t count;      /* elements of `datatype` (all_to_all: in all, over every rank) */
  uint32_t ranks;
  uint32_t element_size; /* bytes of one element of `datatype` */
} ph_collective_t;

typedef struct {
  int64_t failed_command; /* index of the record whose driver call failed, -1 if none */
  int32_t code;           /* its CUresult */
} ph_result_t;

/* A launch's parameters: values[i] holds parameter i, pointers[i] points at it. */
typedef struct {
  uint64_t values[PH_MAX_PARAMS];
  void* pointers[PH_MAX_PARAMS];
  uint32_t count;
} ph_params_t;

static void resolve(const ph_ref_t* r, const ph_slot_t* table, uint64_t* address,
                    uint64_t* length) {
  if (r->slot < 0) {
    *address = r->base + r->offset;
    *length = r->length;
    return;
  }
  const ph_slot_t* s = &table[r->slot];
  *address = s->base + r->offset;
  *length = r->length == PH_WHOLE ? s->length - r->offset : r->length;
}

static void push(ph_params_t* p, uint64_t value) {
  p->values[p->count] = value;
  p->pointers[p->count] = &p->values[p->count];
  p->count++;
}

/* Blocks for the builtin fill/copy kernels: each thread moves 16 bytes per step. */
static uint32_t transfer_blocks(uint64_t length) {
  uint64_t blocks = (length + 16 * PH_COPY_THREADS - 1) / (16 * PH_COPY_THREADS);
  if (blocks < 1) blocks = 1;
  if (blocks > PH_COPY_MAX_BLOCKS) blocks = PH_COPY_MAX_BLOCKS;
  return (uint32_t)blocks;
}

/* Fills `params` and the launch geometry for a record that runs as a kernel. */
static void kernel_launch(const ph_device_t* dev, const ph_launch_program_t* prog,
                          const ph_launch_t* c, const ph_slot_t* table, ph_params_t* p,
                          ph_kernel_node_params_t* k) {
  const ph_ref_t* refs = prog->refs + c->ref_index;
  uint64_t a, alen, b, blen;
  p->count = 0;
  memset(k, 0, sizeof(*k));
  k->grid_x = c->grid[0]; k->grid_y = c->grid[1]; k->grid_z = c->grid[2];
  k->block_x = c->block[0]; k->block_y = c->block[1]; k->block_z = c->block[2];
  k->shared_memory = c->shared_memory;
  k->func = (CUfunction)(uintptr_t)c->handle;
  switch (c->op) {
    case PH_DISPATCH:
      for (uint32_t i = 0; i < c->ref_count; i++) {
        resolve(&refs[i], table, &a, &alen);
        push(p, a);
      }
      for (uint32_t i = 0; i < c->constant_count; i++)
        push(p, prog->constants[c->constant_index + i]);
      break;
    case PH_FILL: /* polyhal_fill(dst, length, pattern, pattern_length) */
      resolve(&refs[0], table, &a, &alen);
      push(p, a); push(p, alen); push(p, c->pattern); push(p, c->pattern_length);
      k->func = dev->fill_kernel;
      k->grid_x = transfer_blocks(alen); k->grid_y = k->grid_z = 1;
      k->block_x = PH_COPY_THREADS; k->block_y = k->block_z = 1;
      break;
    case PH_COPY: /* polyhal_copy(dst, src, length); a: source, b: target */
      resolve(&refs[0], table, &a, &alen);
      resolve(&refs[1], table, &b, &blen);
      push(p, b); push(p, a); push(p, blen);
      k->func = dev->copy_kernel;
      k->grid_x = transfer_blocks(blen); k->grid_y = k->grid_z = 1;
      k->block_x = PH_COPY_THREADS; k->block_y = k->block_z = 1;
      break;
    case PH_INDIRECT_UPDATE: {
      /* polyhal_indirect_update(counts, node, token, records, dispatch, max x, y, z): the
       * constants are three 64-bit values, then four 32-bit ones. */
      const uint32_t* k32 = prog->constants + c->constant_index;
      resolve(&refs[0], table, &a, &alen);
      push(p, a);
      for (int j = 0; j < 6; j += 2) push(p, (uint64_t)k32[j] | (uint64_t)k32[j + 1] << 32);
      for (int j = 6; j < 10; j++) push(p, k32[j]);
      break;
    }
  }
  k->params = p->pointers;
}

static CUresult fill(const ph_device_t* dev, CUstream s, uint64_t address, uint64_t length,
                     uint32_t pattern, uint32_t pattern_length, ph_params_t* p) {
  const ph_api_t* api = dev->api;
  if (length == 0) return 0;
  if (pattern_length == 1) return api->memset_d8(address, (unsigned char)pattern, length, s);
  if (pattern_length == 2 && address % 2 == 0)
    return api->memset_d16(address, (unsigned short)pattern, length / 2, s);
  if (pattern_length == 4 && address % 4 == 0)
    return api->memset_d32(address, pattern, length / 4, s);
  /* The pattern starts at an address the copy engines' fills cannot take. */
  p->count = 0;
  push(p, address); push(p, length); push(p, pattern); push(p, pattern_length);
  return api->launch_kernel(dev->fill_kernel, transfer_blocks(length), 1, 1, PH_COPY_THREADS,
                            1, 1, 0, s, p->pointers, NULL);
}

/* Issues collective `c` on stream `s` (send and recv: device addresses, 0 where absent). */
CUresult ph_collective_run(const ph_device_t* dev, const ph_collective_t* c, uint64_t send,
                           uint64_t recv, CUstream s) {
  const ph_nccl_api_t* n = c->nccl;
  void* comm = __atomic_load_n(c->cell, __ATOMIC_ACQUIRE);
  const void* a = (const void*)(uintptr_t)send;
  void* b = (void*)(uintptr_t)recv;
  ncclResult r = 0, end;
  if (!comm) return PH_NCCL_REVOKED;
  switch (c->kind) {
    case PH_ALL_GATHER: r = n->all_gather(a, b, c->count, c->datatype, comm, s); break;
    case PH_ALL_REDUCE:
      r = n->all_reduce(a, b, c->count, c->datatype, c->redop, comm, s);
      break;
    case PH_BROADCAST: r = n->broadcast(a, b, c->count, c->datatype, c->param, comm, s); break;
    case PH_REDUCE:
      r = n->reduce(a, b, c->count, c->datatype, c->redop, c->param, comm, s);
      break;
    case PH_REDUCE_SCATTER:
      r = n->reduce_scatter(a, b, c->count, c->datatype, c->redop, comm, s);
      break;
    case PH_SEND: r = n->send(a, c->count, c->datatype, c->param, comm, s); break;
    case PH_RECV: r = n->recv(b, c->count, c->datatype, c->param, comm, s); break;
    case PH_ALL_TO_ALL: {
      /* Block k of send goes to rank k, which puts it at block `rank` of its recv: one
       * send and one receive per rank in one group, as NCCL's own alltoall does. */
      uint64_t block = c->count / c->ranks, bytes = block * c->element_size;
      r = n->group_start();
      for (uint32_t k = 0; k < c->ranks && !r; k++) {
        r = n->send((const char*)a + k * bytes, block, c->datatype, (int)k, comm, s);
        if (!r) r = n->recv((char*)b + k * bytes, block, c->datatype, (int)k, comm, s);
      }
      end = n->group_end();
      if (!r) r = end;
      break;
    }
    case PH_SEND_RECV: {
      int16_t to = (int16_t)(c->param & 0xFFFF), from = (int16_t)((uint32_t)c->param >> 16);
      r = n->group_start();
      if (!r && to >= 0) r = n->send(a, c->count, c->datatype, to, comm, s);
      if (!r && from >= 0) r = n->recv(b, c->count, c->datatype, from, comm, s);
      end = n->group_end();
      if (!r) r = end;
      if (!r && from < 0 && c->count) /* IREE: a rank that receives nothing gets zeros */
        return dev->api->memset_d8(recv, 0, c->count * c->element_size, s);
      break;
    }
  }
  return r ? PH_NCCL_ERROR + r : 0;
}

static CUresult run(const ph_device_t* dev, const ph_launch_program_t* prog, uint64_t i,
                    const ph_slot_t* table, ph_params_t* p) {
  const ph_api_t* api = dev->api;
  const ph_launch_t* c = &prog->cmds[i];
  CUstream s = dev->streams[c->stream];
  const ph_ref_t* refs = prog->refs + c->ref_index;
  uint64_t a, alen, b, blen;
  CUresult rc = 0;
  switch (c->op) {
    case PH_DISPATCH: {
      ph_kernel_node_params_t k;
      kernel_launch(dev, prog, c, table, p, &k);
      return api->launch_kernel(k.func, k.grid_x, k.grid_y, k.grid_z, k.block_x, k.block_y,
                                k.block_z, k.shared_memory, s, k.params, NULL);
    }
    case PH_FILL:
      resolve(&refs[0], table, &a, &alen);
      return fill(dev, s, a, alen, c->pattern, c->pattern_length, p);
    case PH_COPY:
      resolve(&refs[0], table, &a, &alen);
      resolve(&refs[1], table, &b, &blen);
      return blen ? api->memcpy(b, a, blen, s) : 0;
    case PH_UPDATE:
      resolve(&refs[0], table, &a, &alen);
      return alen ? api->memcpy(a, (CUdeviceptr)c->handle, alen, s) : 0;
    case PH_COLLECTIVE:
      resolve(&refs[0], table, &a, &alen);
      resolve(&refs[1], table, &b, &blen);
      return ph_collective_run(dev, (const ph_collective_t*)(uintptr_t)c->handle, a, b, s);
    case PH_FORK:
      rc = api->event_record(dev->fork_event, dev->streams[0]);
      for (uint32_t k = 1; k < c->grid[0] && !rc; k++)
        rc = api->stream_wait_event(dev->streams[k], dev->fork_event, 0);
      return rc;
    case PH_JOIN:
      for (uint32_t k = 1; k < c->grid[0] && !rc; k++) {
        rc = api->event_record(dev->join_events[k], dev->streams[k]);
        if (!rc) rc = api->stream_wait_event(dev->streams[0], dev->join_events[k], 0);
      }
      return rc;
  }
  return 0;
}

/* -- encoding a command stream ---------------------------------------------------------
 * A launch program owns its records and references; its constants are the stream's own
 * pool, and update records point into the stream's byte pool, so the stream must outlive
 * the program (the command buffer holds both). */
typedef struct {
  ph_launch_program_t program;
  uint64_t slot_count;  /* binding-table entries the references need */
  uint32_t needs_graph; /* an indirect dispatch: only a graph runs it (graph.py) */
  uint32_t collectives; /* PH_COLLECTIVE records, whose handles collective.py sets */
} ph_encoded_t;

typedef struct {
  ph_encoded_t* e;
  ph_launch_t* cmds;
  ph_ref_t* refs;
  uint64_t group_start;     /* the NOP record opening the current group */
  uint32_t group_open;
  uint32_t group_dispatches;
  uint32_t streams;
} ph_encoder_t;

static ph_launch_t* enc_record(ph_encoder_t* w, uint32_t op) {
  ph_launch_t* c = &w->cmds[w->e->program.count++];
  memset(c, 0, sizeof(*c));
  c->op = op;
  return c;
}

/* Opens a group at the first member after a barrier: a NOP that a FORK may replace. */
static void enc_open(ph_encoder_t* w) {
  if (w->group_open) return;
  w->group_start = w->e->program.count;
  enc_record(w, PH_NOP);
  w->group_open = 1;
}

/* Closes the current group, spreading it over streams when two or more dispatches may
 * overlap: member k goes to stream k % n, between a FORK and a JOIN of n streams. */
static void enc_barrier(ph_encoder_t* w) {
  if (w->group_open && w->group_dispatches >= 2 && w->streams > 1) {
    uint64_t first = w->group_start + 1, end = w->e->program.count;
    uint32_t n = end - first < w->streams ? (uint32_t)(end - first) : w->streams;
    for (uint64_t i = first; i < end; i++) w->cmds[i].stream = (uint32_t)((i - first) % n);
    ph_launch_t* fork = &w->cmds[w->group_start];
    fork->op = PH_FORK;
    fork->grid[0] = n;
    fork->grid[1] = (uint32_t)end;
    enc_record(w, PH_JOIN)->grid[0] = n;
  }
  w->group_open = 0;
  w->group_dispatches = 0;
}

/* Appends `count` references; returns the index of the first. */
static uint32_t enc_refs(ph_encoder_t* w, const ph_ref_t* refs, uint32_t count,
                         uint64_t* nrefs) {
  uint32_t first = (uint32_t)*nrefs;
  for (uint32_t k = 0; k < count; k++) {
    const ph_ref_t* r = &refs[k];
    if (r->slot >= 0 && (uint64_t)r->slot >= w->e->slot_count)
      w->e->slot_count = (uint64_t)r->slot + 1;
    w->refs[(*nrefs)++] = *r;
  }
  return first;
}

/* Turns a flattened command stream into a launch program for `streams` streams (1: all
 * on stream 0, as traced submissions run).  Dispatches with no workgroups are left out;
 * indirect ones too, setting needs_graph.  Consecutive dispatches the stream gave the same
 * bindings share their references here as well.  0, or -1 when out of memory (then
 * nothing needs freeing). */
int ph_encode(const ph_program_t* s, uint32_t streams, ph_encoded_t* e) {
  memset(e, 0, sizeof(*e));
  uint64_t max_refs = 1;
  for (uint64_t i = 0; i < s->count; i++)
    max_refs += s->cmds[i].op == PH_OP_DISPATCH ? s->cmds[i].binding_count : 2;
  /* each command makes at most one member record, each group a NOP and a JOIN more */
  ph_encoder_t w = {e, malloc((3 * s->count + 1) * sizeof(ph_launch_t)),
                    malloc(max_refs * sizeof(ph_ref_t)), 0, 0, 0, streams ? streams : 1};
  if (!w.cmds || !w.refs) {
    free(w.cmds);
    free(w.refs);
    return -1;
  }
  e->program.cmds = w.cmds;
  e->program.refs = w.refs;
  e->program.constants = s->constants;
  uint64_t nrefs = 0;
  uint32_t last_bindings = UINT32_MAX, last_count = 0, last_index = 0;
  for (uint64_t i = 0; i < s->count; i++) {
    const ph_cmd_t* c = &s->cmds[i];
    ph_launch_t* r;
    switch (c->op) {
      case PH_OP_DISPATCH:
        if (c->aux & PH_AUX_INDIRECT) {
          e->needs_graph = 1;
          break;
        }
        if (!c->wg_count[0] || !c->wg_count[1] || !c->wg_count[2]) break;
        if (c->bindings_index != last_bindings || c->binding_count != last_count) {
          last_index = enc_refs(&w, s->refs + c->bindings_index, c->binding_count, &nrefs);
          last_bindings = c->bindings_index;
          last_count = c->binding_count;
        }
        enc_open(&w);
        r = enc_record(&w, PH_DISPATCH);
        r->handle = c->fn;
        r->node = i;
        memcpy(r->grid, c->wg_count, sizeof(r->grid));
        memcpy(r->block, c->wg_size, sizeof(r->block));
        r->shared_memory = c->local_memory_size;
        r->ref_count = c->binding_count;
        r->ref_index = last_index;
        r->constant_count = c->constant_count;
        r->constant_index = c->constants_index;
        w.group_dispatches++;
        break;
      case PH_OP_FILL:
        enc_open(&w);
        r = enc_record(&w, PH_FILL);
        r->ref_count = 1;
        r->ref_index = enc_refs(&w, &c->a, 1, &nrefs);
        r->pattern = c->pattern;
        r->pattern_length = c->aux;
        break;
      case PH_OP_COPY:
        enc_open(&w);
        r = enc_record(&w, PH_COPY);
        r->ref_count = 2;
        r->ref_index = enc_refs(&w, &c->b, 1, &nrefs); /* source, then target */
        enc_refs(&w, &c->a, 1, &nrefs);
        break;
      case PH_OP_UPDATE:
        enc_open(&w);
        r = enc_record(&w, PH_UPDATE);
        r->handle = (uint64_t)(uintptr_t)(s->data + c->data_offset);
        r->ref_count = 1;
        r->ref_index = enc_refs(&w, &c->a, 1, &nrefs);
        break;
      case PH_OP_BARRIER:
      case PH_OP_WAIT_EVENTS:
        enc_barrier(&w);
        break;
      case PH_OP_COLLECTIVE:
        /* On stream 0 between two barriers: every rank issues its collectives in one
         * order on one stream.  The handle (ph_collective_t) is set by collective.py. */
        enc_barrier(&w);
        r = enc_record(&w, PH_COLLECTIVE);
        r->node = i;
        r->ref_count = 2;
        r->ref_index = enc_refs(&w, &c->a, 1, &nrefs); /* send, then recv */
        enc_refs(&w, &c->b, 1, &nrefs);
        e->collectives++;
        break;
      default:
        /* Signal/reset event: the queue's stream already orders everything after them;
         * discard and debug groups change nothing on the device. */
        break;
    }
  }
  enc_barrier(&w);
  return 0;
}

void ph_encoded_free(ph_encoded_t* e) {
  free((void*)e->program.cmds);
  free((void*)e->program.refs);
  memset(e, 0, sizeof(*e));
}

/* -- the launch threads ----------------------------------------------------------------- */
typedef struct ph_pool ph_pool_t;
typedef struct { ph_pool_t* pool; uint32_t stream; } ph_worker_t;

struct ph_pool {
  const ph_device_t* dev;
  ph_worker_t workers[PH_MAX_STREAMS];
  int count; /* threads; thread k launches the records of stream k + 1 */
  pthread_t threads[PH_MAX_STREAMS];
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation; /* one per group handed out */
  int remaining;       /* threads still launching the current group */
  int stop;
  const ph_launch_program_t* prog; /* the current group: records [first, end) over `streams` */
  uint64_t first, end;
  uint32_t streams;
  const ph_slot_t* table;
  CUresult rc[PH_MAX_STREAMS];
  int64_t failed[PH_MAX_STREAMS];
};

/* Launches the records of one stream in [first, end); returns the first failure. */
static CUresult run_stream(const ph_device_t* dev, const ph_launch_program_t* prog, uint64_t first,
                           uint64_t end, uint32_t stream, const ph_slot_t* table,
                           int64_t* failed) {
  ph_params_t params;
  for (uint64_t i = first; i < end; i++) {
    if (prog->cmds[i].stream != stream) continue;
    CUresult rc = run(dev, prog, i, table, &params);
    if (rc) { *failed = (int64_t)i; return rc; }
  }
  return 0;
}

static void* worker_main(void* arg) {
  ph_worker_t* w = (ph_worker_t*)arg;
  ph_pool_t* pool = w->pool;
  uint64_t seen = 0;
  pool->dev->api->ctx_set_current(pool->dev->ctx);
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->wake, &pool->lock);
    if (pool->stop) break;
    seen = pool->generation;
    if (w->stream >= pool->streams) continue; /* this group uses fewer streams */
    pthread_mutex_unlock(&pool->lock);
    int64_t failed = -1;
    CUresult rc = run_stream(pool->dev, pool->prog, pool->first, pool->end, w->stream,
                             pool->table, &failed);
    pthread_mutex_lock(&pool->lock);
    pool->rc[w->stream] = rc;
    pool->failed[w->stream] = failed;
    if (--pool->remaining == 0) pthread_cond_signal(&pool->done);
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

/* Starts `threads` launch threads for the device (streams 1..threads); NULL on failure. */
void* ph_pool_create(ph_device_t* dev, int threads) {
  if (threads < 1 || threads >= PH_MAX_STREAMS) return NULL;
  ph_pool_t* pool = calloc(1, sizeof(ph_pool_t));
  if (!pool) return NULL;
  pool->dev = dev;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pthread_cond_init(&pool->done, NULL);
  ph_worker_t* w = pool->workers;
  for (int k = 0; k < threads; k++) {
    w[k].pool = pool;
    w[k].stream = (uint32_t)k + 1;
    if (pthread_create(&pool->threads[k], NULL, worker_main, &w[k]) != 0) break;
    pool->count++;
  }
  dev->pool = pool;
  return pool;
}

void ph_pool_destroy(ph_device_t* dev) {
  ph_pool_t* pool = dev->pool;
  if (!pool) return;
  pthread_mutex_lock(&pool->lock);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (int k = 0; k < pool->count; k++) pthread_join(pool->threads[k], NULL);
  dev->pool = NULL;
  free(pool);
}

/* Launches the group [first, end) over `streams` streams: stream 0 here, the others on the
 * pool's threads; returns once every record is enqueued (the first failure, if any). */
static CUresult run_group(const ph_device_t* dev, const ph_launch_program_t* prog, uint64_t first,
                          uint64_t end, uint32_t streams, const ph_slot_t* table,
                          int64_t* failed) {
  ph_pool_t* pool = dev->pool;
  pthread_mutex_lock(&pool->lock);
  pool->prog = prog; pool->first = first; pool->end = end; pool->table = table;
  pool->streams = streams;
  pool->remaining = (int)streams - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  CUresult rc = run_stream(dev, prog, first, end, 0, table, failed);
  pthread_mutex_lock(&pool->lock);
  while (pool->remaining) pthread_cond_wait(&pool->done, &pool->lock);
  for (uint32_t k = 1; k < streams && !rc; k++)
    if (pool->rc[k]) { rc = pool->rc[k]; *failed = pool->failed[k]; }
  pthread_mutex_unlock(&pool->lock);
  return rc;
}

/* Runs a launch program on the device's streams; the first failing CUresult, if any,
 * goes to `result` with its record index. */
static void stream_execute(const ph_device_t* dev, const ph_launch_program_t* prog,
                           const ph_slot_t* table, ph_result_t* result) {
  ph_params_t params;
  CUresult rc = dev->api->ctx_set_current(dev->ctx);
  result->failed_command = -1;
  for (uint64_t i = 0; i < prog->count && !rc; i++) {
    const ph_launch_t* c = &prog->cmds[i];
    rc = run(dev, prog, i, table, &params);
    if (rc) {
      result->failed_command = (int64_t)i;
    } else if (c->op == PH_FORK && dev->pool && c->grid[0] - 1 <= (uint32_t)dev->pool->count
               && c->grid[1] - i > PH_THREADED_MIN) {
      rc = run_group(dev, prog, i + 1, c->grid[1], c->grid[0], table, &result->failed_command);
      i = c->grid[1] - 1; /* the JOIN comes next */
    }
  }
  result->code = rc;
}

/* Launches a graph on stream 0, first rebuilding the parameters of its slot-dependent
 * nodes when the binding table differs from the one they were last set for. */
static void graph_launch(const ph_device_t* dev, ph_graph_t* g, const ph_slot_t* table,
                         uint64_t table_count, uint64_t token, ph_result_t* result) {
  const ph_api_t* api = dev->api;
  const ph_launch_program_t* prog = &g->slot_nodes;
  ph_params_t params;
  ph_kernel_node_params_t k;
  CUresult rc = api->ctx_set_current(dev->ctx);
  result->failed_command = -1;
  for (uint64_t i = 0; i < g->cell_count && !rc; i++)
    if (!__atomic_load_n(g->cells[i], __ATOMIC_ACQUIRE)) rc = PH_NCCL_REVOKED;
  if (!rc && prog->count && table_count <= g->capacity &&
      (g->last_count != table_count ||
       memcmp(g->last_table, table, table_count * sizeof(ph_slot_t)) != 0)) {
    for (uint64_t i = 0; i < prog->count && !rc; i++) {
      const ph_launch_t* c = &prog->cmds[i];
      kernel_launch(dev, prog, c, table, &params, &k);
      rc = api->graph_exec_kernel_node_set_params(g->exec, (CUgraphNode)(uintptr_t)c->node, &k);
      if (rc) result->failed_command = (int64_t)i;
      if (c->flags & PH_FLAG_DEVICE_UPDATABLE) g->needs_upload = 1;
    }
    if (!rc) {
      memcpy(g->last_table, table, table_count * sizeof(ph_slot_t));
      g->last_count = table_count;
    } else {
      g->last_count = UINT64_MAX;
    }
  }
  if (!rc && g->needs_upload) {
    /* Device-updatable nodes changed on the host must be uploaded before the launch. */
    rc = api->graph_upload(g->exec, dev->streams[0]);
    g->needs_upload = 0;
  }
  if (!rc && g->token_word)
    rc = api->memset_d32(g->token_word, (unsigned int)token, 1, dev->streams[0]);
  if (!rc) rc = api->graph_launch(g->exec, dev->streams[0]);
  result->code = rc;
}

/* -- queues ----------------------------------------------------------------------------
 * A growable FIFO of fixed-size items, for the submit queue and the completion queue. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t ready, idle;
  char* items;
  size_t item_size, capacity;
  uint64_t head, tail; /* items [head, tail) are queued */
  uint64_t done;       /* items the consumer has finished with (ph_submit_drain) */
} ph_ring_t;

static void ring_init(ph_ring_t* r, size_t item_size) {
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->ready, NULL);
  pthread_cond_init(&r->idle, NULL);
  r->item_size = item_size;
  r->capacity = 256;
  r->items = malloc(r->capacity * item_size);
}

static void ring_push(ph_ring_t* r, const void* item) {
  pthread_mutex_lock(&r->lock);
  if (r->tail - r->head == r->capacity) { /* grow, keeping each item at index % capacity */
    char* items = malloc(2 * r->capacity * r->item_size);
    for (uint64_t i = r->head; i < r->tail; i++)
      memcpy(items + (i % (2 * r->capacity)) * r->item_size,
             r->items + (i % r->capacity) * r->item_size, r->item_size);
    free(r->items);
    r->items = items;
    r->capacity *= 2;
  }
  memcpy(r->items + (r->tail % r->capacity) * r->item_size, item, r->item_size);
  __atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
  pthread_cond_signal(&r->ready);
  pthread_mutex_unlock(&r->lock);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Under the ring's lock: takes the oldest item. */
static void ring_take(ph_ring_t* r, void* item) {
  memcpy(item, r->items + (r->head % r->capacity) * r->item_size, r->item_size);
  r->head++;
}

/* Pops the oldest item, waiting for one. */
static void ring_pop(ph_ring_t* r, void* item) {
  pthread_mutex_lock(&r->lock);
  while (r->head == r->tail) pthread_cond_wait(&r->ready, &r->lock);
  ring_take(r, item);
  pthread_mutex_unlock(&r->lock);
}

static void ring_done(ph_ring_t* r) {
  pthread_mutex_lock(&r->lock);
  r->done++;
  pthread_cond_broadcast(&r->idle);
  pthread_mutex_unlock(&r->lock);
}

/* -- the submit thread -----------------------------------------------------------------
 * A launch program submitted to an idle queue runs on the caller's thread
 * (try_run_inline): the caller of a one-shot command buffer waits for its launches anyway,
 * and a hand-off would add a thread wake-up.  A graph is one driver call of tens of
 * microseconds (cuGraphLaunch of 1000 nodes: 20-30 us on the H200 host), which this thread
 * makes, so that the caller returns as soon as the job is queued; so does every job
 * submitted while another is queued or running, run in order, so that the caller never
 * waits for earlier launches.
 * A wake-up of this thread, once asleep, costs 40-130 us on the H200 host (a virtual
 * machine), which a graph's submit-to-complete latency would pay.  So the thread spins,
 * rather than sleeps, for PH_SUBMIT_SPIN_NS after each job, and for PH_WAKE_SPIN_NS after
 * each submission completes on the device: the completion thread wakes it then
 * (expect_submission), since a host that waited for its work typically submits again
 * right after, and that wake-up overlaps the completion's own reporting.  (H200 host, a
 * 1000-node graph submitted and waited for after each one-shot submission: 1.04-1.07x a
 * hand-built graph's cuGraphLaunch + cuStreamSynchronize with this spin, 1.06-1.11x
 * without; run inline instead, the caller's submit took 1.5-1.6x cuGraphLaunch alone,
 * against 0.8-1.35x handed off, most of it the front end's Python, run cold after the
 * caller's idle spell.)
 * Each submission ends with an event recorded on stream 0 and handed, with the
 * submission's token, to the completion queue; a job that fails skips the rest of its
 * submission, which completes with the error once what was enqueued before the failure
 * is done. */
enum { PH_JOB_STREAM = 1, PH_JOB_GRAPH = 2, PH_JOB_RECORD = 3, PH_JOB_STOP = 4 };

typedef struct {
  uint32_t kind;
  const void* target;   /* ph_launch_program_t* or ph_graph_t* */
  ph_slot_t* table;     /* a copy of the binding table, freed once used */
  uint64_t table_count;
  const void* event;    /* on the submission's last job: record it, then complete */
  uint64_t token;
} ph_job_t;

typedef struct {
  const void* event;    /* NULL: nothing to wait for */
  uint64_t token;
  int32_t code;         /* the launch's failure, 0 if none */
  int64_t failed_command;
} ph_completion_t;

struct ph_queue {
  ph_ring_t jobs, completions;
  pthread_t thread;
  int running;
  /* Held while a job runs, by the submit thread or by a caller running one inline, so
   * jobs run one at a time and in order; it also guards the failure state below. */
  pthread_mutex_t exec_lock;
  uint64_t failed_token;  /* the submission whose launch failed: skip its other jobs */
  ph_result_t failure;
  uint64_t spin_until;    /* now_ns() up to which the submit thread spins for jobs */
  int sleeping;           /* under the jobs ring's lock: the submit thread waits on `ready` */
};

static void run_job(const ph_device_t* dev, const ph_job_t* job, uint64_t* failed_token,
                    ph_result_t* failure) {
  ph_result_t result = {-1, 0};
  if (job->token != *failed_token) {
    if (job->kind == PH_JOB_STREAM)
      stream_execute(dev, job->target, job->table, &result);
    else if (job->kind == PH_JOB_GRAPH)
      graph_launch(dev, (ph_graph_t*)job->target, job->table, job->table_count, job->token,
                   &result);
    if (result.code) {
      *failed_token = job->token;
      *failure = result;
    }
  }
  free(job->table);
  if (!job->event) return;
  ph_completion_t done = {job->event, job->token, 0, -1};
  if (job->token == *failed_token) {
    done.code = failure->code;
    done.failed_command = failure->failed_command;
  }
  if (dev->api->event_record((CUevent)job->event, dev->streams[0])) done.event = NULL;
  ring_push(&dev->queue->completions, &done);
}

/* The submit thread's wait for its next job: spinning until PH_SUBMIT_SPIN_NS after the
 * last job or until `spin_until`, whichever is later, then asleep until a job comes or
 * expect_submission has it spin again. */
static void pop_job(struct ph_queue* q, ph_job_t* job) {
  ph_ring_t* r = &q->jobs;
  uint64_t until = now_ns() + PH_SUBMIT_SPIN_NS;
  for (;;) {
    uint64_t wake = __atomic_load_n(&q->spin_until, __ATOMIC_RELAXED);
    if (wake > until) until = wake;
    while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == r->head && now_ns() < until)
      PH_PAUSE();
    pthread_mutex_lock(&r->lock);
    /* spin_until is read again under the lock, which expect_submission takes after
     * setting it: either this sees the new value or that sees `sleeping`. */
    if (r->head == r->tail && __atomic_load_n(&q->spin_until, __ATOMIC_RELAXED) <= now_ns()) {
      q->sleeping = 1;
      pthread_cond_wait(&r->ready, &r->lock);
      q->sleeping = 0;
    }
    if (r->head != r->tail) {
      ring_take(r, job);
      pthread_mutex_unlock(&r->lock);
      return;
    }
    pthread_mutex_unlock(&r->lock);
    until = 0;
  }
}

/* The completion thread, once a submission completed on the device: has the submit thread
 * spin for the next job for PH_WAKE_SPIN_NS, waking it if it sleeps. */
static void expect_submission(struct ph_queue* q) {
  __atomic_store_n(&q->spin_until, now_ns() + PH_WAKE_SPIN_NS, __ATOMIC_RELAXED);
  pthread_mutex_lock(&q->jobs.lock);
  if (q->sleeping) pthread_cond_signal(&q->jobs.ready);
  pthread_mutex_unlock(&q->jobs.lock);
}

static void* submit_main(void* arg) {
  const ph_device_t* dev = (const ph_device_t*)arg;
  struct ph_queue* q = dev->queue;
  dev->api->ctx_set_current(dev->ctx);
  for (;;) {
    ph_job_t job;
    pop_job(q, &job);
    if (job.kind == PH_JOB_STOP) {
      ring_done(&q->jobs);  /* a drain after the stop must not wait for it forever */
      break;
    }
    pthread_mutex_lock(&q->exec_lock);
    run_job(dev, &job, &q->failed_token, &q->failure);
    pthread_mutex_unlock(&q->exec_lock);
    ring_done(&q->jobs);
  }
  return NULL;
}

/* Runs `job` on the calling thread when nothing is queued or running: a launch program
 * submitted to an idle queue then costs no hand-off to (or wake-up of) the submit thread.
 * Taking exec_lock before releasing the ring lock keeps jobs in order: one pushed
 * meanwhile is popped by the submit thread, which then waits for this one.  Returns 0
 * when the queue was busy and the job must be queued instead. */
static int try_run_inline(ph_device_t* dev, const ph_job_t* job) {
  struct ph_queue* q = dev->queue;
  ph_ring_t* r = &q->jobs;
  pthread_mutex_lock(&r->lock);
  int idle = r->head == r->tail && r->done == r->tail &&
             pthread_mutex_trylock(&q->exec_lock) == 0;
  pthread_mutex_unlock(&r->lock);
  if (!idle) return 0;
  dev->api->ctx_set_current(dev->ctx);
  run_job(dev, job, &q->failed_token, &q->failure);
  pthread_mutex_unlock(&q->exec_lock);
  return 1;
}

/* Starts the submit thread and the queues; 0 on success. */
int ph_queue_create(ph_device_t* dev) {
  struct ph_queue* q = calloc(1, sizeof(struct ph_queue));
  if (!q) return -1;
  ring_init(&q->jobs, sizeof(ph_job_t));
  ring_init(&q->completions, sizeof(ph_completion_t));
  pthread_mutex_init(&q->exec_lock, NULL);
  q->failure.failed_command = -1;
  dev->queue = q;
  if (pthread_create(&q->thread, NULL, submit_main, dev) != 0) return -1;
  q->running = 1;
  return 0;
}

/* Stops the submit thread once it has run every queued job. */
void ph_queue_stop(ph_device_t* dev) {
  struct ph_queue* q = dev->queue;
  if (!q || !q->running) return;
  ph_job_t stop = {PH_JOB_STOP, NULL, NULL, 0, NULL, 0};
  ring_push(&q->jobs, &stop);
  pthread_join(q->thread, NULL);
  q->running = 0;
}

/* Frees the queues (after ph_queue_stop and the completion thread's end). */
void ph_queue_destroy(ph_device_t* dev) {
  struct ph_queue* q = dev->queue;
  if (!q) return;
  free(q->jobs.items);
  free(q->completions.items);
  free(q);
  dev->queue = NULL;
}

/* Runs or queues (see the submit thread) a launch program (kind 1), or queues a graph
 * (kind 2), with a copy of its binding table; on the submission's last job `event` is
 * recorded behind it and completes `token`.  A RECORD job (kind 3) only records and
 * completes.  0, or -1 when out of memory. */
int ph_submit(ph_device_t* dev, uint32_t kind, const void* target, const ph_slot_t* table,
              uint64_t table_count, const void* event, uint64_t token) {
  ph_job_t job = {kind, target, NULL, table_count, event, token};
  if (table_count) {
    job.table = malloc(table_count * sizeof(ph_slot_t));
    if (!job.table) return -1;
    memcpy(job.table, table, table_count * sizeof(ph_slot_t));
  }
  if (kind == PH_JOB_GRAPH || !try_run_inline(dev, &job)) ring_push(&dev->queue->jobs, &job);
  return 0;
}

/* Blocks until the submit thread has made the driver calls of every job queued so far. */
void ph_submit_drain(ph_device_t* dev) {
  ph_ring_t* r = &dev->queue->jobs;
  pthread_mutex_lock(&r->lock);
  uint64_t target = r->tail;
  while (r->done < target) pthread_cond_wait(&r->idle, &r->lock);
  pthread_mutex_unlock(&r->lock);
}

/* Empties a channel's communicator cell while no job runs, so that none calls NCCL with
 * it afterwards (the caller then aborts the communicator).  Waits for a running job at
 * most `wait_ms`: a job blocked inside NCCL on this communicator is what the abort that
 * follows unblocks. */
void ph_comm_revoke(ph_device_t* dev, void** cell, uint32_t wait_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  int locked = dev->queue && pthread_mutex_timedlock(&dev->queue->exec_lock, &until) == 0;
  __atomic_store_n(cell, NULL, __ATOMIC_RELEASE);
  if (locked) pthread_mutex_unlock(&dev->queue->exec_lock);
}

/* Queues a completion directly: `token` with nothing to wait for (stops the thread). */
void ph_complete_push(ph_device_t* dev, uint64_t token) {
  ph_completion_t done = {NULL, token, 0, -1};
  ring_push(&dev->queue->completions, &done);
}

/* The completion thread: blocks (in C, without the GIL) until the oldest submission has
 * completed on the device; stores its token and failed record and returns the CUresult
 * of its launch, or of the wait.  (A Python queue would wake that thread into the
 * interpreter at every submission, to fight the submitting thread for the GIL.) */
int ph_complete_next(ph_device_t* dev, uint64_t* token, int64_t* failed_command) {
  ph_completion_t done;
  ring_pop(&dev->queue->completions, &done);
  CUresult rc = 0;
  if (done.event) {
    rc = dev->api->ctx_set_current(dev->ctx);
    if (!rc) rc = dev->api->event_synchronize((CUevent)done.event);
    expect_submission(dev->queue);
  }
  *token = done.token;
  *failed_command = done.failed_command;
  return done.code ? done.code : rc;
}

uint64_t ph_cmd_size(void) { return sizeof(ph_launch_t); }
uint64_t ph_encoded_size(void) { return sizeof(ph_encoded_t); }
uint64_t ph_device_size(void) { return sizeof(ph_device_t); }
uint64_t ph_graph_size(void) { return sizeof(ph_graph_t); }

#ifdef PH_PYTHON_MODULE
/* The package's build (setup.py) compiles this file as the extension module
 * polyhal.drivers.cuda._launcher, so that pip and wheels ship it built; Python loads that file
 * with ctypes and calls the ph_* functions above, except the two of each submission, which
 * the module also exports as Python functions (below).  Without
 * PH_PYTHON_MODULE this stays plain C with no Python dependency. */
#include <Python.h>

/* The destructor of the DLPack capsules interop.py hands out.  A consumer that refuses a
 * capsule (numpy given GPU memory, say) drops it with its own exception pending, and a
 * Python destructor (a ctypes callback) cannot run then: its first call fails on that
 * exception, and the consumer ends in a SystemError.  So the destructor is C: it sets the
 * pending exception aside, lets the tensor's deleter (Python) release what the capsule
 * kept alive, and puts the exception back.  A consumed capsule is renamed
 * "used_dltensor" and left alone. */
typedef struct ph_dl_managed {
  void* data;
  int32_t device_type, device_id;
  int32_t ndim;
  uint8_t code, bits;
  uint16_t lanes;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
  void* manager_ctx;
  void (*deleter)(struct ph_dl_managed*);
} ph_dl_managed;

void ph_dlpack_capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  ph_dl_managed* managed = (ph_dl_managed*)PyCapsule_GetPointer(capsule, "dltensor");
  if (managed && managed->deleter) managed->deleter(managed);
  PyErr_Restore(type, value, traceback);
}

/* Two entry points the driver calls once per submission, as Python functions: a ctypes
 * call costs 1.5 us of argument conversion and libffi set-up when hot, and ten times that
 * right after the caller slept (a host that waited for its last submission), which was
 * half the host time of a graph's submit.  They take the device as the address of its
 * ph_device_t, as the ctypes entry points do: only the driver calls them. */

/* submit(device, kind, target, event, token) -> int: ph_submit with no binding table. */
static PyObject* py_submit(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  (void)self;
  if (nargs != 5) {
    PyErr_SetString(PyExc_TypeError, "submit(device, kind, target, event, token)");
    return NULL;
  }
  ph_device_t* dev = PyLong_AsVoidPtr(args[0]);
  unsigned long kind = PyLong_AsUnsignedLong(args[1]);
  void* target = PyLong_AsVoidPtr(args[2]);
  void* event = PyLong_AsVoidPtr(args[3]);
  unsigned long long token = PyLong_AsUnsignedLongLong(args[4]);
  if (PyErr_Occurred()) return NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS /* an idle queue runs a launch program here */
  rc = ph_submit(dev, (uint32_t)kind, target, NULL, 0, event, token);
  Py_END_ALLOW_THREADS
  return PyLong_FromLong(rc);
}

/* complete_next(device) -> (token, CUresult, failed command): ph_complete_next, waiting
 * without the GIL. */
static PyObject* py_complete_next(PyObject* self, PyObject* arg) {
  (void)self;
  ph_device_t* dev = PyLong_AsVoidPtr(arg);
  if (PyErr_Occurred()) return NULL;
  uint64_t token;
  int64_t failed;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = ph_complete_next(dev, &token, &failed);
  Py_END_ALLOW_THREADS
  return Py_BuildValue("(KiL)", (unsigned long long)token, rc, (long long)failed);
}

static PyMethodDef ph_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))py_submit, METH_FASTCALL,
     "submit(device, kind, target, event, token) -> int: ph_submit with no binding table"},
    {"complete_next", py_complete_next, METH_O,
     "complete_next(device) -> (token, CUresult, failed command): ph_complete_next"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef ph_module = {PyModuleDef_HEAD_INIT, "_launcher", NULL, 0, ph_methods};

PyMODINIT_FUNC PyInit__launcher(void) { return PyModule_Create(&ph_module); }
#endif
