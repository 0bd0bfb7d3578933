"""The seat assignment algorithm: the seat map model (``layout``) and the automatic
assignment (``assign``).

Plain functions and dataclasses, no I/O, with their own unit tests. They live here, next
to the service that applies them (:mod:`services.seating.automatic`), because services
never import task code; the Celery task only wraps that service.
"""
