"""The UD joint model: edit-script lemmas, tree decoding, the network and its training loop."""
