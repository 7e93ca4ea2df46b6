"""Accuracy and macro-F1 of class labels as an ``evaluate`` module: the zoo's sentence-task metrics
(:func:`zoo.evaluation.metrics.classification_scores`)."""

import datasets
import evaluate

from zoo.evaluation.metrics import classification_scores

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V.
         and Thirion, B. and Grisel, O. and Blondel, M. and Prettenhofer, P.
         and Weiss, R. and Dubourg, V. and Vanderplas, J. and Passos, A. and
         Cournapeau, D. and Brucher, M. and Perrot, M. and Duchesnay, E.},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""

_DESCRIPTION = """\
Accuracy (the share of predictions equal to the reference label) and macro-F1 (the unweighted mean of the
per-class F1 over every class seen in the references or the predictions; a class with no true positive has
F1 0), from scikit-learn, in percent. These are the metrics the TiME Zoo scores its sentence-level tasks with
(NLI and RTE: accuracy; topic classification: accuracy and macro-F1). Labels are integers or strings.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of int or list of str, the predicted label of each example.
    references: list of int or list of str (the same kind), the gold label of each example.

Returns:
    dict: "accuracy" and "macro_f1" in percent (0 for no examples).

Examples:

    >>> import evaluate, zoo.metrics
    >>> classes = evaluate.load(str(zoo.metrics.path("classification")))
    >>> classes.compute(predictions=["a", "b", "b", "b"], references=["a", "a", "b", "c"])
    {'accuracy': 50.0, 'macro_f1': 38.888888888888886}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    """Accuracy and macro-F1 in percent."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://scikit-learn.org/stable/modules/model_evaluation.html",
            features=[
                datasets.Features(
                    {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
                ),
                datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
            ],
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html",
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html",
            ],
        )

    def _compute(self, predictions, references):
        return classification_scores(references, predictions)
