"""Instruments for test cells: models that record how student code used them, and tensors that make a
device visible on a CPU. Test cells pass these into student code instead of classes of their own.

They are public library code, the same in every kernel: while grading, the graded test cells run in
a judge kernel of their own and student code in the student's kernel, and an instrument crosses
between the two as data (its class name, settings, weights and records) and is rebuilt there
(coursekit/judge). A class defined in a test cell cannot cross: its code would have to run where the
student's code runs.

Records are plain data (lists of tuples of booleans and numbers). A deep copy of a recorder shares
its record, so a correct answer that evaluates ``copy.deepcopy(model)`` is seen as well.

The package, by concern (every public name is imported from here, ``from utils.checks.instruments import ...``):

- ``_recorders``: ``ModeRecorder``, ``Probe``, ``LookupModel``, ``TargetRecorder``;
- ``_devices``: ``StandInGpuTensor``, ``NotMovedYet``, ``OnDevice``, ``DeviceModel``, ``unmoved_batches``,
  ``SimulatedGpuTensor``, ``on_gpu`` (and ``TENSOR_CLASSES``, the instruments' tensor classes);
- ``_modes``: ``InstrumentMode``, ``use``, ``active_modes``, ``mode``, ``GpuFactories``, ``simulated_gpu``,
  ``TrainingRecorder``, ``TorchCalls``.

Every class and function is known by this package's name (``__module__``): the judge rebuilds an
instrument from ``utils.checks.instruments`` and its class name (coursekit/judge/values.py).
"""
from __future__ import annotations

from ._devices import (TENSOR_CLASSES, DeviceModel, NotMovedYet, OnDevice, SimulatedGpuTensor, StandInGpuTensor,
                       on_gpu, unmoved_batches)
from ._modes import (_ACTIVE, _MODES, GpuFactories, InstrumentMode, TorchCalls, TrainingRecorder, active_modes, mode,
                     simulated_gpu, use)
from ._recorders import LookupModel, ModeRecorder, Probe, TargetRecorder

__all__ = ["ModeRecorder", "Probe", "LookupModel", "TargetRecorder", "StandInGpuTensor", "NotMovedYet", "OnDevice",
           "DeviceModel", "unmoved_batches", "SimulatedGpuTensor", "on_gpu", "GpuFactories", "simulated_gpu",
           "active_modes", "InstrumentMode", "use", "TrainingRecorder", "TorchCalls"]

# One public module, as before the split: the judge names an instrument by this module and its name.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
