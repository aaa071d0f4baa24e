"""`import minicnn` tells glibc's malloc to keep freed memory for the next step (minicnn/allocator.py), unless the user
chose the allocator's behaviour. Each case runs in a fresh interpreter, since the settings last as long as a process.
"""
import ctypes
import os
import subprocess
import sys
import textwrap

import pytest

from minicnn.allocator import OFF_SWITCH, USER_SETTINGS, _allocator_left_to_minicnn

# Where a fresh 64 MB array's memory comes from: malloc's heap ('heap') or pages mapped for it alone ('mmap'), read
# from glibc's mallinfo2 while the array lives; then whether the heap kept the memory after the array was freed.
PROBE = textwrap.dedent("""
    import ctypes
    import numpy as np
    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Mallinfo2
    size = 64 * 2 ** 20
    mapped_before = libc.mallinfo2().hblkhd
    array = np.ones(size // 4, dtype=np.float32)
    source = "mmap" if libc.mallinfo2().hblkhd - mapped_before >= size else "heap"
    del array
    kept = libc.mallinfo2().arena >= size
    print(source, kept)
""")


def run_python(program, **environment):
    """Run program in a fresh interpreter without the user's allocator settings (plus `environment`) -> its words."""
    unset = USER_SETTINGS + (OFF_SWITCH, "GLIBC_TUNABLES", "LD_PRELOAD")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(environment)
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def has_mallinfo2():
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except (OSError, TypeError):
        return False


pytestmark = pytest.mark.skipif(not has_mallinfo2(), reason="needs glibc 2.33 or later (mallinfo2)")


def test_without_minicnn_a_big_array_gets_pages_of_its_own():
    assert run_python(PROBE) == ["mmap", "False"]


def test_after_import_minicnn_a_big_array_comes_from_the_heap_and_its_memory_stays():
    assert run_python("import minicnn\n" + PROBE) == ["heap", "True"]


USER_CHOICES = [{"MALLOC_MMAP_THRESHOLD_": "131072"}, {"MALLOC_TRIM_THRESHOLD_": "131072"},
                {"GLIBC_TUNABLES": "glibc.malloc.check=0"}, {OFF_SWITCH: "0"}]


@pytest.mark.parametrize("setting", USER_CHOICES, ids=lambda setting: next(iter(setting)))
def test_a_setting_of_the_user_wins(setting):
    source, _ = run_python("import minicnn\n" + PROBE, **setting)
    assert source == "mmap"
    assert run_python("from minicnn.allocator import keep_freed_memory\nprint(keep_freed_memory())", **setting) == \
        ["False"]


def test_a_preloaded_allocator_wins_and_other_preloads_do_not_count():
    assert not _allocator_left_to_minicnn({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"})
    assert not _allocator_left_to_minicnn({"LD_PRELOAD": "libtcmalloc_minimal.so.4"})
    assert _allocator_left_to_minicnn({"LD_PRELOAD": "/usr/lib/libfaketime.so.1"})
    assert _allocator_left_to_minicnn({})


@pytest.mark.parametrize("switch, kept", [("1", "True"), ("0", "False")])
def test_the_allocator_says_whether_freed_memory_is_kept(switch, kept):
    # minicnn.winograd asks, to keep one workspace for all calls where freed memory would not come back fault-free
    program = "import minicnn.allocator as allocator\nprint(allocator.freed_memory_is_kept())"
    assert run_python("import minicnn\n" + program, **{OFF_SWITCH: switch}) == [kept]
