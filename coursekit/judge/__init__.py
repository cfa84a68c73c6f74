"""The judge: graded test cells run in a kernel of their own that never executes student code.

``wire`` (the messages), ``values`` (values as data), ``peer`` (one end of the connection),
``judge_start`` (the judge kernel), ``student_side`` (what the student's kernel serves).
This package is loaded by path in both kernels; it imports only the standard library, msgpack,
NumPy and torch.
"""
