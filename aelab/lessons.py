"""The guided lessons: their content (aelab/lessons.toml, read and checked on first use) as Step records.

Each step asks a question to commit to first, then runs the live measurement (aelab/lesson_demos.py) that
settles it; the explanation shown afterwards is the one for the option the run measured. The content is a data
file so that words are edited apart from code. Nothing is read at import time: `steps()` reads the file once.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

CONTENT = Path(__file__).with_name("lessons.toml")
SECTIONS = ("Basics", "Pitfalls", "Training", "Myths", "Uses")


@dataclass(frozen=True)
class Step:
    key: str  # stable identifier (session state, tests, the predict-first question "lesson_<key>")
    link: int  # the step's number in links (?step=N): fixed forever, whatever the order
    section: str  # one of SECTIONS
    title: str  # shown in the step picker
    intro: str  # what the step is about; gives the answer away nowhere
    question: str  # asked before anything is revealed
    options: dict[str, str]  # option key -> the text shown, in display order
    expected: str  # the option the experiment measures with its own settings on Digits (tests; never shown as "right")
    experiment: Callable  # lesson_demos.demo_*: (DataBundle, seed=0) -> Outcome, whose `shows` is an option key or None
    why: dict[str, str] = field(default_factory=dict)  # option key -> why a run comes out that way (after the run)
    terms: tuple[str, ...] = ()  # glossary keys (aelab/glossary.py) of the words the step uses
    run_label: str = "Run the experiment"  # text on the experiment's button
    page: str | None = None  # the lab page that explores the idea further
    page_label: str = ""  # text of the link to that page

    def __post_init__(self) -> None:
        if self.expected not in self.options:
            raise ValueError(f"Lesson '{self.key}': the expected option '{self.expected}' is not one of its options "
                             f"({', '.join(self.options)}).")
        if self.expected not in self.why or not set(self.why) <= set(self.options):
            raise ValueError(f"Lesson '{self.key}': [steps.why] must explain the expected option and name only "
                             "options.")
        if self.section not in SECTIONS:
            raise ValueError(f"Lesson '{self.key}': unknown section '{self.section}'.")
        from aelab.glossary import TERMS

        unknown = [t for t in self.terms if t not in TERMS]
        if unknown:
            raise ValueError(f"Lesson '{self.key}': no glossary entry for {', '.join(unknown)} (aelab/glossary.py).")

    @property
    def choices(self) -> tuple[str, ...]:
        """The options' texts in display order (what the page lists)."""
        return tuple(self.options.values())


def read_steps(path: Path = CONTENT) -> tuple[Step, ...]:
    """The lessons in file order; each record's experiment names a demo function of aelab.lesson_demos."""
    from aelab import lesson_demos  # imports torch: only when the lessons are first read

    with open(path, "rb") as f:
        records = tomllib.load(f)["steps"]
    steps = []
    for rec in records:
        demo = getattr(lesson_demos, rec["experiment"], None)
        if not (rec["experiment"].startswith("demo_") and callable(demo)):
            raise ValueError(f"Lesson '{rec['key']}': no demo function '{rec['experiment']}' in aelab.lesson_demos.")
        steps.append(Step(**{**rec, "experiment": demo, "terms": tuple(rec.get("terms", ()))}))
    if len({s.key for s in steps}) != len(steps):
        raise ValueError("Two lessons share a key.")
    if sorted(s.link for s in steps) != list(range(1, len(steps) + 1)):
        raise ValueError("The lessons' link numbers must be 1 to N, each once.")
    return tuple(steps)


@functools.cache
def steps() -> tuple[Step, ...]:
    """The lessons, read from CONTENT on first use and kept."""
    return read_steps()


def __getattr__(name: str):
    if name == "STEPS":  # lessons.STEPS: the steps, read on first access
        return steps()
    raise AttributeError(name)


def by_key(key: str) -> Step:
    """The step with this key; KeyError otherwise."""
    for step in steps():
        if step.key == key:
            return step
    raise KeyError(key)


def by_link(link: int) -> Step:
    """The step with this link number (?step=N); KeyError otherwise."""
    for step in steps():
        if step.link == link:
            return step
    raise KeyError(link)


def position(step: Step) -> int:
    """1-based place of the step in the beginner's order."""
    return steps().index(step) + 1
