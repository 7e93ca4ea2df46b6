"""Model cards: gather a student's provenance and results, choose its licence, render ``README.md``.

Every number on a card comes from the student's ``distillation.json`` (:mod:`zoo.card.context`) or from the
results store (:mod:`zoo.card.scores`); what is missing is printed as "not evaluated" / "not recorded"
(:mod:`zoo.card.fmt`), never filled in. :mod:`zoo.card.licence` chooses the licence, :mod:`zoo.card.render`
fills ``templates/model_card.md.j2`` through ``huggingface_hub.ModelCard``, and :mod:`zoo.card.stamp` marks
the card with what it was rendered from, so that ``zoo publish`` can refuse a stale one.
"""

from zoo.card.context import Student, locate_student, read_distillation, repo_ids
from zoo.card.licence import LicenceChoice, choose_licence, corpus_licences, student_licence
from zoo.card.render import card_context, citation, render_card, write_card
from zoo.card.scores import BenchRow, TaskResult, collect_bench, collect_eval
from zoo.card.stamp import current_stamp, read_stamp

__all__ = [
    "BenchRow",
    "LicenceChoice",
    "Student",
    "TaskResult",
    "card_context",
    "choose_licence",
    "citation",
    "collect_bench",
    "collect_eval",
    "corpus_licences",
    "current_stamp",
    "locate_student",
    "read_distillation",
    "read_stamp",
    "render_card",
    "repo_ids",
    "student_licence",
    "write_card",
]
