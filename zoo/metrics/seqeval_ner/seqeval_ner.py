"""NER entity precision, recall and F1 (seqeval, default mode, IOB2) as an ``evaluate`` module: the zoo's NER
metric (:func:`zoo.evaluation.metrics.entity_scores`)."""

import datasets
import evaluate

from zoo.evaluation.metrics import entity_scores

_CITATION = """\
@inproceedings{ramshaw-marcus-1995-text,
    title = "Text Chunking using Transformation-Based Learning",
    author = "Ramshaw, Lance  and
      Marcus, Mitch",
    booktitle = "Third Workshop on Very Large Corpora",
    year = "1995",
    url = "https://www.aclweb.org/anthology/W95-0107",
}
@misc{seqeval,
  title={{seqeval}: A Python framework for sequence labeling evaluation},
  url={https://github.com/chakki-works/seqeval},
  note={Software available from https://github.com/chakki-works/seqeval},
  author={Hiroki Nakayama},
  year={2018},
}
"""

_DESCRIPTION = """\
Entity-level precision, recall and F1 of named-entity tags, micro-averaged over entities, from seqeval in its
default (conlleval-compatible) mode on IOB2 tags, as the MasakhaNER baselines score: an entity is a maximal
span B-X I-X ... (an I-X after O or after another type opens a new entity), and a predicted entity counts
only when its span and type both equal a gold entity's. Scores are in percent. This is the implementation
the TiME Zoo scores its NER tasks with.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of list of str, the predicted tag of every word of every sentence (IOB2: O, B-X, I-X).
    references: list of list of str, the gold tags; each sentence as long as its prediction.

Returns:
    dict: "precision", "recall", "f1" in percent (0 where nothing is predicted or nothing is gold).

Examples:

    >>> import evaluate, zoo.metrics
    >>> ner = evaluate.load(str(zoo.metrics.path("seqeval_ner")))
    >>> references = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]]
    >>> predictions = [["B-PER", "I-PER", "O", "B-LOC", "B-DATE", "O"]]
    >>> ner.compute(predictions=predictions, references=references)["f1"]  # 2 right of 3 predicted, 3 gold
    66.66666666666666
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SeqevalNer(evaluate.Metric):
    """seqeval entity precision, recall and F1 in percent."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://github.com/chakki-works/seqeval",
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                    "references": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                }
            ),
            codebase_urls=["https://github.com/chakki-works/seqeval"],
            reference_urls=["https://aclanthology.org/W95-0107"],
        )

    def _compute(self, predictions, references):
        return entity_scores([list(s) for s in references], [list(s) for s in predictions])
