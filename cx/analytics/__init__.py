"""Leadership analytics: pure ``(LazyFrame, Scope, Filters) -> DataFrame`` queries for the
overview and its precomputed rollup, segments and RFM tiers, key drivers, benchmarks, evolution,
world zones, fieldwork and the one-sentence takeaways. Scope first, then filters, one collect."""
