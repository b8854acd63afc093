"""Scenario categories: each a plan builder and its rules, over one shared scenario model."""

from callforge.generator.errors import InputError
from callforge.generator.scenarios.base import Category, Scenario, ScenarioDraft, ScenarioPlan
from callforge.generator.scenarios.clarify import Clarify
from callforge.generator.scenarios.error_recovery import ErrorRecovery
from callforge.generator.scenarios.multi_step import MultiStep
from callforge.generator.scenarios.multi_turn import MultiTurn
from callforge.generator.scenarios.no_call import NoCall
from callforge.generator.scenarios.parallel import ParallelCalls
from callforge.generator.scenarios.single import SingleCall

CATEGORIES: dict[str, Category] = {
    category.name: category
    for category in (
        SingleCall(),
        ErrorRecovery(),
        MultiStep(),
        ParallelCalls(),
        NoCall(),
        Clarify(),
        MultiTurn(),
    )
}


def get_category(name: str) -> Category:
    try:
        return CATEGORIES[name]
    except KeyError:
        known = ", ".join(CATEGORIES)
        raise InputError(f"unknown category '{name}' (known: {known})") from None


__all__ = ["CATEGORIES", "Category", "Scenario", "ScenarioDraft", "ScenarioPlan", "get_category"]
