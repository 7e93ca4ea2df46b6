"""CoNLL 2018 shared-task UD metrics as an ``evaluate`` module (the zoo's port of ``conll18_ud_eval.py``)."""

import datasets
import evaluate

from zoo.evaluation.metrics import ud_text_scores

_CITATION = """\
@inproceedings{zeman-etal-2018-conll,
    title = "{C}o{NLL} 2018 Shared Task: Multilingual Parsing from Raw Text to {U}niversal {D}ependencies",
    author = "Zeman, Daniel and Haji{\\v{c}}, Jan and Popel, Martin and Potthast, Martin and Straka, Milan and
      Ginter, Filip and Nivre, Joakim and Petrov, Slav",
    booktitle = "Proceedings of the {C}o{NLL} 2018 Shared Task: Multilingual Parsing from Raw Text to
      {U}niversal {D}ependencies",
    year = "2018",
    address = "Brussels, Belgium",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/K18-2001",
    doi = "10.18653/v1/K18-2001",
    pages = "1--21",
}
"""

_DESCRIPTION = """\
The evaluation of the CoNLL 2018 shared task on UD parsing, as the official script conll18_ud_eval.py (v1.2)
computes it: Tokens, Sentences, Words, UPOS, XPOS, UFeats, AllTags, Lemmas, UAS, LAS, CLAS, MLAS and BLEX,
each as precision, recall and F1 over words aligned by their character spans (any tokenisation of the same
text), and as accuracy over the aligned words where that applies. LAS ignores relation subtypes, UFeats
compares universal features only, and CLAS, MLAS and BLEX count content words only. Scores are in percent.
This is the implementation the TiME Zoo scores its UD tasks with (`zoo score ud GOLD SYSTEM --json`).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of str, system CoNLL-U text. Each item holds whole sentences (a file's text, or one
        sentence); the empty line after an item's last sentence may be left out. Items are joined in order.
    references: list of str, gold CoNLL-U text in the same form. The joined system and gold texts must spell
        the same characters once spaces are removed; the number of items must be equal.
    counts: bool, also return the raw counts (correct, gold_total, system_total, aligned_total); default
        False.

Returns:
    dict: metric name ("Tokens", ..., "BLEX") -> {"precision", "recall", "f1", "aligned_accuracy"} in percent
    ("aligned_accuracy" is None for Tokens, Sentences and Words), plus the counts when asked.

Examples:

    >>> import evaluate, zoo.metrics
    >>> ud = evaluate.load(str(zoo.metrics.path("conll18_ud")))
    >>> gold = ("1\\tDie\\tdie\\tDET\\t_\\t_\\t2\\tdet\\t_\\t_\\n"
    ...         "2\\thond\\thond\\tNOUN\\t_\\t_\\t0\\troot\\t_\\t_\\n")
    >>> system = gold.replace("\\tDET\\t", "\\tPRON\\t")
    >>> scores = ud.compute(predictions=[system], references=[gold])
    >>> scores["UPOS"]["f1"], scores["LAS"]["f1"]
    (50.0, 100.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Conll18Ud(evaluate.Metric):
    """CoNLL 2018 UD metrics of system CoNLL-U text against gold CoNLL-U text."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://universaldependencies.org/conll18/evaluation.html",
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=["https://universaldependencies.org/conll18/conll18_ud_eval.py"],
            reference_urls=["https://universaldependencies.org/conll18/evaluation.html"],
        )

    def _compute(self, predictions, references, counts=False):
        return ud_text_scores(references, predictions, counts=counts)
