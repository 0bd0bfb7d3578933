"""Seating: the seat map model (``layout``) and the automatic assignment (``assign``).

Plain functions and dataclasses, no I/O; the Celery task and the API wrap them.
"""
