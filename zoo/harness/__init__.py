"""The zoo in lm-evaluation-harness: the masked-LM model type ``time-mlm`` (:mod:`zoo.harness.model`, PLL
scoring in :mod:`zoo.harness.pll`), task YAMLs generated from the registry (:mod:`zoo.harness.tasks`) and
``zoo lm-eval`` runs stored as result records (:mod:`zoo.harness.run`). lm-eval is the optional extra
``lm-eval``; only :mod:`zoo.harness.pll` and :mod:`zoo.harness.tasks` work without it."""
