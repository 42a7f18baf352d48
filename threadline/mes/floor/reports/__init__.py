"""Traceability reports of the MES floor (mes-api-reference.txt ``/traceability-report/``,
``/material-batch-traceability-report/``): "exporting the events that transpired during the
creation of a given object as a printable document", built by a durable job from the digital
thread (threadline/mes/floor/trace.py) and the one audit log, stored in the blob store."""
