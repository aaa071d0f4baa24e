"""Data-parallel training: K processes train one model together, each on its share of every minibatch, over MPI.

    mpiexec -n 4 python examples/train_deep.py --data-parallel ...

Every process holds the whole model and the whole data set and draws the same minibatches (the same seed: the same
shuffle and the same augmentation). Of each minibatch of B samples, process k takes the contiguous rows
[k * B // K, (k + 1) * B // K), runs model.loss on them, and the K gradients are summed by one MPI allreduce over one
flat buffer. Why a sum of shard gradients is the big batch's gradient: the model's loss is a mean over its samples
plus the L2 term, so with B_k samples on process k

    grad(batch) = (1 / B) sum_i grad(loss_i) + reg * W
                = sum_k (B_k / B) * [(1 / B_k) sum_{i in share k} grad(loss_i) + reg * W]

and each process scales its gradient by B_k / B before the sum. Every process then applies the same update to the
same parameters, so they stay identical, bit for bit; end_epoch checks it.

Batch norm: each process normalises with its own shard's mean and variance (as PyTorch's DistributedDataParallel
does by default), so with batch norm K processes are not one process with batch B: the statistics come from B / K
samples, noisier, and the normalised activations (so the gradients) differ. The running statistics, which test mode
uses, are averaged over the processes at the end of every epoch. Dropout: every process has the model's dropout seed,
so the k-th sample of every shard gets the same mask; the masks stay independent of the images (which are shuffled),
but not of each other.

CuPy arrays: the flat buffer is built on the GPU, copied to the host for the allreduce and back (the MPI wheels on
PyPI are not CUDA-aware; a CUDA-aware MPI could take the GPU buffer directly).

The Solver calls this object between model.loss and the update (Solver(..., data_parallel=DataParallel(comm))); only
this module knows about MPI, and it imports no MPI itself: comm is an mpi4py communicator (world() makes one).
"""
import os
import sys
import traceback

import numpy as np

from minicnn.backend import get_array_module, is_gpu_array, to_device, to_numpy
from minicnn.files import checksum
from minicnn.solver.solver import take

# Environment variables by which the MPI launchers tell a process how many were started (MPICH's Hydra, Open MPI).
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
INSTALL_HINT = 'pip install -e ".[mpi]" (mpi4py with the MPICH wheel from PyPI)'


class ParametersDiverged(RuntimeError):
    """The processes of a data-parallel run no longer hold the same parameters (they must: same gradient, same
    update). Attributes: epoch, name (the first parameter that differs), ranks (the processes whose copy differs
    from process 0's)."""

    def __init__(self, epoch, name, ranks):
        self.epoch, self.name, self.ranks = epoch, name, ranks
        super().__init__(f"data-parallel training: after epoch {epoch} the processes' parameters differ: {name!r} "
                         f"on process(es) {', '.join(map(str, ranks))} is not process 0's. The processes must apply "
                         "the same update to the same numbers; different CPUs or library versions on the nodes can "
                         "round differently")


def processes_started_by_launcher():
    """How many processes an MPI launcher (mpiexec, mpirun) started together with this one, from the environment it
    sets; 1 when none did. Reads no MPI library, so a plain run never needs one."""
    for name in LAUNCHER_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def world():
    """A DataParallel over all the processes that mpiexec started (MPI.COMM_WORLD). ImportError, saying what to
    install, without mpi4py."""
    try:
        from mpi4py import MPI   # initialises MPI: done here, only when data-parallel training is asked for
    except ImportError as error:
        raise ImportError(f"data-parallel training needs mpi4py and an MPI library: {INSTALL_HINT}") from error
    return DataParallel(MPI.COMM_WORLD)


class DataParallel:
    """The processes of comm (an mpi4py communicator) training one model, each on its share of every minibatch.

    rank: this process's number, 0..size-1; size: K, the number of processes; is_root: rank 0, the process that
    writes files and prints.
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.is_root = self.rank == 0
        self._buffers = {}      # dtype, length -> (send, receive): one pair for the whole run, not one per step

    def share(self, count):
        """The rows of a batch of count samples that this process takes: a slice; the K slices are contiguous,
        cover the batch once and differ in length by one at most (a slice can be empty when count < K)."""
        return slice(self.rank * count // self.size, (self.rank + 1) * count // self.size)

    def take_share(self, X, y):
        """This process's share of inputs X: (N, ...) (or a tuple of such arrays) and labels y: (N,)."""
        rows = self.share(len(y))
        return take(X, rows), y[rows]

    def loss_and_gradients(self, model, X_batch, y_batch, stop_requested=False):
        """The loss and gradients of the whole batch, computed on this process's share and summed over all.

        X_batch: (B, ...) and y_batch: (B,), the same on every process. stop_requested: whether this process was
        asked to stop (Ctrl-C, SIGTERM); it travels in the same allreduce, so that all processes stop after the same
        step. Returns (loss, grads, stop_anywhere): grads[name] shaped like model.params[name], views into a buffer
        that the next call overwrites.
        """
        X_share, y_share = self.take_share(X_batch, y_batch)
        weight = len(y_share) / len(y_batch)
        if len(y_share):
            loss, grads = model.loss(X_share, y_share)
        else:  # a last batch smaller than K leaves some processes without samples: they add nothing
            loss, grads = 0.0, {name: get_array_module(w).zeros_like(w) for name, w in model.params.items()}
        names = list(model.params)
        summed = self._allreduce([grads[name] for name in names], weight, extras=(weight * float(loss),
                                                                                   float(stop_requested)))
        summed_grads = _unflatten(summed, {name: model.params[name] for name in names})
        loss_sum, stop_count = (float(value) for value in summed[-2:])
        return loss_sum, summed_grads, stop_count > 0

    def _allreduce(self, arrays, weight, extras):
        """One MPI allreduce (sum) of weight * arrays, flattened into one buffer, with the numbers extras after them.
        Returns the summed buffer (on the arrays' device)."""
        dtype = np.result_type(*(array.dtype for array in arrays))
        send, received = self._buffer_pair(dtype, sum(array.size for array in arrays) + len(extras))
        offset = 0
        for array in arrays:
            send[offset:offset + array.size] = to_numpy(array).reshape(-1)  # a GPU array comes through the host
            offset += array.size
        send[:offset] *= dtype.type(weight)
        send[offset:] = extras
        self.comm.Allreduce(send, received)
        return to_device(received, "gpu") if is_gpu_array(arrays[0]) else received

    def _buffer_pair(self, dtype, length):
        key = (np.dtype(dtype).str, length)
        if key not in self._buffers:
            self._buffers[key] = (np.empty(length, dtype), np.empty(length, dtype))
        return self._buffers[key]

    def run_everywhere(self, main):
        """Call main() (it returns an exit status) on this process. When it fails here, with a status other than 0 or
        an exception (its traceback printed), MPI_Abort ends every process with that status: the others would
        otherwise wait forever for this one in their next allreduce. Returns the status (0) when it does not."""
        try:
            status = main()
        except KeyboardInterrupt:   # a second Ctrl-C
            print("\ninterrupted", file=sys.stderr)
            status = 130
        except BaseException:  # any failure must end all the processes, not leave them waiting
            traceback.print_exc()
            status = 1
        if status:
            sys.stdout.flush()
            sys.stderr.flush()
            self.comm.Abort(status)
        return status

    def sum_over_processes(self, number):
        """number summed over all processes (a count of correct answers, say), the same on every process."""
        return self.comm.allreduce(number)

    def end_epoch(self, model, epoch):
        """At the end of epoch (1-based): average the model's floating-point state (batch norm's running
        statistics) over the processes, then check that all hold the same parameters; ParametersDiverged when not.
        """
        self._average_state(model)
        digests = {name: checksum({name: to_numpy(w)}) for name, w in model.params.items()}
        all_digests = self.comm.allgather(digests)
        for name in digests:
            ranks = [rank for rank, theirs in enumerate(all_digests) if theirs[name] != all_digests[0][name]]
            if ranks:
                raise ParametersDiverged(epoch, name, ranks)

    def _average_state(self, model):
        """Replace each floating-point array of model.get_state() by its mean over the processes (one allreduce).
        Integer entries (counters, seeds) move in step on every process and are left alone."""
        if not hasattr(model, "get_state"):
            return
        state = model.get_state()
        names = [name for name, value in state.items() if np.issubdtype(value.dtype, np.floating)]
        if not names:
            return
        summed = self._allreduce([state[name] for name in names], 1 / self.size, extras=(0.0,))
        averages = _unflatten(summed, {name: state[name] for name in names})
        model.set_state({name: average.copy() for name, average in averages.items()})  # the buffer is reused


def _unflatten(flat, like):
    """flat (a buffer holding the arrays of like back to back, maybe with more after them) cut into arrays shaped
    like like[name], as a dict name -> view into flat."""
    arrays, offset = {}, 0
    for name, reference in like.items():
        arrays[name] = flat[offset:offset + reference.size].reshape(reference.shape)
        offset += reference.size
    return arrays

