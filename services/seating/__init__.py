"""Seating: the seat map (:mod:`~services.seating.maps`), staff's manual seats and holds
and each attendee's own seat (:mod:`~services.seating.places`), and the automatic
assignment (:mod:`~services.seating.automatic`, its algorithm in
:mod:`~services.seating.assignment`). Seating wishes are :mod:`services.seating_wishes`.

Every change of seats runs under the conference's seating lock
(:func:`models.seat_assignments.seating_lock`); a caller that waits too long for it gets
503 ``seating_busy`` and may simply retry. Seats of an archived conference are read-only
(409 ``conference_archived``); reading them still works.
"""
