"""The business operations, one module per domain.

A service function takes the caller (:class:`services.access.Caller`) and plain
arguments, checks permissions and tenant scope, calls the CRUD functions of
``models``, announces events through :mod:`services.events` and starts jobs
through :func:`services.jobs.start_job`. API handlers and Celery tasks call these
functions; neither repeats what they do.
"""
