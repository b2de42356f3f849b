/* _fastcall (codegen.runtime.fastcall builds it on first use): a compiled program called straight
   from Python.

   A Dispatcher holds the address of a program's packed entry point (``void f(void **buffers)``),
   the pointers of the buffers fixed at construction (parameters, constants, outputs) and, for
   each call argument, the slot it fills and the shape and buffer format it must have. A call
   takes the arguments' buffers (PEP 3118) without copying, runs the program and returns the
   scalar result. Arguments of another shape, format or layout return NotImplemented, and the
   Python caller takes its general path, so this file decides nothing about semantics. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_NDIM 8
#define MAX_SLOTS 64
#define FORMAT_LEN 8

typedef void (*packed_fn)(void **);

typedef struct {
    Py_ssize_t slot;
    int ndim;
    Py_ssize_t shape[MAX_NDIM];
    Py_ssize_t itemsize;
    char format[FORMAT_LEN];
} ArgSpec;

typedef struct {
    PyObject_HEAD
    packed_fn fn;
    Py_ssize_t n_slots, n_args;
    void *slots[MAX_SLOTS];   /* fixed pointers; argument slots are filled per call */
    Py_ssize_t bytes[MAX_SLOTS];  /* the fixed buffers' sizes */
    ArgSpec *args;
    void *result;             /* the scalar to return, NULL for None */
    char result_format;       /* 'd' or 'f' */
    PyObject *result_type;    /* called on the Python float (numpy's scalar type) */
    int release_gil;
    PyObject *owners;         /* keeps the fixed buffers alive */
} Dispatcher;

static int parse_spec(PyObject *item, ArgSpec *spec) {
    PyObject *shape;
    const char *format;
    if (!PyArg_ParseTuple(item, "nO!ns", &spec->slot, &PyTuple_Type, &shape, &spec->itemsize, &format))
        return -1;
    spec->ndim = (int)PyTuple_GET_SIZE(shape);
    if (spec->ndim > MAX_NDIM || strlen(format) >= FORMAT_LEN) {
        PyErr_SetString(PyExc_ValueError, "argument rank or format too large for a Dispatcher");
        return -1;
    }
    strcpy(spec->format, format);
    for (int d = 0; d < spec->ndim; d++) {
        spec->shape[d] = PyLong_AsSsize_t(PyTuple_GET_ITEM(shape, d));
        if (spec->shape[d] == -1 && PyErr_Occurred()) return -1;
    }
    return 0;
}

/* Dispatcher(address, pointers, bytes, args, result, result_format, result_type, release_gil, owners):
   pointers is a list of ints (0 for the slots arguments fill), bytes their sizes, args a list of
   (slot, shape, itemsize, format), result the address of the returned scalar (0: return None). */
static int dispatcher_init(Dispatcher *self, PyObject *a, PyObject *kw) {
    unsigned long long address, result;
    PyObject *pointers, *bytes, *args, *result_type, *owners;
    int result_format, release_gil;
    if (!PyArg_ParseTuple(a, "KO!O!O!KCOpO", &address, &PyList_Type, &pointers, &PyList_Type, &bytes, &PyList_Type,
                          &args, &result, &result_format, &result_type, &release_gil, &owners))
        return -1;
    self->n_slots = PyList_GET_SIZE(pointers);
    if (PyList_GET_SIZE(bytes) != self->n_slots) {
        PyErr_SetString(PyExc_ValueError, "one size per buffer");
        return -1;
    }
    self->n_args = PyList_GET_SIZE(args);
    if (self->n_slots > MAX_SLOTS || self->n_args > self->n_slots) {
        PyErr_SetString(PyExc_ValueError, "too many buffers for a Dispatcher");
        return -1;
    }
    for (Py_ssize_t k = 0; k < self->n_slots; k++) {
        self->slots[k] = PyLong_AsVoidPtr(PyList_GET_ITEM(pointers, k));
        self->bytes[k] = PyLong_AsSsize_t(PyList_GET_ITEM(bytes, k));
        if (PyErr_Occurred()) return -1;
    }
    PyMem_Free(self->args);
    self->args = PyMem_Calloc(self->n_args ? self->n_args : 1, sizeof(ArgSpec));
    if (!self->args) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t k = 0; k < self->n_args; k++) {
        if (parse_spec(PyList_GET_ITEM(args, k), &self->args[k]) < 0) return -1;
        if (self->args[k].slot < 0 || self->args[k].slot >= self->n_slots) {
            PyErr_SetString(PyExc_ValueError, "argument slot out of range");
            return -1;
        }
    }
    if (result_format != 'd' && result_format != 'f') {
        PyErr_SetString(PyExc_ValueError, "result_format must be 'd' or 'f'");
        return -1;
    }
    self->fn = (packed_fn)(uintptr_t)address;
    self->result = (void *)(uintptr_t)result;
    self->result_format = (char)result_format;
    self->release_gil = release_gil;
    Py_INCREF(result_type);
    Py_XSETREF(self->result_type, result_type);
    Py_INCREF(owners);
    Py_XSETREF(self->owners, owners);
    return 0;
}

static int matches(const Py_buffer *view, const ArgSpec *spec) {
    if (view->ndim != spec->ndim || view->itemsize != spec->itemsize) return 0;
    for (int d = 0; d < spec->ndim; d++)
        if (view->shape[d] != spec->shape[d]) return 0;
    return strcmp(view->format ? view->format : "B", spec->format) == 0;
}

/* Whether an argument's memory overlaps a fixed buffer (a parameter passed as the batch: the
   program would read it while overwriting it). */
static int overlaps_fixed(const Dispatcher *self, const Py_buffer *view) {
    const char *lo = view->buf, *hi = (const char *)view->buf + view->len;
    for (Py_ssize_t k = 0; k < self->n_slots; k++) {
        const char *start = self->slots[k];
        if (start && lo < start + self->bytes[k] && start < hi) return 1;
    }
    return 0;
}

static PyObject *dispatcher_call(Dispatcher *self, PyObject *args, PyObject *kwargs) {
    Py_ssize_t n = PyTuple_GET_SIZE(args), taken = 0;
    if (self->fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Dispatcher not initialised");
        return NULL;
    }
    if ((kwargs && PyDict_GET_SIZE(kwargs)) || n != self->n_args) Py_RETURN_NOTIMPLEMENTED;
    void *slots[MAX_SLOTS];  /* per call: the fixed template is never written */
    Py_buffer views[MAX_SLOTS];
    memcpy(slots, self->slots, self->n_slots * sizeof(void *));
    for (; taken < n; taken++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(args, taken), &views[taken], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear();
            break;
        }
        if (!matches(&views[taken], &self->args[taken]) || overlaps_fixed(self, &views[taken])) {
            PyBuffer_Release(&views[taken]);
            break;
        }
        slots[self->args[taken].slot] = views[taken].buf;
    }
    if (taken == n) {
        if (self->release_gil) {
            Py_BEGIN_ALLOW_THREADS
            self->fn(slots);
            Py_END_ALLOW_THREADS
        } else {
            self->fn(slots);
        }
    }
    for (Py_ssize_t k = 0; k < taken; k++) PyBuffer_Release(&views[k]);
    if (taken < n) Py_RETURN_NOTIMPLEMENTED;
    if (self->result == NULL) Py_RETURN_NONE;
    double value = self->result_format == 'd' ? *(double *)self->result : (double)*(float *)self->result;
    PyObject *number = PyFloat_FromDouble(value);
    if (number == NULL || self->result_type == Py_None) return number;
    PyObject *out = PyObject_CallOneArg(self->result_type, number);
    Py_DECREF(number);
    return out;
}

static void dispatcher_dealloc(Dispatcher *self) {
    PyMem_Free(self->args);
    Py_XDECREF(self->result_type);
    Py_XDECREF(self->owners);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject DispatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_fastcall.Dispatcher",
    .tp_doc = "A compiled program's packed entry point called with buffers checked against fixed shapes.",
    .tp_basicsize = sizeof(Dispatcher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)dispatcher_init,
    .tp_dealloc = (destructor)dispatcher_dealloc,
    .tp_call = (ternaryfunc)dispatcher_call,
};

static struct PyModuleDef fastcall_module = {
    PyModuleDef_HEAD_INIT, "_fastcall", "Calls into compiled programs with no Python in between.", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastcall(void) {
    if (PyType_Ready(&DispatcherType) < 0) return NULL;
    PyObject *module = PyModule_Create(&fastcall_module);
    if (module == NULL) return NULL;
    Py_INCREF(&DispatcherType);
    if (PyModule_AddObject(module, "Dispatcher", (PyObject *)&DispatcherType) < 0) {
        Py_DECREF(&DispatcherType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
