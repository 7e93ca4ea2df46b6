"""Peer pipelines: published non-TiME models scored and timed by the same protocol as the students.

- :mod:`zoo.peers.spacy_pipeline`: ``--model spacy:<package>`` (an installed spaCy pipeline package):
  resolve, load, versions, parameter counts.
- :mod:`zoo.peers.spacy_conllu`: one spaCy ``Doc`` per gold sentence (gold words), and its annotation
  back as CoNLL-U columns with one root per sentence.

spaCy is the optional extra ``peers`` (``pip install -e '.[peers]'``); nothing imports it until a
``spacy:`` model is used.
"""
