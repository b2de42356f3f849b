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
/* NumPy's struct layouts only (no C API table): an exact ndarray's fields are read directly, ~0.1 µs
   an argument less than the buffer protocol, and a scalar result is allocated as NumPy does. */
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>
#include <numpy/arrayscalars.h>

#define MAX_NDIM 8
#define MAX_SLOTS 64
#define FORMAT_LEN 8

typedef void (*packed_fn)(void **);

typedef struct {
    Py_ssize_t slot;
    int type_num;  /* NumPy's number for the dtype */
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
    PyTypeObject *result_type;  /* NumPy's scalar type for the result (NULL: a Python float) */
    PyTypeObject *ndarray;    /* numpy.ndarray: arguments of exactly this type take the fast check */
    int release_gil;
    PyObject *owners;         /* keeps the fixed buffers alive */
} Dispatcher;

static int parse_spec(PyObject *item, ArgSpec *spec) {
    PyObject *shape;
    const char *format;
    if (!PyArg_ParseTuple(item, "niO!ns", &spec->slot, &spec->type_num, &PyTuple_Type, &shape, &spec->itemsize,
                          &format))
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

/* Dispatcher(address, pointers, bytes, args, result, result_format, result_type, release_gil, owners, ndarray):
   pointers is a list of ints (0 for the slots arguments fill), bytes their sizes, args a list of
   (slot, dtype number, shape, itemsize, format), result the address of the returned scalar (0: return
   None), result_type NumPy's scalar type for it (None: a Python float), ndarray the numpy.ndarray type. */
static int dispatcher_init(Dispatcher *self, PyObject *a, PyObject *kw) {
    unsigned long long address, result;
    PyObject *pointers, *bytes, *args, *result_type, *owners, *ndarray;
    int result_format, release_gil;
    if (!PyArg_ParseTuple(a, "KO!O!O!KCOpOO!", &address, &PyList_Type, &pointers, &PyList_Type, &bytes, &PyList_Type,
                          &args, &result, &result_format, &result_type, &release_gil, &owners, &PyType_Type, &ndarray))
        return -1;
    if (result_type != Py_None && !PyType_Check(result_type)) {
        PyErr_SetString(PyExc_TypeError, "result_type must be a NumPy scalar type or None");
        return -1;
    }
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
    Py_XSETREF(self->result_type, result_type == Py_None ? NULL : (PyTypeObject *)Py_NewRef(result_type));
    Py_XSETREF(self->ndarray, (PyTypeObject *)Py_NewRef(ndarray));
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
static int overlaps_fixed(const Dispatcher *self, const char *lo, Py_ssize_t len) {
    const char *hi = lo + len;
    for (Py_ssize_t k = 0; k < self->n_slots; k++) {
        const char *start = self->slots[k];
        if (start && lo < start + self->bytes[k] && start < hi) return 1;
    }
    return 0;
}

/* An exact ndarray's data if it fits ``spec`` (C-contiguous, aligned, native order, same dtype and
   shape) and overlaps no fixed buffer; NULL otherwise. */
static void *array_data(const Dispatcher *self, PyObject *obj, const ArgSpec *spec) {
    PyArrayObject *arr = (PyArrayObject *)obj;
    PyArray_Descr *descr = PyArray_DESCR(arr);
    int needed = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED;
    if (PyArray_NDIM(arr) != spec->ndim || (PyArray_FLAGS(arr) & needed) != needed ||
        descr->type_num != spec->type_num || !PyArray_ISNBO(descr->byteorder))
        return NULL;
    Py_ssize_t len = spec->itemsize;
    for (int d = 0; d < spec->ndim; d++) {
        if (PyArray_DIMS(arr)[d] != spec->shape[d]) return NULL;
        len *= spec->shape[d];
    }
    return overlaps_fixed(self, PyArray_DATA(arr), len) ? NULL : PyArray_DATA(arr);
}

/* Any other object exporting a buffer: its view (released by the caller) if it fits ``spec``. */
static int buffer_fits(const Dispatcher *self, PyObject *obj, const ArgSpec *spec, Py_buffer *view) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (!matches(view, spec) || overlaps_fixed(self, view->buf, view->len)) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

static PyObject *scalar_result(const Dispatcher *self) {
    double value = self->result_format == 'd' ? *(double *)self->result : (double)*(float *)self->result;
    if (self->result_type == NULL) return PyFloat_FromDouble(value);
    PyObject *out = self->result_type->tp_alloc(self->result_type, 0);  /* as NumPy's PyArrayScalar_New */
    if (out == NULL) return NULL;
    if (self->result_format == 'd')
        ((PyDoubleScalarObject *)out)->obval = value;
    else
        ((PyFloatScalarObject *)out)->obval = (float)value;
    return out;
}

static PyObject *dispatcher_call(Dispatcher *self, PyObject *args, PyObject *kwargs) {
    Py_ssize_t n = PyTuple_GET_SIZE(args), taken = 0, n_views = 0;
    if (self->fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Dispatcher not initialised");
        return NULL;
    }
    if ((kwargs && PyDict_GET_SIZE(kwargs)) || n != self->n_args) Py_RETURN_NOTIMPLEMENTED;
    void *slots[MAX_SLOTS];  /* per call: the fixed template is never written */
    Py_buffer views[MAX_SLOTS];
    memcpy(slots, self->slots, self->n_slots * sizeof(void *));
    for (; taken < n; taken++) {
        PyObject *obj = PyTuple_GET_ITEM(args, taken);
        const ArgSpec *spec = &self->args[taken];
        void *data = NULL;
        if (Py_TYPE(obj) == self->ndarray) {
            data = array_data(self, obj, spec);
        } else if (buffer_fits(self, obj, spec, &views[n_views])) {
            data = views[n_views++].buf;
        }
        if (data == NULL) break;
        slots[spec->slot] = data;
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
    for (Py_ssize_t k = 0; k < n_views; k++) PyBuffer_Release(&views[k]);
    if (taken < n) Py_RETURN_NOTIMPLEMENTED;
    if (self->result == NULL) Py_RETURN_NONE;
    return scalar_result(self);
}

static void dispatcher_dealloc(Dispatcher *self) {
    PyMem_Free(self->args);
    Py_XDECREF(self->result_type);
    Py_XDECREF(self->owners);
    Py_XDECREF(self->ndarray);
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
