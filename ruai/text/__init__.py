"""Russian text: decode bytes, normalize, split sentences, chunk, lemmatize, find entities.

Import the submodules directly (``ruai.text.chunking`` ...): the heavy ones (entities, lemmas)
load their models only when used, and importing this package loads none of them.
"""
