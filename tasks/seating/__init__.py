"""The seating tasks (``jobs``); the assignment algorithm they apply is in
:mod:`services.seating.assignment`."""
