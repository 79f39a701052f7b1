"""Merge steps: apps above customers register how their rows follow a merged customer to the survivor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from customers.models import Customer


class CustomerMergeStep(Protocol):
    def __call__(self, *, source: Customer, target: Customer) -> None: ...


_merge_steps: list[CustomerMergeStep] = []


def register_merge_step(step: CustomerMergeStep) -> None:
    """Called from an AppConfig.ready(); registering the same step twice keeps one."""
    if step not in _merge_steps:
        _merge_steps.append(step)


def merge_steps() -> tuple[CustomerMergeStep, ...]:
    return tuple(_merge_steps)
