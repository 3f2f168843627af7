"""The reporting side: metrics, the tree peers, the paper's tables, plots, published figures,
the experiment runs behind the tables, and paired comparisons."""
