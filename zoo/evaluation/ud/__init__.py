"""UD tasks: the joint model, edit-script lemmas, tree decoding, the task runner and the CoNLL 2018 scorer."""
