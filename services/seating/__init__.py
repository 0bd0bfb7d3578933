"""Seating: the seat assignment algorithm (:mod:`~services.seating.assignment`)."""
