"""The judge: graded test cells run in a kernel of their own that never executes student code.

``wire`` (the messages); ``values`` (values as data: the format; ``names`` what crosses by name or
description, ``encode``, ``decode``, ``decode_plain``); ``peer`` (one end of the connection: requests
and their serving; ``state`` generators and arguments' state, ``proxies`` objects of the other end,
``errors`` exceptions as data); ``namespace`` (the judge's notebook namespace); ``judge_start`` (the
judge kernel), ``student_side`` (what the student's kernel serves).
This package is loaded by path in both kernels; it imports only the standard library, msgpack,
NumPy and torch.
"""
