"""`make bench`: Commonplace measured from outside, against PostgreSQL, as production serves it.

    python -m bench            # 100k background annotations and replies (scale 1)
    python -m bench --quick    # 10k background, few rounds: under a minute
    python -m bench --scale 10 # 1M background
    python -m bench --help     # everything else (--explain, --readme, --report, ...)

The modules, one concern each:

- `database`: which database (a throwaway one whose name says "bench", or nothing), creating
  it, the lock that keeps two runs apart, and the marker that says which data it holds;
- `data`: the data set, built reproducibly (fixed seed) with the project's own models;
- `server`: collectstatic and gunicorn (2 sync workers, DEBUG off) on a free port;
- `timing`: the timed client (interleaved rounds against /healthz and a static file) and the
  bounded load (wrk, or a bounded Python client);
- `browser`: Chromium, from navigation to every highlight drawn, and the page's bytes;
- `queries`: query counts and the SQL of each page, in-process, and EXPLAIN of the hot ones;
- `report`: the table, the targets, results/*.json and bench/README.md;
- `run`: the order of it all, and the command line.
"""
