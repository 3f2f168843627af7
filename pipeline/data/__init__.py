"""The corpora and their text: dataset loaders (``datasets``), tokenisation (``text``), label
hierarchies (``hierarchy``) and the TF-IDF features (``tfidf``)."""
