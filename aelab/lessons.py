"""The guided lessons: their content (aelab/lessons.toml, read and checked here) as Step records.

Each step asks a question to commit to first, then runs the live measurement (aelab/lesson_demos.py) that
settles it. The content is a data file so that words are edited apart from code.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aelab import lesson_demos
from aelab.data import DataBundle
from aelab.lesson_demos import Outcome

CONTENT = Path(__file__).with_name("lessons.toml")
SECTIONS = ("Basics", "Myths", "Pitfalls", "Uses")


@dataclass(frozen=True)
class Step:
    key: str  # stable identifier (session state, tests, URL)
    section: str  # one of SECTIONS
    title: str  # shown in the step picker
    intro: str  # what the step is about; gives the answer away nowhere
    question: str  # asked before anything is revealed
    options: dict[str, str]  # option name -> the text shown, in display order
    answer: str  # name of the right option
    reveal: str  # the explanation shown once an answer is committed
    experiment: Callable[[DataBundle], Outcome]  # the live measurement that settles it
    run_label: str = "Run the experiment"  # text on the experiment's button
    page: str | None = None  # the lab page that explores the idea further
    page_label: str = ""  # text of the link to that page

    def __post_init__(self) -> None:
        if self.answer not in self.options:
            raise ValueError(f"Lesson '{self.key}': the answer '{self.answer}' is not one of its options "
                             f"({', '.join(self.options)}).")
        if self.section not in SECTIONS:
            raise ValueError(f"Lesson '{self.key}': unknown section '{self.section}'.")

    @property
    def choices(self) -> tuple[str, ...]:
        """The options' texts in display order (what the page lists)."""
        return tuple(self.options.values())

    @property
    def answer_index(self) -> int:
        """Position of the right option among the choices."""
        return list(self.options).index(self.answer)


def read_steps(path: Path = CONTENT) -> tuple[Step, ...]:
    """The lessons in file order; each record's experiment names a demo function of aelab.lesson_demos."""
    with open(path, "rb") as f:
        records = tomllib.load(f)["steps"]
    steps = []
    for rec in records:
        demo = getattr(lesson_demos, rec["experiment"], None)
        if not (rec["experiment"].startswith("demo_") and callable(demo)):
            raise ValueError(f"Lesson '{rec['key']}': no demo function '{rec['experiment']}' in aelab.lesson_demos.")
        steps.append(Step(**{**rec, "experiment": demo}))
    if len({s.key for s in steps}) != len(steps):
        raise ValueError("Two lessons share a key.")
    return tuple(steps)


STEPS: tuple[Step, ...] = read_steps()


def by_key(key: str) -> Step:
    """The step with this key; KeyError otherwise."""
    for step in STEPS:
        if step.key == key:
            return step
    raise KeyError(key)


def is_right(step: Step, choice: int) -> bool:
    """Whether the choice at this position is the step's answer."""
    return choice == step.answer_index
