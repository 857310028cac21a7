"""Inputs: the tube's declared inputs (``InputSpecification``, ``InputScope``) and the values
given to it (``InputCollection``).

Owns: looking an input up (process call, tube input, declared default) and replacing
``input.<key>`` strings in params. Must not: import ``noob.tube`` or ``noob.runner``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from noob.exceptions import ExtraInputWarning, InputMissingError
from noob.spec import InputScope, InputSpecification

__all__ = ["INPUT_PATTERN", "InputCollection", "InputScope", "InputSpecification"]

INPUT_PATTERN = re.compile(r"input\.(?P<key>.+)")


def _quoted(names: Any) -> str:
    names = list(names)
    return ", ".join(repr(n) for n in names) if names else "none"



class _Specs(dict):
    """``{input id: spec}``, which also answers the original's ``specs[scope]`` -> ``{id: spec}``."""

    def __missing__(self, key: Any) -> Any:
        if key in ("tube", "process"):  # InputScope members compare equal to their values
            return {k: s for k, s in self.items() if InputScope(s.scope) == key}
        raise KeyError(key)


class InputCollection:
    """The tube's declared inputs and the tube-scoped values given to it.

    ``get(key, process_input)`` looks a key up in the process call's input, then the tube's
    input, then declared defaults. Tube-scoped inputs can be overridden per ``process()``
    call (the original's documentation says so; its code drops them).

    ``specs`` may be given flat (``{id: spec}``) or, as in the original, by scope
    (``InputCollection(specs={InputScope.tube: {id: spec}})``); ``self.specs`` is flat and
    also answers ``specs[InputScope.tube]`` with that scope's specs.
    """

    def __init__(self, specs: Mapping[Any, Any] | None = None, tube_input: Mapping[str, Any] | None = None):
        flat: dict[str, InputSpecification] = {}
        for key, value in (specs or {}).items():
            if key in ("tube", "process") and isinstance(value, Mapping):
                flat.update(value)  # the original's {scope: {id: spec}}
            else:
                flat[key] = value
        self.specs = _Specs(flat)
        self.tube_input: dict[str, Any] = {}
        self.by_scope = {
            scope: {k: s for k, s in self.specs.items() if InputScope(s.scope) == scope} for scope in InputScope
        }
        self.add_tube_input(tube_input or {})

    def add_input(self, scope: InputScope | str, values: Mapping[str, Any]) -> None:
        """Add tube-scoped input (the original's API). ``process`` input is per call: ``ValueError``."""
        if scope == InputScope.process:
            raise ValueError("process-scoped input is given per call (runner.process(**input)); it cannot be stored")
        if scope != InputScope.tube:
            raise ValueError(f"unknown input scope {scope!r}; expected 'tube' or 'process'")
        self.add_tube_input(values)

    @property
    def defaults(self) -> dict[str, Any]:
        """The declared defaults, by input id (inputs without one are left out)."""
        return {k: s.default for k, s in self.specs.items() if s.has_default}

    @property
    def chain(self) -> dict[str, Any]:
        """Tube input over declared defaults (the original's ``ChainMap``, as a plain dict)."""
        return {**self.defaults, **self.tube_input}

    def add_tube_input(self, given: Mapping[str, Any]) -> None:
        tube_specs = self.by_scope[InputScope.tube]
        process_specs = self.by_scope[InputScope.process]
        per_call = {k: v for k, v in given.items() if k in process_specs}
        if per_call:
            names = ", ".join(f"{k}=..." for k in per_call)
            warnings.warn(
                ExtraInputWarning(
                    f"Ignoring extra input given to the tube for process-scoped input(s) {_quoted(per_call)}: "
                    f"a process-scoped input is given to each call, runner.process({names}); or declare it "
                    "`scope: tube` to give it once"
                ),
                stacklevel=4,
            )
        extra = {k: v for k, v in given.items() if k not in tube_specs and k not in process_specs}
        if extra:
            warnings.warn(
                ExtraInputWarning(
                    f"Ignoring extra input without a specification provided to scope `tube`: {extra!r} "
                    f"(tube inputs: {_quoted(tube_specs)})"
                ),
                stacklevel=4,
            )
        self.tube_input.update({k: v for k, v in given.items() if k in tube_specs})
        for key, spec in tube_specs.items():
            if spec.required and key not in self.tube_input and not spec.has_default:
                raise InputMissingError(
                    f"required tube-scoped input {key!r} was not given; pass it as "
                    f"Tube.from_specification(..., input={{{key!r}: ...}})",
                    input=key,
                    scope="tube",
                )

    def get(self, key: str, process_input: Mapping[str, Any] | None = None) -> Any:
        if process_input and key in process_input:
            return process_input[key]
        if key in self.tube_input:
            return self.tube_input[key]
        spec = self.specs[key]
        if spec.has_default or not spec.required:
            return spec.default
        raise InputMissingError(
            f"input {key!r} ({spec.scope} scope) was not given and has no default", input=key, scope=str(spec.scope)
        )

    def resolve_params(self, params: Any) -> Any:
        """``params`` with every ``input.<key>`` string replaced by the tube-scoped value (a copy)."""
        if isinstance(params, Mapping):
            return {k: self._resolve_value(v) for k, v in params.items()}
        if isinstance(params, (list, tuple)):
            return [self._resolve_value(v) for v in params]
        return params

    def _resolve_value(self, value: Any) -> Any:
        if isinstance(value, str):
            m = INPUT_PATTERN.fullmatch(value)
            if m and m.group("key") in self.specs:
                key = m.group("key")
                if InputScope(self.specs[key].scope) == InputScope.process:
                    raise InputMissingError(
                        f"params use process-scoped input {key!r}, which only exists during process(); "
                        "use it in `depends` instead, or make it tube-scoped",
                        input=key,
                        scope="process",
                    )
                return self.get(key)
        return value


