"""Data scopes as AMIS sees them: a combo row's data sits on top of the form's.

AMIS builds a row's data with ``Object.create(parentData)``, so a name missing
from the row is looked up in the form (and ``this``/``equalsField`` see both).
:class:`Scope` is that prototype chain over plain dicts.
"""

from __future__ import annotations

from typing import Any

from models.amis.jsvalues import UNDEFINED


class Scope:
    """A dict of values with an optional parent scope consulted for missing keys."""

    __slots__ = ("data", "parent")

    def __init__(self, data: dict | None = None, parent: Scope | None = None):
        self.data = data if isinstance(data, dict) else {}
        self.parent = parent

    def has(self, key: str) -> bool:
        """``key in scope`` (own keys or any parent's)."""
        scope: Scope | None = self
        while scope is not None:
            if key in scope.data:
                return True
            scope = scope.parent
        return False

    def get(self, key: str) -> Any:
        """The value of ``key`` here or in a parent; :data:`UNDEFINED` if none has it."""
        scope: Scope | None = self
        while scope is not None:
            if key in scope.data:
                return scope.data[key]
            scope = scope.parent
        return UNDEFINED

    def get_path(self, name: str, own: bool = False) -> Any:
        """A field's value by name, as AMIS's ``getVariable``: a literal key, else the dotted path.

        With ``own`` only this scope's data is read (a combo row's fields come
        from the row, never from the form around it).
        """
        if name in self.data or (not own and self.has(name)):
            return self.data[name] if name in self.data else self.get(name)
        head, *rest = name.split(".")
        value = self.data.get(head, UNDEFINED) if own else self.get(head)
        for key in rest:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return UNDEFINED
        return value

    def child(self, data: dict) -> Scope:
        """A scope for ``data`` whose missing keys fall back to this one."""
        return Scope(data, self)
