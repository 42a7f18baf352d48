"""Durable jobs (DESIGN.md "MES face": long actions; docs/jobs.md).

``service`` enqueues, registers handlers and runs jobs; ``worker`` is the per-process loop the
app's lifespan starts.
"""
