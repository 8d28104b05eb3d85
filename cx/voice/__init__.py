"""Voice of the customer: comment normalisation (:mod:`~cx.voice.normalise`), word keys by lemma
(:mod:`~cx.voice.lemmas`), the taxonomy (:mod:`~cx.voice.taxonomy`) and sentiment lexicons
(:mod:`~cx.voice.sentiment`), tagging with per-theme polarity (:mod:`~cx.voice.themes`), theme
summaries and verbatims, discovery of untagged topics, the word cloud, and the evaluation on a
labelled set (:mod:`~cx.voice.evaluate`). Comments are masked by :mod:`cx.core.privacy` before
anything is shown."""
