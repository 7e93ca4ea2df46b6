"""Distillation of tiny monolingual students (``zoo distill``).

- :mod:`zoo.distill.student`: student configs (xs / s / m) and initialisation.
- :mod:`zoo.distill.vocab`: vocabulary pruning and the student tokenizer.
- :mod:`zoo.distill.data`: the corpus, tokenised once with the teacher tokenizer and cached.
- :mod:`zoo.distill.relation_loss`: MiniLMv2 Q/K/V relation loss with forward hooks.
- :mod:`zoo.distill.hidden_loss`: the optional last-hidden-state MSE (``hidden_loss_weight``).
- :mod:`zoo.distill.trainer`: ``DistillationTrainer`` (HF ``Trainer``) and its collator.
- :mod:`zoo.distill.presets`: ``smoke``, ``cpu`` and ``time-gpu`` settings.
- :mod:`zoo.distill.prepare`: the job, teacher, corpus, vocabulary and student a run starts from.
- :mod:`zoo.distill.checkpoints`: the run directory, its checkpoints, resuming after an interruption.
- :mod:`zoo.distill.record`: ``DistillationRecord``, the typed ``distillation.json`` of a student.
- :mod:`zoo.distill.run`: the entry point (``zoo distill`` / ``python -m zoo.distill``).
"""
