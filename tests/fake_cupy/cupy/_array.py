"""The stand-in's cupy.ndarray: NumPy memory on the host, reachable only in the ways CuPy allows.

Every operation runs NumPy on the wrapped host array, so results are NumPy's to the bit. What the stand-in adds is
CuPy's strictness where it differs from NumPy (cupy/_core/core.pyx), so that a hidden trip between host and device
fails here as it would on a GPU instead of passing silently:
  - no implicit conversion to NumPy: np.asarray(x), np.array(x), and a NumPy function that CuPy has no twin of, raise
    TypeError, as CuPy's ndarray.__array__ does; x.get() and cupy.asnumpy(x) are the explicit copies to the host;
  - no NumPy array as an operand: cupy.add(x, host), x + host and x[...] = host raise TypeError (CuPy refuses hidden
    host-to-device copies), while an index may be a NumPy array, which CuPy copies to the device;
  - reductions and element indexing return 0-d arrays, not NumPy scalars; float(x), int(x) and bool(x) copy one
    value to the host, and there is no __index__, so a device scalar cannot silently become a Python index;
  - a NumPy function that CuPy has a twin of runs that twin (NEP 18), and NumPy ufuncs run CuPy's (NEP 13).
"""
import numpy

# The message of CuPy's ndarray.__array__, word for word, so that tests may look for it.
IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
                       "array explicitly.")


def device_operand(value):
    """value as the stand-in's NumPy code takes it: a cupy array as its host array, a list or tuple item by item,
    anything else as it is; a NumPy array is refused as CuPy refuses it (TypeError, CuPy's message)."""
    if isinstance(value, ndarray):
        return value._host
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(device_operand(item) for item in value)
    return value


def _cupy_arrays_in(values):
    """The cupy arrays among values (a list of arguments), also inside lists, tuples and dicts."""
    found = []
    for value in values:
        if isinstance(value, ndarray):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(_cupy_arrays_in(value))
        elif isinstance(value, dict):
            found.extend(_cupy_arrays_in(list(value.values())))
    return found


def on_device(result, operands=()):
    """NumPy's result as CuPy returns it: an array as a cupy array (the operand itself when NumPy returned an
    operand's own host array, e.g. an out= array or x.astype(x.dtype, copy=False)), a NumPy scalar as a 0-d array,
    a tuple item by item, anything else (a dtype, a Python number) as it is."""
    if isinstance(result, numpy.ndarray):
        same = [operand for operand in operands if operand._host is result]
        return same[0] if same else ndarray.wrap(result)
    if isinstance(result, numpy.generic):
        return ndarray.wrap(numpy.asarray(result))
    if isinstance(result, tuple):
        return tuple(on_device(item, operands) for item in result)
    return result


def run_on_device(function, args, kwargs, array=None):
    """function (a NumPy function, or a bound method of the host array of array) applied to the host arrays of args
    and kwargs, its result returned as CuPy returns it."""
    operands = _cupy_arrays_in([array, args, kwargs])
    result = function(*device_operand(args), **{name: device_operand(value) for name, value in kwargs.items()})
    return on_device(result, operands)


class ndarray:
    """An array on the stand-in's device: shape (d1, ..., dk) of one dtype, held as a NumPy array on the host."""
    __module__ = "cupy"
    __array_priority__ = 100   # NumPy's binary operators defer to it, as to CuPy's ndarray
    __hash__ = None            # arrays are mutable

    def __init__(self, shape, dtype=float, order="C"):
        """An uninitialised array, as cupy.ndarray(shape, dtype) allocates one."""
        self._host = numpy.empty(shape, dtype=dtype, order=order)

    @classmethod
    def wrap(cls, host):
        """The NumPy array host (not copied) as the memory of a new cupy array."""
        array = cls.__new__(cls)
        array._host = host
        return array

    # The explicit copy to the host (HOST_METHODS below copy single values, lists and text)
    def get(self, stream=None, order="C", out=None):
        """A NumPy copy of the array (out: a NumPy array to copy into)."""
        if out is not None:
            out[...] = self._host
            return out
        return numpy.array(self._host, order=order)

    # What CuPy refuses, and how NumPy functions reach CuPy's
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        import cupy
        twin = getattr(cupy, ufunc.__name__, None)
        if method != "__call__" or twin is None:
            return NotImplemented
        if "out" in kwargs:                 # NumPy hands out= over as a tuple, CuPy's ufuncs take one array
            (kwargs["out"],) = kwargs["out"]
        return twin(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        import cupy
        twin = getattr(cupy, func.__name__, None) if func.__module__ == "numpy" else None
        if twin is None or not all(issubclass(kind, (ndarray, numpy.ndarray)) for kind in types):
            return NotImplemented           # NumPy then raises TypeError: no implementation found
        return twin(*args, **kwargs)

    # Containers
    def __len__(self):
        return len(self._host)

    def __iter__(self):
        if self._host.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[index] for index in range(len(self)))

    def __getitem__(self, key):
        return on_device(self._host[_host_index(key)], [self])

    def __setitem__(self, key, value):
        self._host[_host_index(key)] = device_operand(value)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    @property
    def T(self):
        return ndarray.wrap(self._host.T)


def _host_index(key):
    """An index of a cupy array as NumPy takes it: cupy arrays in it as their host arrays; NumPy arrays and lists
    stay, since CuPy copies an index to the device itself."""
    if isinstance(key, ndarray):
        return key._host
    if isinstance(key, tuple):
        return tuple(_host_index(item) for item in key)
    return key


def _host_attribute(name):
    return property(lambda array: getattr(array._host, name), doc=f"The array's {name}, as NumPy's.")


def _host_method(name):
    def method(array, *args):
        return getattr(array._host, name)(*args)
    method.__name__ = name
    method.__doc__ = f"NumPy's ndarray.{name}: a value (or text) brought to the host, as CuPy brings it."
    return method


def _device_method(name):
    def method(array, *args, **kwargs):
        return run_on_device(getattr(array._host, name), args, kwargs, array)
    method.__name__ = name
    method.__doc__ = f"NumPy's ndarray.{name} on the device: arguments and results as CuPy takes and returns them."
    return method


ATTRIBUTES = ("shape", "dtype", "size", "ndim", "itemsize", "nbytes", "strides", "flags")
# What copies values to the host, as CuPy's do: a value, a list, text (no __index__: see the module's docstring).
HOST_METHODS = ("item", "tolist", "__float__", "__int__", "__complex__", "__bool__", "__repr__", "__str__",
                "__format__")
# CuPy's ndarray methods that minicnn and its tests use, with NumPy's signatures, and the operators.
METHODS = ("reshape", "transpose", "swapaxes", "ravel", "flatten", "squeeze", "astype", "copy", "view", "fill",
           "sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "all", "any", "prod", "cumsum", "clip",
           "dot", "take", "repeat", "nonzero", "sort", "argsort")
OPERATORS = tuple(f"__{prefix}{name}__" for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                                     "matmul", "and", "or", "xor", "lshift", "rshift")
                  for prefix in ("", "r", "i")) + tuple(f"__{name}__" for name in ("eq", "ne", "lt", "le", "gt", "ge",
                                                                                    "neg", "pos", "abs", "invert"))
for _name in ATTRIBUTES:
    setattr(ndarray, _name, _host_attribute(_name))
for _name in HOST_METHODS:
    setattr(ndarray, _name, _host_method(_name))
for _name in METHODS + OPERATORS:
    setattr(ndarray, _name, _device_method(_name))
