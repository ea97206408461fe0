/* polyhal._stream: the command-buffer front end's native half.
 *
 * Recording is what a command-buffer HAL exists to make cheap, and the per-call work of a
 * Python front end (parsing lists of tuples, range checks, building command objects) cost
 * about five microseconds a dispatch.  Here the common calls are one C function each:
 * `Recorder.dispatch`, `push_constants`, `push_descriptor_set`, `execution_barrier`,
 * `fill_buffer`, `copy_buffer` and `update_buffer` parse their arguments, validate them
 * against tables computed once per pipeline layout (LayoutInfo) and executable
 * (KernelTable), and append one record to the command stream (stream.h).
 *
 * The fast path takes the forms a program normally passes: Buffers, Python ints and
 * floats, lists or tuples of them, bytes.  Anything else (hal.Slot, hal.Binding, numpy
 * scalars, a value that fails a check) goes to the Python method `_slow_<name>` of the
 * subclass (polyhal.CommandBuffer) with the same arguments: it converts the exotic forms,
 * raises the typed error with its message for bad input, and records through the
 * primitives below (`_push_words`, `_push_set`, `_dispatch_record`, `_append`).  A fast
 * path that bails out has changed nothing, so the slow path starts from the same state.
 *
 * Buffers and allocations are read without attribute lookups: polyhal's Buffer and every
 * driver's Allocation derive from BufferBase and Storage below, whose fields are C.
 *
 * Built with the stable ABI (Py_LIMITED_API, Python 3.10), like the other native modules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define PH_MAX_SETS 16
/* Py_XSETREF is not in the limited API of Python 3.10. */
#define PH_XSETREF(dst, src)     \
  do {                           \
    PyObject* old_ = (PyObject*)(dst); \
    (dst) = (src);               \
    Py_XDECREF(old_);            \
  } while (0)
#define PH_USAGE_STORAGE 0x00000C00u  /* BufferUsage.DISPATCH_STORAGE (read or write) */
#define PH_USAGE_SRC 0x00000001u      /* BufferUsage.TRANSFER_SOURCE */
#define PH_USAGE_DST 0x00000002u      /* BufferUsage.TRANSFER_TARGET */
#define PH_CAT_TRANSFER 1u
#define PH_CAT_DISPATCH 2u
#define PH_FULL_STAGES 0x1Fu          /* every ExecutionStage but HOST */

enum { ST_INITIAL = 0, ST_RECORDING = 1, ST_EXECUTABLE = 2 };

/* Set once by configure(): the error classes and the Python types the fast path knows. */
static PyObject* Err_InvalidArgument;
static PyObject* Err_OutOfRange;
static PyObject* Err_FailedPrecondition;
static PyObject* Err_ResourceExhausted;
static PyObject* ExecutableType;
static PyObject* PipelineLayoutType;
static PyObject* RefType;  /* polyhal.commands.Ref */
static PyObject* BufferBaseType;
static PyObject* StorageType;
static PyObject* MemoryBarrierType;  /* polyhal.MemoryBarrier, or NULL */
static PyObject* DeviceBaseType;
static PyTypeObject* BufferClass;  /* the first Buffer class seen: an exact-type test */
static PyObject* LayoutInfoType;
static PyObject* KernelTableType;
static PyObject* RecorderType;
static PyObject* str_kernels;
static PyObject* str_source_stage;
static PyObject* str_target_stage;
static PyObject* str_flags;
static PyObject* str_memory_barriers;
static PyObject* str_buffer_barriers;
static PyObject* str_source_scope;
static PyObject* str_target_scope;
static PyObject* str_info;
static PyObject* str_slot_alignments;
static PyObject* str_alloc;
static PyObject* str_slot;
static PyObject* str_offset;
static PyObject* str_length;
static PyObject* str_constants;
static PyObject* str_bindings;

/* ---- Storage: the base of every driver's Allocation ----------------------------------- */
typedef struct {
  PyObject_HEAD
  uint64_t ptr;   /* the storage's address where the driver has one (local, cuda), else 0 */
  char released;  /* set by queue_dealloca */
} StorageObject;

static PyMemberDef storage_members[] = {
    {"ptr", T_ULONGLONG, offsetof(StorageObject, ptr), 0,
     "the storage's address (host or device), 0 where the driver has none"},
    {"released", T_BOOL, offsetof(StorageObject, released), 0,
     "set by queue_dealloca; the front end refuses any later use"},
    {NULL}};

static PyType_Slot storage_slots[] = {
    {Py_tp_doc, "Fields of an allocation that recording reads without a lookup."},
    {Py_tp_members, storage_members},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL}};

static PyType_Spec storage_spec = {"polyhal._stream.Storage", sizeof(StorageObject), 0,
                                   Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, storage_slots};

/* ---- DeviceBase: the base of polyhal.Device --------------------------------------------- */
typedef struct {
  PyObject_HEAD
  char closed;  /* close() was called: new work is refused */
} DeviceObject;

static PyMemberDef device_members[] = {
    {"_closed", T_BOOL, offsetof(DeviceObject, closed), 0,
     "close() was called: new work is refused"},
    {NULL}};

static PyType_Slot device_slots[] = {
    {Py_tp_doc, "The field of a Device that every recorded command checks."},
    {Py_tp_members, device_members},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL}};

static PyType_Spec device_spec = {"polyhal._stream.DeviceBase", sizeof(DeviceObject), 0,
                                  Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, device_slots};

/* ---- BufferBase: the base of polyhal.Buffer ------------------------------------------- */
typedef struct {
  PyObject_HEAD
  PyObject* device;
  PyObject* alloc;  /* a Storage */
  uint64_t offset;  /* into the allocation */
  uint64_t size;
  uint64_t usage_bits;
} BufferObject;

/* Read-only from Python: a buffer's range is what every range check trusts, so it is set
 * once, by __init__, and a caller cannot widen it afterwards. */
static PyMemberDef buffer_members[] = {
    {"device", T_OBJECT_EX, offsetof(BufferObject, device), READONLY, "the device that owns it"},
    {"alloc", T_OBJECT_EX, offsetof(BufferObject, alloc), READONLY,
     "the driver storage behind it"},
    {"offset", T_ULONGLONG, offsetof(BufferObject, offset), READONLY,
     "where it starts in the allocation, in bytes"},
    {"size", T_ULONGLONG, offsetof(BufferObject, size), READONLY, "its length in bytes"},
    {"usage_bits", T_ULONGLONG, offsetof(BufferObject, usage_bits), READONLY,
     "its BufferUsage as an int"},
    {NULL}};

/* BufferBase.__init__(device, alloc, offset, size, usage_bits) */
static int buffer_init(PyObject* self, PyObject* args, PyObject* kwargs) {
  BufferObject* b = (BufferObject*)self;
  PyObject *device, *alloc;
  unsigned long long offset, size, usage;
  if (!PyArg_ParseTuple(args, "OOKKK", &device, &alloc, &offset, &size, &usage)) return -1;
  if (!PyObject_TypeCheck(alloc, (PyTypeObject*)StorageType)) {
    PyErr_SetString(PyExc_TypeError, "a Buffer's allocation must be a polyhal Allocation");
    return -1;
  }
  if (offset + size < offset) {
    PyErr_SetString(PyExc_OverflowError, "buffer range overflows 64 bits");
    return -1;
  }
  PH_XSETREF(b->device, Py_NewRef(device));
  PH_XSETREF(b->alloc, Py_NewRef(alloc));
  b->offset = offset;
  b->size = size;
  b->usage_bits = usage;
  return 0;
}

static int buffer_traverse(PyObject* self, visitproc visit, void* arg) {
  BufferObject* b = (BufferObject*)self;
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(b->device);
  Py_VISIT(b->alloc);
  return 0;
}

static int buffer_clear(PyObject* self) {
  BufferObject* b = (BufferObject*)self;
  Py_CLEAR(b->device);
  Py_CLEAR(b->alloc);
  return 0;
}

static void buffer_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  buffer_clear(self);
  freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  free_fn(self);
  Py_DECREF(tp);
}

static PyType_Slot buffer_slots[] = {
    {Py_tp_doc, "Fields of a Buffer that recording reads without a lookup."},
    {Py_tp_members, buffer_members},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, buffer_init},
    {Py_tp_traverse, buffer_traverse},
    {Py_tp_clear, buffer_clear},
    {Py_tp_dealloc, buffer_dealloc},
    {0, NULL}};

static PyType_Spec buffer_spec = {
    "polyhal._stream.BufferBase", sizeof(BufferObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, buffer_slots};

/* ---- LayoutInfo: a pipeline layout's tables, computed once ---------------------------- */
typedef struct {
  PyObject_HEAD
  uint32_t push_constants;
  uint32_t nsets;
  uint32_t nslots;
  uint32_t* set_start;   /* nsets + 1 offsets into indices */
  uint32_t* indices;     /* each set's binding numbers, ascending */
  uint32_t* slot_set;    /* binding_slots: (set, binding) in kernel order */
  uint32_t* slot_binding;
} LayoutInfoObject;

static void layout_dealloc(PyObject* self) {
  LayoutInfoObject* l = (LayoutInfoObject*)self;
  PyTypeObject* tp = Py_TYPE(self);
  free(l->set_start);
  free(l->indices);
  free(l->slot_set);
  free(l->slot_binding);
  freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  free_fn(self);
  Py_DECREF(tp);
}

static int layout_has(const LayoutInfoObject* l, uint32_t set, uint32_t binding) {
  for (uint32_t i = l->set_start[set]; i < l->set_start[set + 1]; ++i)
    if (l->indices[i] == binding) return 1;
  return 0;
}

/* LayoutInfo(push_constants, sets): sets is a sequence of sequences of binding numbers
 * (ascending), as polyhal.PipelineLayout computes them. */
static PyObject* layout_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  unsigned long push;
  PyObject* sets;
  if (!PyArg_ParseTuple(args, "kO", &push, &sets)) return NULL;
  PyObject* seq = PySequence_Tuple(sets);
  if (!seq) return NULL;
  Py_ssize_t nsets = PyTuple_Size(seq), total = 0;
  for (Py_ssize_t s = 0; s < nsets; ++s) {
    Py_ssize_t n = PySequence_Size(PyTuple_GetItem(seq, s));
    if (n < 0) { Py_DECREF(seq); return NULL; }
    total += n;
  }
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  LayoutInfoObject* l = (LayoutInfoObject*)alloc(type, 0);
  if (!l) { Py_DECREF(seq); return NULL; }
  l->push_constants = (uint32_t)push;
  l->nsets = (uint32_t)nsets;
  l->nslots = (uint32_t)total;
  l->set_start = calloc((size_t)nsets + 1, sizeof(uint32_t));
  l->indices = calloc((size_t)total + 1, sizeof(uint32_t));
  l->slot_set = calloc((size_t)total + 1, sizeof(uint32_t));
  l->slot_binding = calloc((size_t)total + 1, sizeof(uint32_t));
  if (!l->set_start || !l->indices || !l->slot_set || !l->slot_binding) {
    Py_DECREF(seq);
    Py_DECREF(l);
    return PyErr_NoMemory();
  }
  uint32_t k = 0;
  for (Py_ssize_t s = 0; s < nsets; ++s) {
    l->set_start[s] = k;
    PyObject* items = PySequence_Tuple(PyTuple_GetItem(seq, s));
    if (!items) { Py_DECREF(seq); Py_DECREF(l); return NULL; }
    for (Py_ssize_t i = 0; i < PyTuple_Size(items); ++i) {
      unsigned long v = PyLong_AsUnsignedLong(PyTuple_GetItem(items, i));
      if (v == (unsigned long)-1 && PyErr_Occurred()) {
        Py_DECREF(items); Py_DECREF(seq); Py_DECREF(l);
        return NULL;
      }
      l->indices[k] = (uint32_t)v;
      l->slot_set[k] = (uint32_t)s;
      l->slot_binding[k] = (uint32_t)v;
      ++k;
    }
    Py_DECREF(items);
  }
  l->set_start[nsets] = k;
  Py_DECREF(seq);
  return (PyObject*)l;
}

static PyType_Slot layout_slots[] = {
    {Py_tp_doc, "A pipeline layout's tables for the recorder: LayoutInfo(push_constants, sets)."},
    {Py_tp_new, layout_new},
    {Py_tp_dealloc, layout_dealloc},
    {0, NULL}};

static PyType_Spec layout_spec = {"polyhal._stream.LayoutInfo", sizeof(LayoutInfoObject), 0,
                                  Py_TPFLAGS_DEFAULT, layout_slots};

/* ---- KernelTable: an executable's entry points, computed once ------------------------- */
typedef struct {
  uint64_t fn, env;
  uint32_t wg_size[3];
  uint32_t local_memory;
  PyObject* layout;           /* the PipelineLayout */
  LayoutInfoObject* info;     /* its LayoutInfo */
  PyObject* name;
} ph_entry_t;

typedef struct {
  PyObject_HEAD
  PyObject* device;
  PyObject* names;  /* dict: name -> index */
  uint32_t count;
  uint32_t alignment;  /* bindings' absolute offsets must be multiples of this */
  ph_entry_t* entries;
} KernelTableObject;

static int table_traverse(PyObject* self, visitproc visit, void* arg) {
  KernelTableObject* t = (KernelTableObject*)self;
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(t->device);
  Py_VISIT(t->names);
  for (uint32_t i = 0; t->entries && i < t->count; ++i) {
    Py_VISIT(t->entries[i].layout);
    Py_VISIT((PyObject*)t->entries[i].info);
    Py_VISIT(t->entries[i].name);
  }
  return 0;
}

static int table_clear(PyObject* self) {
  KernelTableObject* t = (KernelTableObject*)self;
  Py_CLEAR(t->device);
  Py_CLEAR(t->names);
  for (uint32_t i = 0; t->entries && i < t->count; ++i) {
    Py_CLEAR(t->entries[i].layout);
    Py_CLEAR(t->entries[i].info);
    Py_CLEAR(t->entries[i].name);
  }
  return 0;
}

static void table_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  table_clear(self);
  free(((KernelTableObject*)self)->entries);
  freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  free_fn(self);
  Py_DECREF(tp);
}

/* KernelTable(device, entries, alignment, names): entries is a sequence of
 * (layout, info, fn, env, (wx, wy, wz), local_memory, name). */
static PyObject* table_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject *device, *entries, *names;
  unsigned long alignment;
  if (!PyArg_ParseTuple(args, "OOkO!", &device, &entries, &alignment, &PyDict_Type, &names))
    return NULL;
  PyObject* seq = PySequence_Tuple(entries);
  if (!seq) return NULL;
  Py_ssize_t n = PyTuple_Size(seq);
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  KernelTableObject* t = (KernelTableObject*)alloc(type, 0);
  if (!t) { Py_DECREF(seq); return NULL; }
  t->entries = calloc((size_t)n + 1, sizeof(ph_entry_t));
  if (!t->entries) { Py_DECREF(seq); Py_DECREF(t); return PyErr_NoMemory(); }
  t->device = Py_NewRef(device);
  t->names = Py_NewRef(names);
  t->alignment = alignment ? (uint32_t)alignment : 1;
  for (Py_ssize_t i = 0; i < n; ++i) {
    ph_entry_t* e = &t->entries[i];
    PyObject *layout, *info, *name;
    unsigned long long fn, env;
    unsigned long wx, wy, wz, local;
    if (!PyArg_ParseTuple(PyTuple_GetItem(seq, i), "OOKK(kkk)kO", &layout, &info, &fn, &env,
                          &wx, &wy, &wz, &local, &name)) {
      Py_DECREF(seq);
      Py_DECREF(t);
      return NULL;
    }
    if (!PyObject_TypeCheck(info, (PyTypeObject*)LayoutInfoType)) {
      PyErr_SetString(PyExc_TypeError, "KernelTable: expected a LayoutInfo");
      Py_DECREF(seq);
      Py_DECREF(t);
      return NULL;
    }
    e->fn = fn;
    e->env = env;
    e->wg_size[0] = (uint32_t)wx;
    e->wg_size[1] = (uint32_t)wy;
    e->wg_size[2] = (uint32_t)wz;
    e->local_memory = (uint32_t)local;
    e->layout = Py_NewRef(layout);
    e->info = (LayoutInfoObject*)Py_NewRef(info);
    e->name = Py_NewRef(name);
    t->count = (uint32_t)(i + 1);
  }
  Py_DECREF(seq);
  return (PyObject*)t;
}

static PyType_Slot table_slots[] = {
    {Py_tp_doc, "An executable's entry points for the recorder."},
    {Py_tp_new, table_new},
    {Py_tp_traverse, table_traverse},
    {Py_tp_clear, table_clear},
    {Py_tp_dealloc, table_dealloc},
    {0, NULL}};

static PyType_Spec table_spec = {"polyhal._stream.KernelTable", sizeof(KernelTableObject), 0,
                                 Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, table_slots};

/* ---- Recorder: the command stream of one command buffer ------------------------------- */
typedef struct {
  uint32_t count;
  uint32_t* index;  /* max_bindings entries each */
  ph_ref_t* ref;
} ph_set_t;

typedef struct {
  PyObject_HEAD
  ph_cmd_t* cmds;
  uint64_t ncmd, capcmd;
  ph_ref_t* refs;
  uint64_t nref, capref;
  uint32_t* consts;
  uint64_t nconst, capconst;
  uint8_t* data;
  uint64_t ndata, capdata;
  PyObject* objects;     /* list: what records name by index */
  PyObject* allocs;      /* list: every allocation a direct reference names */
  PyObject* alloc_index; /* dict: allocation -> its index in allocs */
  PyObject* last_alloc;  /* borrowed (allocs holds it): one-entry cache of alloc_index */
  uint32_t last_alloc_index;
  PyObject* device;
  int state;
  int validate;
  uint32_t categories;
  uint32_t max_push, max_bindings;
  uint32_t max_wg[3];
  /* push state */
  uint32_t* push;
  PyObject* layout;             /* the pushed PipelineLayout, or NULL */
  uint32_t nsets_bound;         /* sets [0, nsets_bound) may hold bindings */
  uint32_t set_bound[PH_MAX_SETS];
  ph_set_t sets[PH_MAX_SETS];
  /* the last dispatch's state, reused while nothing is pushed */
  PyObject* cached_layout;      /* NULL when something was pushed since */
  uint32_t cached_ci, cached_cn, cached_bi, cached_bn;
  uint32_t cached_align;        /* the binding alignment those entries were checked at */
  PyObject* last_exe;
  KernelTableObject* last_table;
  uint32_t last_exe_object;
  PyObject* last_object;        /* borrowed: the last object appended */
  uint32_t last_object_index;
  PyObject* barrier_object;     /* the last barrier's (memory barriers, ()) object */
  uint32_t barrier_index;
  PyObject* allocs_seen;        /* the last tuples `allocations` and `objects` returned */
  PyObject* objects_seen;
  PyObject* weakrefs;
} RecorderObject;

#define REC(o) ((RecorderObject*)(o))

static int grow(void** array, uint64_t* cap, uint64_t need, size_t item) {
  if (need <= *cap) return 0;
  uint64_t cap2 = *cap ? *cap : 16;
  while (cap2 < need) cap2 *= 2;
  void* p = realloc(*array, cap2 * item);
  if (!p) { PyErr_NoMemory(); return -1; }
  *array = p;
  *cap = cap2;
  return 0;
}

static ph_cmd_t* new_cmd(RecorderObject* r, uint32_t op) {
  if (grow((void**)&r->cmds, &r->capcmd, r->ncmd + 1, sizeof(ph_cmd_t))) return NULL;
  ph_cmd_t* c = &r->cmds[r->ncmd++];
  memset(c, 0, sizeof(*c));
  c->op = op;
  c->object = PH_NO_OBJECT;
  c->a.slot = -1;
  c->b.slot = -1;
  c->a.alloc = PH_NO_OBJECT;  /* unused until set */
  c->b.alloc = PH_NO_OBJECT;
  return c;
}

static int rec_traverse(PyObject* self, visitproc visit, void* arg) {
  RecorderObject* r = REC(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(r->objects);
  Py_VISIT(r->allocs);
  Py_VISIT(r->alloc_index);
  Py_VISIT(r->device);
  Py_VISIT(r->layout);
  Py_VISIT(r->cached_layout);
  Py_VISIT(r->last_exe);
  Py_VISIT(r->barrier_object);
  Py_VISIT(r->allocs_seen);
  Py_VISIT(r->objects_seen);
  Py_VISIT((PyObject*)r->last_table);
  return 0;
}

static int rec_clear(PyObject* self) {
  RecorderObject* r = REC(self);
  Py_CLEAR(r->objects);
  Py_CLEAR(r->allocs);
  Py_CLEAR(r->alloc_index);
  r->last_alloc = NULL;
  r->last_object = NULL;
  Py_CLEAR(r->device);
  Py_CLEAR(r->layout);
  Py_CLEAR(r->cached_layout);
  Py_CLEAR(r->last_exe);
  Py_CLEAR(r->barrier_object);
  Py_CLEAR(r->allocs_seen);
  Py_CLEAR(r->objects_seen);
  Py_CLEAR(r->last_table);
  return 0;
}

static void rec_free_arrays(RecorderObject* r) {
  free(r->cmds);
  free(r->refs);
  free(r->consts);
  free(r->data);
  free(r->push);
  for (int s = 0; s < PH_MAX_SETS; ++s) {
    free(r->sets[s].index);
    free(r->sets[s].ref);
  }
}

static void rec_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  if (REC(self)->weakrefs) PyObject_ClearWeakRefs(self);
  rec_clear(self);
  rec_free_arrays(REC(self));
  freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  free_fn(self);
  Py_DECREF(tp);
}

static PyObject* rec_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  RecorderObject* r = (RecorderObject*)alloc(type, 0);
  if (!r) return NULL;
  r->objects = PyList_New(0);
  r->allocs = PyList_New(0);
  r->alloc_index = PyDict_New();
  if (!r->objects || !r->allocs || !r->alloc_index) { Py_DECREF(r); return NULL; }
  r->validate = 1;
  r->categories = 3;
  return (PyObject*)r;
}

/* _setup(device, validate, categories, max_push_constants, max_bindings, max_wg) */
static PyObject* rec_setup(PyObject* self, PyObject* args) {
  RecorderObject* r = REC(self);
  PyObject* device;
  int validate;
  unsigned long categories, max_push, max_bindings, wx, wy, wz;
  if (!PyArg_ParseTuple(args, "Opkkk(kkk)", &device, &validate, &categories, &max_push,
                        &max_bindings, &wx, &wy, &wz))
    return NULL;
  if (r->push) {
    PyErr_SetString(PyExc_RuntimeError, "_setup called twice");
    return NULL;
  }
  if (!PyObject_TypeCheck(device, (PyTypeObject*)DeviceBaseType)) {
    PyErr_SetString(PyExc_TypeError, "_setup: device is not a polyhal Device");
    return NULL;
  }
  PH_XSETREF(r->device, Py_NewRef(device));
  r->validate = validate;
  r->categories = (uint32_t)categories;
  r->max_push = (uint32_t)max_push;
  r->max_bindings = (uint32_t)max_bindings;
  r->max_wg[0] = (uint32_t)wx;
  r->max_wg[1] = (uint32_t)wy;
  r->max_wg[2] = (uint32_t)wz;
  r->push = calloc(max_push + 1, sizeof(uint32_t));
  if (!r->push) return PyErr_NoMemory();
  for (int s = 0; s < PH_MAX_SETS; ++s) {
    r->sets[s].index = calloc(max_bindings + 1, sizeof(uint32_t));
    r->sets[s].ref = calloc(max_bindings + 1, sizeof(ph_ref_t));
    if (!r->sets[s].index || !r->sets[s].ref) return PyErr_NoMemory();
  }
  Py_RETURN_NONE;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* 1 when commands may be recorded (recording, device open, category allowed), 0 when the
 * slow path must explain why not, -1 on an error. */
static int can_record(RecorderObject* r, uint32_t category) {
  if (r->state != ST_RECORDING || !(r->categories & category) || !r->device) return 0;
  return !((DeviceObject*)r->device)->closed;  /* _setup checked the type */
}

/* An exact Python int as an int64 in [0, 2**63); -1 when it is anything else. */
static int64_t exact_index(PyObject* o) {
  if (!PyLong_CheckExact(o)) return -1;
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (overflow || v < 0) {
    PyErr_Clear();
    return -1;
  }
  return (int64_t)v;
}

static int is_buffer(PyObject* o) {
  PyTypeObject* type = Py_TYPE(o);
  if (type == BufferClass) return 1;
  if (!PyType_IsSubtype(type, (PyTypeObject*)BufferBaseType)) return 0;
  /* The first class seen (polyhal.Buffer in practice), with a reference kept for good: a
   * borrowed pointer could name a freed subclass whose address a new, unrelated class
   * reuses, and dropping a reference here could run a weakref callback mid-call. */
  if (!BufferClass) BufferClass = (PyTypeObject*)Py_NewRef((PyObject*)type);
  return 1;
}

/* The index of `alloc` in the stream's allocation list, adding it; UINT32_MAX on error. */
static uint32_t alloc_slot(RecorderObject* r, PyObject* alloc) {
  if (alloc == r->last_alloc) return r->last_alloc_index;
  PyObject* found = PyDict_GetItemWithError(r->alloc_index, alloc);
  uint32_t index;
  if (found) {
    index = (uint32_t)PyLong_AsUnsignedLong(found);
  } else {
    if (PyErr_Occurred()) return UINT32_MAX;
    index = (uint32_t)PyList_Size(r->allocs);
    PyObject* number = PyLong_FromUnsignedLong(index);
    if (!number) return UINT32_MAX;
    int bad = PyDict_SetItem(r->alloc_index, alloc, number) || PyList_Append(r->allocs, alloc);
    Py_DECREF(number);
    if (bad) return UINT32_MAX;
  }
  r->last_alloc = alloc;
  r->last_alloc_index = index;
  return index;
}

/* The index of `obj` in the object list, adding it (consecutive repeats share one). */
static uint32_t object_slot(RecorderObject* r, PyObject* obj) {
  if (obj == r->last_object && r->last_object) return r->last_object_index;
  uint32_t index = (uint32_t)PyList_Size(r->objects);
  if (PyList_Append(r->objects, obj)) return UINT32_MAX;
  r->last_object = obj;
  r->last_object_index = index;
  return index;
}

/* A direct reference to [offset, offset + length) of a Buffer, checked: 1 valid (`out`
 * set, its alloc field holding the Storage pointer until commit), 0 invalid (the slow
 * path raises), never an exception.  length -1 means WHOLE_BUFFER. */
typedef struct {
  ph_ref_t ref;
  PyObject* alloc;  /* borrowed: the caller's arguments keep the buffer alive */
} pending_ref_t;

static int buffer_ref(RecorderObject* r, PyObject* buf, int64_t offset, int64_t length,
                      uint32_t usage, uint32_t align, pending_ref_t* out) {
  BufferObject* b = (BufferObject*)buf;
  /* alloc is NULL only if __init__ never ran (a subclass that skipped it) */
  if (b->device != r->device || !b->alloc || offset < 0) return 0;
  StorageObject* s = (StorageObject*)b->alloc;
  if (s->released) return 0;
  uint64_t size = b->size;
  if ((uint64_t)offset > size) return 0;
  uint64_t len = length < 0 ? size - (uint64_t)offset : (uint64_t)length;
  if ((uint64_t)offset + len > size || (uint64_t)offset + len < (uint64_t)offset) return 0;
  if (r->validate) {
    if (usage && !(b->usage_bits & usage)) return 0;
    if (align > 1 && (((uint64_t)offset % align) || (len % align))) return 0;
  }
  out->ref.slot = -1;
  out->ref.base = s->ptr;
  out->ref.offset = b->offset + (uint64_t)offset;
  out->ref.length = len;
  out->ref.alloc = 0;
  out->ref.reserved = 0;
  out->alloc = b->alloc;
  return 1;
}

static int commit_ref(RecorderObject* r, pending_ref_t* p, ph_ref_t* out) {
  uint32_t index = alloc_slot(r, p->alloc);
  if (index == UINT32_MAX) return -1;
  *out = p->ref;
  out->alloc = index;
  return 0;
}

/* A commands.Ref (the slow path's resolved reference) as a stream reference. */
static int ref_from_py(RecorderObject* r, PyObject* ref, ph_ref_t* out) {
  PyObject* alloc = PyObject_GetAttr(ref, str_alloc);
  if (!alloc) return -1;
  PyObject* slot = PyObject_GetAttr(ref, str_slot);
  PyObject* offset = PyObject_GetAttr(ref, str_offset);
  PyObject* length = PyObject_GetAttr(ref, str_length);
  int status = -1;
  if (slot && offset && length) {
    memset(out, 0, sizeof(*out));
    out->offset = PyLong_AsUnsignedLongLong(offset);
    out->length = PyLong_AsUnsignedLongLong(length);
    if (alloc == Py_None) {
      out->slot = PyLong_AsLongLong(slot);
    } else if (PyObject_TypeCheck(alloc, (PyTypeObject*)StorageType)) {
      out->slot = -1;
      out->base = ((StorageObject*)alloc)->ptr;
      out->alloc = alloc_slot(r, alloc);
    } else {
      PyErr_SetString(PyExc_TypeError, "Ref.alloc is not a Storage");
    }
    status = PyErr_Occurred() ? -1 : 0;
  }
  Py_DECREF(alloc);
  Py_XDECREF(slot);
  Py_XDECREF(offset);
  Py_XDECREF(length);
  return status;
}

static PyObject* slow(PyObject* self, const char* name, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* kwnames) {
  if (PyErr_Occurred()) return NULL;
  PyObject* method = PyObject_GetAttrString(self, name);
  if (!method) return NULL;
  Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
  PyObject* tuple = PyTuple_New(nargs);
  PyObject* kw = nkw ? PyDict_New() : NULL;
  PyObject* result = NULL;
  if (tuple && (!nkw || kw)) {
    for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SetItem(tuple, i, Py_NewRef(args[i]));
    int bad = 0;
    for (Py_ssize_t i = 0; i < nkw && !bad; ++i)
      bad = PyDict_SetItem(kw, PyTuple_GetItem(kwnames, i), args[nargs + i]);
    if (!bad) result = PyObject_Call(method, tuple, kw);
  }
  Py_DECREF(method);
  Py_XDECREF(tuple);
  Py_XDECREF(kw);
  return result;
}

/* ---- push state ------------------------------------------------------------------------ */

/* Parses push-constant values in the fast forms (bytes with a length multiple of 4, or a
 * list/tuple of Python ints in [-2**31, 2**32) and finite floats) into `out` (at most
 * `room` words).  Returns the word count, or -1 when the slow path must handle them. */
static Py_ssize_t parse_constants(PyObject* values, uint32_t* out, Py_ssize_t room) {
  if (PyBytes_CheckExact(values)) {
    Py_ssize_t n = PyBytes_Size(values);
    if (n % 4 || n / 4 > room) return -1;
    memcpy(out, PyBytes_AsString(values), (size_t)n);
    return n / 4;
  }
  int is_list = PyList_CheckExact(values);
  if (!is_list && !PyTuple_CheckExact(values)) return -1;
  Py_ssize_t n = is_list ? PyList_Size(values) : PyTuple_Size(values);
  if (n > room) return -1;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* v = is_list ? PyList_GetItem(values, i) : PyTuple_GetItem(values, i);
    if (PyLong_CheckExact(v)) {
      int overflow = 0;
      long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
      if (overflow || x < -2147483648LL || x > 4294967295LL) { PyErr_Clear(); return -1; }
      out[i] = (uint32_t)(x & 0xFFFFFFFFu);
    } else if (PyFloat_CheckExact(v)) {
      double d = PyFloat_AsDouble(v);
      float f = (float)d;
      if (isinf(f) && !isinf(d)) return -1;  /* out of float32 range: the slow path says so */
      memcpy(&out[i], &f, 4);
    } else {
      return -1;
    }
  }
  return n;
}

static void pushed(RecorderObject* r, PyObject* layout) {
  if (r->layout != layout) PH_XSETREF(r->layout, Py_NewRef(layout));
  Py_CLEAR(r->cached_layout);
}

/* Checks the fast form of `layout` (exactly a PipelineLayout) and returns its LayoutInfo
 * (borrowed from the layout's `_info`), or NULL (with no exception) for the slow path.
 * Any other object goes to the slow path: its `_info` might be computed, so that nothing
 * would own the LayoutInfo once read, and the slow path refuses what is no layout. */
static LayoutInfoObject* layout_info(PyObject* layout) {
  if (Py_TYPE(layout) != (PyTypeObject*)PipelineLayoutType) return NULL;
  PyObject* info = PyObject_GetAttr(layout, str_info);
  if (!info) {
    PyErr_Clear();
    return NULL;
  }
  Py_DECREF(info);  /* the layout keeps it */
  if (!PyObject_TypeCheck(info, (PyTypeObject*)LayoutInfoType)) return NULL;
  return (LayoutInfoObject*)info;
}

/* Parses the bindings of a descriptor-set push in the fast form: a list or tuple of
 * (int, Buffer) or (int, Buffer, offset[, length]) tuples, each valid.  Returns the count
 * or -1 for the slow path. */
static Py_ssize_t parse_bindings(RecorderObject* r, const LayoutInfoObject* info, uint32_t set,
                                 PyObject* bindings, uint32_t* index, pending_ref_t* refs) {
  int is_list = PyList_CheckExact(bindings);
  if (!is_list && !PyTuple_CheckExact(bindings)) return -1;
  Py_ssize_t n = is_list ? PyList_Size(bindings) : PyTuple_Size(bindings);
  if (n > (Py_ssize_t)r->max_bindings) return -1;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* b = is_list ? PyList_GetItem(bindings, i) : PyTuple_GetItem(bindings, i);
    if (!PyTuple_CheckExact(b)) return -1;
    Py_ssize_t m = PyTuple_Size(b);
    if (m < 2 || m > 4) return -1;
    int64_t binding = exact_index(PyTuple_GetItem(b, 0));
    PyObject* buf = PyTuple_GetItem(b, 1);
    if (binding < 0 || binding > UINT32_MAX || !is_buffer(buf)) return -1;
    int64_t offset = 0, length = -1;
    if (m > 2 && (offset = exact_index(PyTuple_GetItem(b, 2))) < 0) return -1;
    if (m > 3) {
      PyObject* l = PyTuple_GetItem(b, 3);
      length = exact_index(l);
      if (length < 0) {
        /* WHOLE_BUFFER (2**64 - 1) is the only length beyond int64 the fast path takes */
        if (!PyLong_CheckExact(l)) return -1;
        unsigned long long u = PyLong_AsUnsignedLongLong(l);
        if (PyErr_Occurred()) { PyErr_Clear(); return -1; }
        if (u != UINT64_MAX) return -1;
        length = -1;
      }
    }
    if (r->validate && !layout_has(info, set, (uint32_t)binding)) return -1;
    if (!buffer_ref(r, buf, offset, length, PH_USAGE_STORAGE, 1, &refs[i])) return -1;
    index[i] = (uint32_t)binding;
  }
  return n;
}

/* Replaces set `set` (dropping the sets above it) with parsed bindings. */
/* Where binding number `binding` goes in set `s`: its entry when this push named it
 * before (a repeated binding number replaces the earlier one), else the next free one. */
static uint32_t set_entry(const ph_set_t* s, uint32_t binding) {
  uint32_t k = 0;
  while (k < s->count && s->index[k] != binding) ++k;
  return k;
}

/* Entry `k` of set `s` (from set_entry) now holds binding number `binding`. */
static void set_keep(ph_set_t* s, uint32_t k, uint32_t binding) {
  s->index[k] = binding;
  if (k == s->count) ++s->count;
}

/* Set `set` was pushed: it is bound, and the sets above it (every other set, for set 0)
 * are dropped, as IREE's push rules say. */
static void set_pushed(RecorderObject* r, uint32_t set) {
  if (set == 0) memset(r->set_bound, 0, sizeof(r->set_bound));
  for (uint32_t t = set + 1; t < PH_MAX_SETS; ++t) r->set_bound[t] = 0;
  r->set_bound[set] = 1;
  r->nsets_bound = set + 1;
}

static int commit_set(RecorderObject* r, uint32_t set, Py_ssize_t n, const uint32_t* index,
                      pending_ref_t* refs) {
  ph_set_t* s = &r->sets[set];
  s->count = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    uint32_t k = set_entry(s, index[i]);
    if (commit_ref(r, &refs[i], &s->ref[k])) return -1;
    set_keep(s, k, index[i]);
  }
  set_pushed(r, set);
  return 0;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static KernelTableObject* kernel_table(RecorderObject* r, PyObject* exe) {
  if (exe == r->last_exe) return r->last_table;
  if (!PyObject_TypeCheck(exe, (PyTypeObject*)ExecutableType)) return NULL;
  PyObject* table = PyObject_GetAttr(exe, str_kernels);
  if (!table) {
    PyErr_Clear();
    return NULL;
  }
  if (!PyObject_TypeCheck(table, (PyTypeObject*)KernelTableType)) {
    Py_DECREF(table);
    return NULL;
  }
  uint32_t index = object_slot(r, exe);
  if (index == UINT32_MAX) {
    Py_DECREF(table);
    return NULL;
  }
  PH_XSETREF(r->last_exe, Py_NewRef(exe));
  PH_XSETREF(r->last_table, (KernelTableObject*)table);
  r->last_exe_object = index;
  return r->last_table;
}

static int append_slot_alignment(RecorderObject* r, const ph_ref_t* ref, uint32_t align,
                                 PyObject* name) {
  PyObject* list = PyObject_GetAttr((PyObject*)r, str_slot_alignments);
  if (!list) return -1;
  PyObject* pyref = PyObject_CallFunction(RefType, "OLKK", Py_None, (long long)ref->slot,
                                          (unsigned long long)ref->offset,
                                          (unsigned long long)ref->length);
  PyObject* what = PyUnicode_FromFormat("binding of %R", name);
  PyObject* item = pyref && what ? Py_BuildValue("(OkO)", pyref, (unsigned long)align, what)
                                 : NULL;
  int status = item ? PyList_Append(list, item) : -1;
  Py_DECREF(list);
  Py_XDECREF(pyref);
  Py_XDECREF(what);
  Py_XDECREF(item);
  return status;
}

/* 1 while recording, else 0 with FailedPreconditionError.  The slow path checks the state
 * first, but then runs user code (an argument's __index__) that may end this command
 * buffer: an ended stream is what executors read in place, so nothing may change it. */
static int still_recording(RecorderObject* r) {
  if (r->state == ST_RECORDING) return 1;
  PyErr_SetString(Err_FailedPrecondition, r->state == ST_INITIAL
                                              ? "command recorded outside begin()/end()"
                                              : "command recorded after end()");
  return 0;
}

/* Checks that the `bn` bindings at refs[bi] start at multiples of the executable's
 * binding alignment (slot references: at submit, once the table places them). */
static int check_alignment(RecorderObject* r, const KernelTableObject* table,
                           const ph_entry_t* e, uint32_t bi, uint32_t bn) {
  for (uint32_t i = 0; i < bn; ++i) {
    const ph_ref_t* ref = &r->refs[bi + i];
    if (ref->slot >= 0) {
      if (append_slot_alignment(r, ref, table->alignment, e->name)) return -1;
    } else if (ref->offset % table->alignment) {
      PyErr_Format(Err_InvalidArgument,
                   "dispatch of %R: binding offset %llu is not a multiple of %u bytes, "
                   "which this executable's kernels require", e->name,
                   (unsigned long long)ref->offset, table->alignment);
      return -1;
    }
  }
  r->cached_align = table->alignment;
  return 0;
}

/* Appends a dispatch of entry `ep` with the pushed state: raises for a missing layout,
 * an unbound binding, too many bindings or a misaligned binding. */
static int record_dispatch(RecorderObject* r, KernelTableObject* table, uint32_t ep,
                           const uint32_t* counts, const ph_ref_t* indirect) {
  ph_entry_t* e = &table->entries[ep];
  LayoutInfoObject* info = e->info;
  uint32_t ci, cn, bi, bn;
  if (r->cached_layout == e->layout) {
    ci = r->cached_ci; cn = r->cached_cn; bi = r->cached_bi; bn = r->cached_bn;
    /* Executables that share a layout may differ in alignment (a C kernel and an IREE
     * one on local): entries checked at a multiple of this one's alignment stay valid. */
    if (table->alignment > 1 && r->cached_align % table->alignment &&
        check_alignment(r, table, e, bi, bn))
      return -1;
  } else {
    if (!r->layout && (info->push_constants || info->nslots)) {
      PyErr_Format(Err_InvalidArgument,
                   "dispatch of %R with no pushed layout (push constants or a descriptor set "
                   "first)", e->name);
      return -1;
    }
    if (info->nslots > r->max_bindings) {
      PyErr_Format(Err_ResourceExhausted, "%u bindings exceed the device's %u",
                   info->nslots, r->max_bindings);
      return -1;
    }
    cn = info->push_constants <= r->max_push ? info->push_constants : r->max_push;
    /* the same words as the last dispatch's: share them */
    if (r->nconst >= cn && cn && r->cached_cn == cn &&
        !memcmp(r->consts + r->cached_ci, r->push, cn * 4u)) {
      ci = r->cached_ci;
    } else {
      if (grow((void**)&r->consts, &r->capconst, r->nconst + cn, 4)) return -1;
      ci = (uint32_t)r->nconst;
      memcpy(r->consts + ci, r->push, cn * 4u);
      r->nconst += cn;
    }
    bn = info->nslots;
    if (grow((void**)&r->refs, &r->capref, r->nref + bn, sizeof(ph_ref_t))) return -1;
    bi = (uint32_t)r->nref;
    for (uint32_t i = 0; i < bn; ++i) {
      uint32_t s = info->slot_set[i], b = info->slot_binding[i];
      const ph_ref_t* found = NULL;
      if (s < PH_MAX_SETS && r->set_bound[s]) {
        const ph_set_t* set = &r->sets[s];
        for (uint32_t k = 0; k < set->count; ++k)
          if (set->index[k] == b) { found = &set->ref[k]; break; }
      }
      if (!found) {
        PyErr_Format(Err_InvalidArgument,
                     "dispatch of %R: set %u binding %u is not bound (pushing a set drops the "
                     "sets at and above it)", e->name, s, b);
        return -1;
      }
      r->refs[bi + i] = *found;
    }
    r->cached_align = 1;
    if (table->alignment > 1 && check_alignment(r, table, e, bi, bn)) return -1;
    r->nref += bn;
    /* A later dispatch with nothing pushed in between reuses these entries. */
    if (r->cached_layout != e->layout) PH_XSETREF(r->cached_layout, Py_NewRef(e->layout));
    r->cached_ci = ci; r->cached_cn = cn; r->cached_bi = bi; r->cached_bn = bn;
  }
  /* a slot binding's alignment check built a commands.Ref: Python code, during which
   * another thread (or a subclass's attribute) may have ended this command buffer */
  if (!still_recording(r)) return -1;
  ph_cmd_t* c = new_cmd(r, PH_OP_DISPATCH);
  if (!c) return -1;
  c->fn = e->fn;
  c->env = e->env;
  memcpy(c->wg_size, e->wg_size, sizeof(c->wg_size));
  c->local_memory_size = e->local_memory;
  c->constant_count = cn;
  c->constants_index = ci;
  c->binding_count = bn;
  c->bindings_index = bi;
  c->object = table == r->last_table ? r->last_exe_object : PH_NO_OBJECT;
  c->entry_point = ep;
  if (indirect) {
    c->aux = PH_AUX_INDIRECT;
    c->a = *indirect;
  } else {
    memcpy(c->wg_count, counts, sizeof(c->wg_count));
  }
  return 0;
}

/* Parses a workgroup count in the fast forms (an int, or a tuple/list of 1-3 ints) within
 * the device's limits; 0 for the slow path. */
static int parse_counts(RecorderObject* r, PyObject* o, uint32_t* counts) {
  counts[0] = counts[1] = counts[2] = 1;
  if (PyLong_CheckExact(o)) {
    int64_t v = exact_index(o);
    if (v < 0 || (uint64_t)v > r->max_wg[0]) return 0;
    counts[0] = (uint32_t)v;
    return 1;
  }
  int is_list = PyList_CheckExact(o);
  if (!is_list && !PyTuple_CheckExact(o)) return 0;
  Py_ssize_t n = is_list ? PyList_Size(o) : PyTuple_Size(o);
  if (n < 1 || n > 3) return 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    int64_t v = exact_index(is_list ? PyList_GetItem(o, i) : PyTuple_GetItem(o, i));
    if (v < 0 || (uint64_t)v > r->max_wg[i]) return 0;
    counts[i] = (uint32_t)v;
  }
  return 1;
}

/* dispatch(executable, entry_point, workgroup_count, *, constants=None, bindings=None) */
static PyObject* rec_dispatch(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames) {
  RecorderObject* r = REC(self);
  PyObject *constants = NULL, *bindings = NULL;
  Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
  if (nargs != 3) goto slow_path;
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* key = PyTuple_GetItem(kwnames, i);  /* interned: usually the same object */
    if (key == str_constants || PyUnicode_Compare(key, str_constants) == 0)
      constants = args[nargs + i];
    else if (key == str_bindings || PyUnicode_Compare(key, str_bindings) == 0)
      bindings = args[nargs + i];
    else
      goto slow_path;
  }
  if (constants == Py_None) constants = NULL;
  if (bindings == Py_None) bindings = NULL;
  int ok = can_record(r, PH_CAT_DISPATCH);
  if (ok <= 0) goto slow_path;
  /* exactly an Executable: a subclass's `_kernels` could run code that ends recording */
  if (Py_TYPE(args[0]) != (PyTypeObject*)ExecutableType) goto slow_path;
  KernelTableObject* table = kernel_table(r, args[0]);
  if (!table || table->device != r->device) goto slow_path;
  int64_t ep;
  if (PyUnicode_CheckExact(args[1])) {  /* a name, as the README's shorthand passes it */
    PyObject* found = PyDict_GetItemWithError(table->names, args[1]);
    if (!found) goto slow_path;  /* NotFoundError, or the lookup's own error */
    ep = exact_index(found);
  } else {
    ep = exact_index(args[1]);
  }
  if (ep < 0 || ep >= table->count) goto slow_path;
  uint32_t counts[3];
  if (!parse_counts(r, args[2], counts)) goto slow_path;
  ph_entry_t* e = &table->entries[ep];
  LayoutInfoObject* info = e->info;
  uint32_t words[64];
  uint32_t* cw = words;
  Py_ssize_t nwords = 0;
  if (constants) {
    Py_ssize_t room = r->max_push;
    if (r->validate && (Py_ssize_t)info->push_constants < room) room = info->push_constants;
    if (room > 64) room = 64;  /* longer pushes take the slow path */
    if ((nwords = parse_constants(constants, cw, room)) < 0) goto slow_path;
  }
  uint32_t index[64];
  pending_ref_t refs[64];
  Py_ssize_t nbind = 0;
  if (bindings) {
    if (info->nsets == 0 || r->max_bindings > 64) goto slow_path;
    if ((nbind = parse_bindings(r, info, 0, bindings, index, refs)) < 0) goto slow_path;
  }
  /* Everything is valid: commit. */
  if (constants) {
    memcpy(r->push, cw, (size_t)nwords * 4);
    pushed(r, e->layout);
  }
  if (bindings) {
    if (commit_set(r, 0, nbind, index, refs)) return NULL;
    pushed(r, e->layout);
  }
  if (record_dispatch(r, table, (uint32_t)ep, counts, NULL)) return NULL;
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_dispatch", args, nargs, kwnames);
}

/* push_constants(layout, offset, values) */
static PyObject* rec_push_constants(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                    PyObject* kwnames) {
  RecorderObject* r = REC(self);
  if (nargs != 3 || kwnames) goto slow_path;
  int ok = can_record(r, PH_CAT_DISPATCH);
  if (ok <= 0) goto slow_path;
  LayoutInfoObject* info = layout_info(args[0]);
  int64_t offset = exact_index(args[1]);
  if (!info || offset < 0 || offset % 4) goto slow_path;
  uint32_t words[64];
  int64_t first = offset / 4;
  int64_t limit = r->validate && info->push_constants < r->max_push ? info->push_constants
                                                                     : r->max_push;
  if (first > limit) goto slow_path;
  int64_t room = limit - first;
  if (room > 64) room = 64;
  Py_ssize_t n = parse_constants(args[2], words, (Py_ssize_t)room);
  if (n < 0) goto slow_path;
  memcpy(r->push + first, words, (size_t)n * 4);
  pushed(r, args[0]);
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_push_constants", args, nargs, kwnames);
}

/* push_descriptor_set(layout, set, bindings) */
static PyObject* rec_push_set(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames) {
  RecorderObject* r = REC(self);
  if (nargs != 3 || kwnames) goto slow_path;
  int ok = can_record(r, PH_CAT_DISPATCH);
  if (ok <= 0) goto slow_path;
  LayoutInfoObject* info = layout_info(args[0]);
  int64_t set = exact_index(args[1]);
  if (!info || set < 0 || set >= info->nsets || set >= PH_MAX_SETS || r->max_bindings > 64)
    goto slow_path;
  uint32_t index[64];
  pending_ref_t refs[64];
  Py_ssize_t n = parse_bindings(r, info, (uint32_t)set, args[2], index, refs);
  if (n < 0) goto slow_path;
  if (commit_set(r, (uint32_t)set, n, index, refs)) return NULL;
  pushed(r, args[0]);
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_push_descriptor_set", args, nargs, kwnames);
}

/* ---- transfers and barriers -------------------------------------------------------------- */

/* execution_barrier(): the fast path takes the full barrier with no arguments. */
#define PH_STAGE_BITS 0x3Fu  /* every ExecutionStage, HOST included */
#define PH_SCOPE_BITS 0x3FFu /* every AccessScope */

/* An int or IntFlag (not a bool) with no bits outside `mask`, as its value; -1 for
 * anything else.  Reads an int subclass's value directly: no Python code runs. */
static int64_t flag_value(PyObject* o, uint64_t mask) {
  if (!PyLong_Check(o) || PyBool_Check(o)) return -1;
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (overflow || v < 0 || ((uint64_t)v & ~mask)) {
    PyErr_Clear();
    return -1;
  }
  return (int64_t)v;
}

/* The (memory barriers, ()) object of a barrier record: sets `*index` to its index in the
 * object list (PH_NO_OBJECT for none) and returns 1, or returns 0 for the slow path, -1 on
 * an error.  A sequence of the same MemoryBarrier objects as the last barrier's shares its
 * entry. */
static int memory_barriers_object(RecorderObject* r, PyObject* seq, uint32_t* index) {
  int is_list = PyList_CheckExact(seq);
  if (!is_list && !PyTuple_CheckExact(seq)) return 0;
  Py_ssize_t n = is_list ? PyList_Size(seq) : PyTuple_Size(seq);
  *index = PH_NO_OBJECT;
  if (n == 0) return 1;
  if (n > 64 || !MemoryBarrierType) return 0;
  PyObject* items[64];
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* b = is_list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
    if (Py_TYPE(b) != (PyTypeObject*)MemoryBarrierType) return 0;
    items[i] = b;
  }
  PyObject* last = r->barrier_object ? PyTuple_GetItem(r->barrier_object, 0) : NULL;
  if (last && PyTuple_Size(last) == n) {
    Py_ssize_t i = 0;
    while (i < n && PyTuple_GetItem(last, i) == items[i]) ++i;
    if (i == n) {  /* validated when first seen; frozen since */
      *index = r->barrier_index;
      return 1;
    }
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* source = PyObject_GetAttr(items[i], str_source_scope);
    PyObject* target = source ? PyObject_GetAttr(items[i], str_target_scope) : NULL;
    int good = target && flag_value(source, PH_SCOPE_BITS) >= 0 &&
               flag_value(target, PH_SCOPE_BITS) >= 0;
    Py_XDECREF(source);
    Py_XDECREF(target);
    if (!good) {
      PyErr_Clear();
      return 0;
    }
  }
  PyObject* memory = PyTuple_New(n);
  if (!memory) return -1;
  for (Py_ssize_t i = 0; i < n; ++i) PyTuple_SetItem(memory, i, Py_NewRef(items[i]));
  PyObject* empty = PyTuple_New(0);
  PyObject* pair = empty ? PyTuple_Pack(2, memory, empty) : NULL;
  Py_DECREF(memory);
  Py_XDECREF(empty);
  if (!pair) return -1;
  *index = (uint32_t)PyList_Size(r->objects);
  if (PyList_Append(r->objects, pair)) {
    Py_DECREF(pair);
    return -1;
  }
  PH_XSETREF(r->barrier_object, pair);
  r->barrier_index = *index;
  return 1;
}

/* execution_barrier(source_stage=ALL, target_stage=ALL, flags=0, memory_barriers=(),
 * buffer_barriers=()): the fast path takes every form but buffer barriers. */
static PyObject* rec_barrier(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
  RecorderObject* r = REC(self);
  PyObject* vals[5] = {NULL, NULL, NULL, NULL, NULL};
  PyObject* const names[5] = {str_source_stage, str_target_stage, str_flags,
                              str_memory_barriers, str_buffer_barriers};
  if (nargs > 5) goto slow_path;
  for (Py_ssize_t i = 0; i < nargs; ++i) vals[i] = args[i];
  Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* key = PyTuple_GetItem(kwnames, i);
    int k = 0;
    while (k < 5 && key != names[k] && PyUnicode_Compare(key, names[k]) != 0) ++k;
    if (k == 5 || vals[k]) goto slow_path;  /* unknown or repeated: Python says so */
    vals[k] = args[nargs + i];
  }
  int ok = can_record(r, PH_CAT_TRANSFER | PH_CAT_DISPATCH);
  if (ok <= 0) goto slow_path;
  int64_t source = vals[0] ? flag_value(vals[0], PH_STAGE_BITS) : PH_FULL_STAGES;
  int64_t target = vals[1] ? flag_value(vals[1], PH_STAGE_BITS) : PH_FULL_STAGES;
  int64_t flags = vals[2] ? exact_index(vals[2]) : 0;
  if (source < 0 || target < 0 || flags < 0 || flags > 0xFFFFFFFFLL) goto slow_path;
  if (vals[4] && !((PyTuple_CheckExact(vals[4]) && PyTuple_Size(vals[4]) == 0) ||
                   (PyList_CheckExact(vals[4]) && PyList_Size(vals[4]) == 0)))
    goto slow_path;  /* buffer barriers name buffers: the slow path resolves them */
  uint32_t object = PH_NO_OBJECT;
  if (vals[3]) {
    int got = memory_barriers_object(r, vals[3], &object);
    if (got < 0) return NULL;
    if (got == 0) goto slow_path;
  }
  ph_cmd_t* c = new_cmd(r, PH_OP_BARRIER);
  if (!c) return NULL;
  c->aux = (uint32_t)flags;
  c->object = object;
  c->data_offset = (uint64_t)source | ((uint64_t)target << 32);
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_execution_barrier", args, nargs, kwnames);
}

/* fill_buffer(target, offset, length, pattern, pattern_length=None) with an int pattern */
static PyObject* rec_fill(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
  RecorderObject* r = REC(self);
  if (nargs < 4 || nargs > 5 || kwnames) goto slow_path;
  int ok = can_record(r, PH_CAT_TRANSFER);
  if (ok <= 0) goto slow_path;
  int64_t offset = exact_index(args[1]), length = exact_index(args[2]);
  int64_t pattern = exact_index(args[3]);
  if (!is_buffer(args[0]) || offset < 0 || length < 0 || pattern < 0 || pattern > 0xFFFFFFFFLL)
    goto slow_path;
  int64_t plen;
  if (nargs == 5 && args[4] != Py_None) {
    plen = exact_index(args[4]);
    if (plen != 1 && plen != 2 && plen != 4) goto slow_path;
    if (pattern >> (8 * plen)) goto slow_path;
  } else {
    plen = pattern <= 0xFF ? 1 : pattern <= 0xFFFF ? 2 : 4;
  }
  pending_ref_t target;
  if (!buffer_ref(r, args[0], offset, length, PH_USAGE_DST, (uint32_t)plen, &target))
    goto slow_path;
  ph_cmd_t* c = new_cmd(r, PH_OP_FILL);
  if (!c) return NULL;
  if (commit_ref(r, &target, &c->a)) { r->ncmd--; return NULL; }
  c->pattern = (uint32_t)pattern;
  c->aux = (uint32_t)plen;
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_fill_buffer", args, nargs, kwnames);
}

/* copy_buffer(source, source_offset, target, target_offset, length) between Buffers */
static PyObject* rec_copy(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
  RecorderObject* r = REC(self);
  if (nargs != 5 || kwnames) goto slow_path;
  int ok = can_record(r, PH_CAT_TRANSFER);
  if (ok <= 0) goto slow_path;
  int64_t so = exact_index(args[1]), to = exact_index(args[3]), length = exact_index(args[4]);
  if (!is_buffer(args[0]) || !is_buffer(args[2]) || so < 0 || to < 0 || length < 0)
    goto slow_path;
  pending_ref_t src, dst;
  if (!buffer_ref(r, args[0], so, length, PH_USAGE_SRC, 1, &src) ||
      !buffer_ref(r, args[2], to, length, PH_USAGE_DST, 1, &dst))
    goto slow_path;
  if (src.alloc == dst.alloc && src.ref.offset < dst.ref.offset + dst.ref.length &&
      dst.ref.offset < src.ref.offset + src.ref.length)
    goto slow_path;  /* overlap: the slow path raises */
  ph_cmd_t* c = new_cmd(r, PH_OP_COPY);
  if (!c) return NULL;
  /* source first: the slow path names the allocations in this order */
  if (commit_ref(r, &src, &c->b) || commit_ref(r, &dst, &c->a)) { r->ncmd--; return NULL; }
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_copy_buffer", args, nargs, kwnames);
}

static int append_data(RecorderObject* r, const char* bytes, uint64_t n, uint64_t* offset) {
  if (grow((void**)&r->data, &r->capdata, r->ndata + n, 1)) return -1;
  memcpy(r->data + r->ndata, bytes, n);
  *offset = r->ndata;
  r->ndata += n;
  return 0;
}

/* update_buffer(source, source_offset, target, target_offset, length) from bytes */
static PyObject* rec_update(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
  RecorderObject* r = REC(self);
  if (nargs != 5 || kwnames) goto slow_path;
  int ok = can_record(r, PH_CAT_TRANSFER);
  if (ok <= 0) goto slow_path;
  int64_t so = exact_index(args[1]), to = exact_index(args[3]), length = exact_index(args[4]);
  if (!PyBytes_CheckExact(args[0]) || !is_buffer(args[2]) || so < 0 || to < 0 || length < 0)
    goto slow_path;
  Py_ssize_t avail = PyBytes_Size(args[0]);
  if (so > avail || length > avail - so) goto slow_path;
  pending_ref_t dst;
  if (!buffer_ref(r, args[2], to, length, PH_USAGE_DST, 1, &dst)) goto slow_path;
  uint64_t at;
  if (append_data(r, PyBytes_AsString(args[0]) + so, (uint64_t)length, &at)) return NULL;
  ph_cmd_t* c = new_cmd(r, PH_OP_UPDATE);
  if (!c) return NULL;
  if (commit_ref(r, &dst, &c->a)) { r->ncmd--; return NULL; }
  c->data_offset = at;
  Py_RETURN_NONE;
slow_path:
  return slow(self, "_slow_update_buffer", args, nargs, kwnames);
}

/* ---- primitives for the slow path ---------------------------------------------------------- */

/* _push_words(layout, offset, data): data (bytes) already validated against the layout. */
static PyObject* rec_push_words(PyObject* self, PyObject* args) {
  RecorderObject* r = REC(self);
  PyObject* layout;
  unsigned long offset;
  const char* data;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "Oky#", &layout, &offset, &data, &n)) return NULL;
  if (!still_recording(r)) return NULL;
  if (offset % 4 || n % 4 || offset / 4 + (uint64_t)n / 4 > r->max_push) {
    PyErr_SetString(PyExc_ValueError, "_push_words: range outside the push constants");
    return NULL;
  }
  memcpy(r->push + offset / 4, data, (size_t)n);
  pushed(r, layout);
  Py_RETURN_NONE;
}

/* _push_set(layout, set, entries): entries is a list of (binding, commands.Ref). */
static PyObject* rec_push_set_refs(PyObject* self, PyObject* args) {
  RecorderObject* r = REC(self);
  PyObject *layout, *entries;
  unsigned long set;
  if (!PyArg_ParseTuple(args, "OkO!", &layout, &set, &PyList_Type, &entries)) return NULL;
  if (!still_recording(r)) return NULL;
  Py_ssize_t n = PyList_Size(entries);
  if (set >= PH_MAX_SETS) {
    PyErr_Format(Err_ResourceExhausted, "descriptor set %lu: at most %d sets can be pushed",
                 set, PH_MAX_SETS);
    return NULL;
  }
  if (n > (Py_ssize_t)r->max_bindings) {
    /* the slow path checked the length, but an item's __index__ may have grown the list */
    PyErr_Format(Err_ResourceExhausted, "%zd bindings exceed the device's %u", n,
                 r->max_bindings);
    return NULL;
  }
  ph_set_t* s = &r->sets[set];
  s->count = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    unsigned long binding;
    PyObject* ref;
    if (!PyArg_ParseTuple(PyList_GetItem(entries, i), "kO", &binding, &ref)) return NULL;
    uint32_t k = set_entry(s, (uint32_t)binding);
    if (ref_from_py(r, ref, &s->ref[k])) return NULL;
    set_keep(s, k, (uint32_t)binding);
  }
  set_pushed(r, (uint32_t)set);
  pushed(r, layout);
  Py_RETURN_NONE;
}

/* _dispatch_record(executable, entry_point, counts or None, indirect Ref or None) */
static PyObject* rec_dispatch_record(PyObject* self, PyObject* args) {
  RecorderObject* r = REC(self);
  PyObject *exe, *counts, *indirect;
  unsigned long ep;
  if (!PyArg_ParseTuple(args, "OkOO", &exe, &ep, &counts, &indirect)) return NULL;
  KernelTableObject* table = kernel_table(r, exe);
  if (!table) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "not an Executable");
    return NULL;
  }
  if (!still_recording(r)) return NULL;  /* after kernel_table: a subclass may run code */
  if (ep >= table->count) {
    PyErr_SetString(PyExc_ValueError, "_dispatch_record: entry point out of range");
    return NULL;
  }
  uint32_t wg[3] = {0, 0, 0};
  ph_ref_t ind;
  if (indirect != Py_None) {
    if (ref_from_py(r, indirect, &ind)) return NULL;
  } else if (!PyArg_ParseTuple(counts, "kkk", &wg[0], &wg[1], &wg[2])) {
    return NULL;
  }
  if (record_dispatch(r, table, (uint32_t)ep, wg, indirect != Py_None ? &ind : NULL))
    return NULL;
  Py_RETURN_NONE;
}

/* _append(op, aux, object, a, b, pattern, stages, data): any other command, validated by
 * the caller; a and b are commands.Ref or None, object any Python object or None, data
 * bytes or None (an update's payload). */
static PyObject* rec_append(PyObject* self, PyObject* args) {
  RecorderObject* r = REC(self);
  unsigned long op, aux, pattern;
  unsigned long long stages;
  PyObject *obj, *a, *b, *data;
  if (!PyArg_ParseTuple(args, "kkOOOkKO", &op, &aux, &obj, &a, &b, &pattern, &stages, &data))
    return NULL;
  if (op == PH_OP_DISPATCH || op > PH_OP_END_DEBUG) {
    PyErr_SetString(PyExc_ValueError, "_append: not an op it records");
    return NULL;
  }
  if (!still_recording(r)) return NULL;
  ph_ref_t ra, rb;
  if ((a != Py_None && ref_from_py(r, a, &ra)) || (b != Py_None && ref_from_py(r, b, &rb)))
    return NULL;
  uint64_t at = stages;
  if (data != Py_None) {
    if (!PyBytes_Check(data)) {
      PyErr_SetString(PyExc_TypeError, "_append: data is bytes");
      return NULL;
    }
    if (append_data(r, PyBytes_AsString(data), (uint64_t)PyBytes_Size(data), &at)) return NULL;
  }
  uint32_t index = PH_NO_OBJECT;
  if (obj != Py_None && (index = object_slot(r, obj)) == UINT32_MAX) return NULL;
  ph_cmd_t* c = new_cmd(r, (uint32_t)op);
  if (!c) return NULL;
  c->aux = (uint32_t)aux;
  c->object = index;
  c->pattern = (uint32_t)pattern;
  c->data_offset = at;
  if (a != Py_None) c->a = ra;
  if (b != Py_None) c->b = rb;
  Py_RETURN_NONE;
}

/* _add_allocs(iterable): allocations another command buffer (nested) or a binding table
 * names, so that submission counts them as used by this one. */
static PyObject* rec_add_allocs(PyObject* self, PyObject* iterable) {
  RecorderObject* r = REC(self);
  PyObject* it = PyObject_GetIter(iterable);
  if (!it) return NULL;
  PyObject* item;
  while ((item = PyIter_Next(it))) {
    uint32_t index = alloc_slot(r, item);
    Py_DECREF(item);
    if (index == UINT32_MAX) { Py_DECREF(it); return NULL; }
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) return NULL;
  Py_RETURN_NONE;
}

/* ---- state, inspection, flattening ---------------------------------------------------------- */

static PyObject* rec_get_state(PyObject* self, void* closure) {
  return PyLong_FromLong(REC(self)->state);
}

static int rec_set_state(PyObject* self, PyObject* value, void* closure) {
  long v = value ? PyLong_AsLong(value) : -1;
  if (v < ST_INITIAL || v > ST_EXECUTABLE) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "state is 0, 1 or 2");
    return -1;
  }
  REC(self)->state = (int)v;
  return 0;
}

static PyObject* rec_get_count(PyObject* self, void* closure) {
  return PyLong_FromUnsignedLongLong(REC(self)->ncmd);
}

/* `list` as a tuple: a copy, since the lists are what records index and what submission
 * counts as in use (a caller that cleared them could submit a released buffer, or
 * unbalance the count that defers a release until the last submission using it retires).
 * The lists only grow, by appends, so the last copy of the same length is current: an
 * ended stream's copy is made once. */
static PyObject* snapshot(PyObject* list, PyObject** seen) {
  if (!list) return PyTuple_New(0);  /* cleared by the garbage collector */
  if (*seen && PyTuple_Size(*seen) == PyList_Size(list)) return Py_NewRef(*seen);
  PyObject* copy = PyList_AsTuple(list);
  if (copy) PH_XSETREF(*seen, Py_NewRef(copy));
  return copy;
}

static PyObject* rec_get_allocs(PyObject* self, void* closure) {
  return snapshot(REC(self)->allocs, &REC(self)->allocs_seen);
}

static PyObject* rec_get_objects(PyObject* self, void* closure) {
  return snapshot(REC(self)->objects, &REC(self)->objects_seen);
}

/* raw() -> (records, refs, constants, data) as bytes: what the Python walker decodes. */
static PyObject* rec_raw(PyObject* self, PyObject* unused) {
  RecorderObject* r = REC(self);
  /* (y#) makes None of a NULL array: an empty stream has none yet */
  return Py_BuildValue("(y#y#y#y#)", r->cmds ? (const char*)r->cmds : "",
                       (Py_ssize_t)(r->ncmd * sizeof(ph_cmd_t)),
                       r->refs ? (const char*)r->refs : "",
                       (Py_ssize_t)(r->nref * sizeof(ph_ref_t)),
                       r->consts ? (const char*)r->consts : "", (Py_ssize_t)(r->nconst * 4),
                       r->data ? (const char*)r->data : "", (Py_ssize_t)r->ndata);
}

/* program() -> (records, count, refs, constants, data): the addresses of the arrays, for
 * executors that read the stream in place.  Valid while the stream lives and records no
 * more (after end()). */
static PyObject* rec_program(PyObject* self, PyObject* unused) {
  RecorderObject* r = REC(self);
  return Py_BuildValue("(KKKKK)", (unsigned long long)(uintptr_t)r->cmds,
                       (unsigned long long)r->ncmd, (unsigned long long)(uintptr_t)r->refs,
                       (unsigned long long)(uintptr_t)r->consts,
                       (unsigned long long)(uintptr_t)r->data);
}

/* stats() -> (workgroups, transfer_bytes, unbounded, slot_count): the work a stream holds
 * where recording knows it (direct dispatch counts, transfer lengths), whether it holds
 * work only execution sizes (indirect dispatches, whole-slot transfers), and how many
 * binding-table entries its slot references need. */
static PyObject* rec_stats(PyObject* self, PyObject* unused) {
  RecorderObject* r = REC(self);
  unsigned long long workgroups = 0, bytes = 0;
  int unbounded = 0;
  int64_t slots = 0;
  for (uint64_t i = 0; i < r->ncmd; ++i) {
    const ph_cmd_t* c = &r->cmds[i];
    if (c->a.slot >= slots) slots = c->a.slot + 1;
    if (c->b.slot >= slots) slots = c->b.slot + 1;
    switch (c->op) {
      case PH_OP_DISPATCH:
        if (c->aux & PH_AUX_INDIRECT) unbounded = 1;
        else workgroups += (unsigned long long)c->wg_count[0] * c->wg_count[1] * c->wg_count[2];
        for (uint32_t k = 0; k < c->binding_count; ++k) {
          const ph_ref_t* ref = &r->refs[c->bindings_index + k];
          if (ref->slot >= slots) slots = ref->slot + 1;
        }
        break;
      case PH_OP_FILL:
      case PH_OP_COPY:
      case PH_OP_UPDATE:
        if (c->a.length == PH_WHOLE) unbounded = 1;
        else bytes += c->a.length;
        break;
      default:
        break;
    }
  }
  return Py_BuildValue("(KKOL)", workgroups, bytes, unbounded ? Py_True : Py_False,
                       (long long)slots);
}

static int has_execute(const RecorderObject* r) {
  for (uint64_t i = 0; i < r->ncmd; ++i)
    if (r->cmds[i].op == PH_OP_EXECUTE) return 1;
  return 0;
}

/* Copies `src`'s commands into `out`, inlining nested command buffers; `table` (a tuple of
 * ResolvedBinding, or NULL) resolves src's slot references to direct ones. */
static int flatten_into(RecorderObject* out, RecorderObject* src, PyObject* table, int depth);

static int remap_ref(RecorderObject* out, RecorderObject* src, PyObject* table,
                     const ph_ref_t* in, ph_ref_t* res) {
  *res = *in;
  if (in->slot < 0) {
    if (in->alloc == PH_NO_OBJECT) return 0;  /* an unused reference */
    PyObject* alloc = PyList_GetItem(src->allocs, in->alloc);
    if (!alloc) return -1;
    res->alloc = alloc_slot(out, alloc);
    return res->alloc == UINT32_MAX ? -1 : 0;
  }
  if (!table) return 0;
  PyObject* entry = PyTuple_GetItem(table, (Py_ssize_t)in->slot);
  if (!entry) return -1;
  PyObject* alloc = PyObject_GetAttr(entry, str_alloc);
  PyObject* offset = alloc ? PyObject_GetAttr(entry, str_offset) : NULL;
  PyObject* length = offset ? PyObject_GetAttr(entry, str_length) : NULL;
  int status = -1;
  if (length && PyObject_TypeCheck(alloc, (PyTypeObject*)StorageType)) {
    uint64_t eoff = PyLong_AsUnsignedLongLong(offset);
    uint64_t elen = PyLong_AsUnsignedLongLong(length);
    res->slot = -1;
    res->base = ((StorageObject*)alloc)->ptr;
    res->offset = eoff + in->offset;
    res->length = in->length == PH_WHOLE ? elen - in->offset : in->length;
    res->alloc = alloc_slot(out, alloc);
    status = PyErr_Occurred() || res->alloc == UINT32_MAX ? -1 : 0;
  } else if (length) {
    PyErr_SetString(PyExc_TypeError, "binding table entry without a Storage allocation");
  }
  Py_XDECREF(alloc);
  Py_XDECREF(offset);
  Py_XDECREF(length);
  return status;
}

static int flatten_into(RecorderObject* out, RecorderObject* src, PyObject* table, int depth) {
  if (depth > 64) {
    PyErr_SetString(PyExc_RecursionError, "command buffers nested too deep");
    return -1;
  }
  uint32_t last_bi = UINT32_MAX, last_ci = UINT32_MAX, out_bi = 0, out_ci = 0;
  for (uint64_t i = 0; i < src->ncmd; ++i) {
    const ph_cmd_t* c = &src->cmds[i];
    if (c->op == PH_OP_EXECUTE) {
      PyObject* pair = PyList_GetItem(src->objects, c->object);
      if (!pair) return -1;
      PyObject* nested = PyTuple_GetItem(pair, 0);
      PyObject* nested_table = PyTuple_GetItem(pair, 1);
      if (!nested || !nested_table) return -1;
      if (!PyObject_TypeCheck(nested, (PyTypeObject*)RecorderType)) {
        PyErr_SetString(PyExc_TypeError, "nested command buffer is not a Recorder");
        return -1;
      }
      if (flatten_into(out, REC(nested), nested_table == Py_None ? table : nested_table,
                       depth + 1))
        return -1;
      last_bi = last_ci = UINT32_MAX;  /* indexes are per source stream */
      continue;
    }
    ph_cmd_t copy = *c;
    if (remap_ref(out, src, table, &c->a, &copy.a) || remap_ref(out, src, table, &c->b, &copy.b))
      return -1;
    if (c->object != PH_NO_OBJECT) {
      PyObject* obj = PyList_GetItem(src->objects, c->object);
      if (!obj || (copy.object = object_slot(out, obj)) == UINT32_MAX) return -1;
    }
    if (c->op == PH_OP_DISPATCH) {
      if (c->bindings_index != last_bi) {
        if (grow((void**)&out->refs, &out->capref, out->nref + c->binding_count,
                 sizeof(ph_ref_t)))
          return -1;
        out_bi = (uint32_t)out->nref;
        for (uint32_t k = 0; k < c->binding_count; ++k)
          if (remap_ref(out, src, table, &src->refs[c->bindings_index + k],
                        &out->refs[out_bi + k]))
            return -1;
        out->nref += c->binding_count;
        last_bi = c->bindings_index;
      }
      if (c->constants_index != last_ci) {
        if (grow((void**)&out->consts, &out->capconst, out->nconst + c->constant_count, 4))
          return -1;
        out_ci = (uint32_t)out->nconst;
        memcpy(out->consts + out_ci, src->consts + c->constants_index, c->constant_count * 4u);
        out->nconst += c->constant_count;
        last_ci = c->constants_index;
      }
      copy.bindings_index = out_bi;
      copy.constants_index = out_ci;
    } else if (c->op == PH_OP_UPDATE) {
      if (append_data(out, (const char*)src->data + c->data_offset, c->a.length,
                      &copy.data_offset))
        return -1;
    }
    ph_cmd_t* dst = new_cmd(out, c->op);
    if (!dst) return -1;
    *dst = copy;
  }
  return 0;
}

/* flatten() -> a stream with no nested command buffers: this one when it has none, else a
 * new Recorder holding every command in execution order, nested binding tables resolved
 * (references through the outer table stay slots).  The one walk of nesting every
 * encoder relies on. */
static PyObject* rec_flatten(PyObject* self, PyObject* unused) {
  RecorderObject* r = REC(self);
  if (!has_execute(r)) return Py_NewRef(self);
  PyObject* out = rec_new((PyTypeObject*)RecorderType, NULL, NULL);
  if (!out) return NULL;
  REC(out)->device = r->device ? Py_NewRef(r->device) : NULL;
  REC(out)->state = ST_EXECUTABLE;
  REC(out)->validate = r->validate;
  if (flatten_into(REC(out), r, NULL, 0)) {
    Py_DECREF(out);
    return NULL;
  }
  return out;
}

static PyMethodDef rec_methods[] = {
    {"_setup", rec_setup, METH_VARARGS, NULL},
    {"dispatch", (PyCFunction)(void (*)(void))rec_dispatch, METH_FASTCALL | METH_KEYWORDS,
     "dispatch(executable, entry_point, workgroup_count, *, constants=None, bindings=None)\n"
     "--\n\nRuns ``workgroup_count`` (an int or up to three ints) workgroups of an entry "
     "point (an index or a name) with the pushed state.  The shorthand ``constants=`` "
     "(as push_constants takes them) and ``bindings=`` (as push_descriptor_set takes them, "
     "for set 0) pushes them with the entry point's own layout first."},
    {"push_constants", (PyCFunction)(void (*)(void))rec_push_constants,
     METH_FASTCALL | METH_KEYWORDS,
     "push_constants(layout, offset, values)\n--\n\n"
     "Sets 32-bit push constants at byte ``offset`` for the following dispatches.\n\n"
     "``values``: bytes, a numpy array (its bytes), or a list mixing Python ints (one word, "
     "signed or unsigned; InvalidArgumentError beyond 32 bits), Python floats (one float32 "
     "word), numpy 32-bit scalars (one word, their bits) and numpy 64-bit scalars (two "
     "words, low word first). Beyond the layout's ``push_constants``: OutOfRangeError."},
    {"push_descriptor_set", (PyCFunction)(void (*)(void))rec_push_set,
     METH_FASTCALL | METH_KEYWORDS,
     "push_descriptor_set(layout, set, bindings)\n--\n\n"
     "Binds buffers to descriptor set ``set``; sets ``>= set`` pushed earlier are dropped.  "
     "Each binding is a hal.Binding or a tuple ``(binding, buffer[, offset[, length]])``; "
     "``buffer`` is a Buffer or a hal.Slot."},
    {"execution_barrier", (PyCFunction)(void (*)(void))rec_barrier,
     METH_FASTCALL | METH_KEYWORDS,
     "execution_barrier(source_stage=ALL, target_stage=ALL, flags=0, memory_barriers=(), "
     "buffer_barriers=())\n--\n\n"
     "Orders everything before it (in source_stage) before everything after it."},
    {"fill_buffer", (PyCFunction)(void (*)(void))rec_fill, METH_FASTCALL | METH_KEYWORDS,
     "fill_buffer(target, offset, length, pattern, pattern_length=None)\n--\n\n"
     "Repeats a 1-, 2- or 4-byte little-endian ``pattern`` (an int, or bytes) over "
     "``[offset, offset+length)``."},
    {"copy_buffer", (PyCFunction)(void (*)(void))rec_copy, METH_FASTCALL | METH_KEYWORDS,
     "copy_buffer(source, source_offset, target, target_offset, length)\n--\n\n"
     "Copies length bytes between buffers; overlapping ranges are invalid."},
    {"update_buffer", (PyCFunction)(void (*)(void))rec_update, METH_FASTCALL | METH_KEYWORDS,
     "update_buffer(source, source_offset, target, target_offset, length)\n--\n\n"
     "Copies host bytes (anything with the buffer protocol; captured now) into ``target``."},
    {"_push_words", rec_push_words, METH_VARARGS, NULL},
    {"_push_set", rec_push_set_refs, METH_VARARGS, NULL},
    {"_dispatch_record", rec_dispatch_record, METH_VARARGS, NULL},
    {"_append", rec_append, METH_VARARGS, NULL},
    {"_add_allocs", rec_add_allocs, METH_O, NULL},
    {"raw", rec_raw, METH_NOARGS, "(records, refs, constants, data) as bytes"},
    {"program", rec_program, METH_NOARGS,
     "(records, count, refs, constants, data): the arrays' addresses"},
    {"stats", rec_stats, METH_NOARGS, "(workgroups, transfer_bytes, unbounded, slot_count)"},
    {"flatten", rec_flatten, METH_NOARGS,
     "the stream with nested command buffers inlined (itself when it has none)"},
    {NULL}};

static PyMemberDef rec_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(RecorderObject, weakrefs), READONLY, NULL},
    {NULL}};

static PyGetSetDef rec_getset[] = {
    {"_state", rec_get_state, rec_set_state, "0 initial, 1 recording, 2 executable", NULL},
    {"record_count", rec_get_count, NULL, "how many records the stream holds", NULL},
    {"allocations", rec_get_allocs, NULL,
     "every allocation the stream names directly (a tuple)", NULL},
    {"objects", rec_get_objects, NULL,
     "the Python objects records name by index (a tuple)", NULL},
    {NULL}};

static PyType_Slot rec_slots[] = {
    {Py_tp_doc, "A command stream being recorded: the native base of CommandBuffer."},
    {Py_tp_new, rec_new},
    {Py_tp_methods, rec_methods},
    {Py_tp_getset, rec_getset},
    {Py_tp_members, rec_members},
    {Py_tp_traverse, rec_traverse},
    {Py_tp_clear, rec_clear},
    {Py_tp_dealloc, rec_dealloc},
    {0, NULL}};

static PyType_Spec rec_spec = {"polyhal._stream.Recorder", sizeof(RecorderObject), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                               rec_slots};

/* ---- module ----------------------------------------------------------------------------- */

/* configure(errors: dict, executable_type, ref_type, pipeline_layout_type): the classes
 * the fast path checks against and raises, handed over once by polyhal.command_buffer at
 * import. */
static PyObject* configure(PyObject* module, PyObject* args) {
  PyObject *errors, *exe, *ref, *layout, *memory_barrier = NULL;
  if (!PyArg_ParseTuple(args, "O!OOO|O", &PyDict_Type, &errors, &exe, &ref, &layout,
                        &memory_barrier))
    return NULL;
  PyObject** targets[] = {&Err_InvalidArgument, &Err_OutOfRange, &Err_FailedPrecondition,
                          &Err_ResourceExhausted};
  const char* names[] = {"InvalidArgumentError", "OutOfRangeError", "FailedPreconditionError",
                         "ResourceExhaustedError"};
  for (int i = 0; i < 4; ++i) {
    PyObject* cls = PyDict_GetItemString(errors, names[i]);
    if (!cls) {
      PyErr_Format(PyExc_KeyError, "configure: %s missing", names[i]);
      return NULL;
    }
    PH_XSETREF(*targets[i], Py_NewRef(cls));
  }
  PH_XSETREF(ExecutableType, Py_NewRef(exe));
  PH_XSETREF(RefType, Py_NewRef(ref));
  PH_XSETREF(PipelineLayoutType, Py_NewRef(layout));
  if (memory_barrier) PH_XSETREF(MemoryBarrierType, Py_NewRef(memory_barrier));
  Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(errors, Executable, Ref, PipelineLayout[, MemoryBarrier])"},
    {NULL}};

static struct PyModuleDef stream_module = {PyModuleDef_HEAD_INIT, "_stream",
                                           "polyhal's native command stream", -1,
                                           module_methods};

static int add_type(PyObject* module, PyType_Spec* spec, PyObject* base, PyObject** out) {
  *out = base ? PyType_FromSpecWithBases(spec, base) : PyType_FromSpec(spec);
  if (!*out) return -1;
  const char* name = strrchr(spec->name, '.') + 1;
  Py_INCREF(*out);
  return PyModule_AddObject(module, name, *out) ? (Py_DECREF(*out), -1) : 0;
}

PyMODINIT_FUNC PyInit__stream(void) {
  PyObject* m = PyModule_Create(&stream_module);
  if (!m) return NULL;
  struct { PyObject** s; const char* text; } strings[] = {
      {&str_kernels, "_kernels"}, {&str_source_stage, "source_stage"},
      {&str_target_stage, "target_stage"}, {&str_flags, "flags"},
      {&str_memory_barriers, "memory_barriers"}, {&str_buffer_barriers, "buffer_barriers"},
      {&str_source_scope, "source_scope"}, {&str_target_scope, "target_scope"}, {&str_info, "_info"},
      {&str_slot_alignments, "_slot_alignments"}, {&str_alloc, "alloc"},
      {&str_slot, "slot"}, {&str_offset, "offset"}, {&str_length, "length"},
      {&str_constants, "constants"}, {&str_bindings, "bindings"}};
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); ++i) {
    *strings[i].s = PyUnicode_InternFromString(strings[i].text);
    if (!*strings[i].s) goto fail;
  }
  if (add_type(m, &storage_spec, NULL, &StorageType) ||
      add_type(m, &device_spec, NULL, &DeviceBaseType) ||
      add_type(m, &buffer_spec, NULL, &BufferBaseType) ||
      add_type(m, &layout_spec, NULL, &LayoutInfoType) ||
      add_type(m, &table_spec, NULL, &KernelTableType) ||
      add_type(m, &rec_spec, NULL, &RecorderType))
    goto fail;
  if (PyModule_AddIntConstant(m, "RECORD_SIZE", sizeof(ph_cmd_t)) ||
      PyModule_AddIntConstant(m, "REF_SIZE", sizeof(ph_ref_t)) ||
      PyModule_AddIntConstant(m, "MAX_SETS", PH_MAX_SETS))
    goto fail;
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
