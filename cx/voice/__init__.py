"""Voice of the customer: comment normalisation, taxonomy tagging and sentiment
(:mod:`~cx.voice.themes`), theme summaries and verbatims, discovery of untagged topics, and the
word cloud. Comments are masked by :mod:`cx.core.privacy` before anything is shown."""
