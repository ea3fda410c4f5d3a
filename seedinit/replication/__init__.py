"""The replication of the paper, built on the method above it: the protocol of runs, sweeps, the command line, and the
way from records to tables, tests, the book's sentences and its figures.

    runs -> protocol -> sweep -> cli          (no pandas: ``pip install seedinit`` runs the protocol)
    runs -> tables -> statistics -> prose     (the book's extra: pandas, scipy, statsmodels)
    protocol -> cost, statistics -> performance  (what runs cost, the performance page's tables)
"""
