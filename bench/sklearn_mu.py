"""scikit-learn's multiplicative-update NMF for bench/targets.R.

  /usr/bin/python3 bench/sklearn_mu.py DIR

DIR holds spec.txt written by targets.R ("m n r sparse repeats" on line 1, the
per-iteration maxit pair on line 2, the to-target maxit grid on line 3, the
time budget in seconds on line 4: the grid stops after a run longer than that) and
little-endian doubles: x.bin (column-major m x n) or, when sparse, i.bin/j.bin
(0-based, as doubles) and v.bin; w0.bin (column-major m x r), h0.bin
(column-major r x n), the same starting point betanmf gets.  Runs
NMF(solver='mu', beta_loss='kullback-leibler', init='custom', tol=0,
max_iter=k) -- the per-iteration pair from the custom start, the grid from
sklearn's default NNDSVDa (betanmf's MU starts from its "nndsvds") -- and prints CSV: kind,maxit,elapsed,cpu,loss (loss: sklearn's own
generalised KL of the returned factors, the same formula as the bench's).
The first line is a comment with sklearn's version and BLAS.
"""
import os
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

try:
    from sklearn.decomposition._nmf import _beta_divergence
except ImportError:  # pragma: no cover
    _beta_divergence = None


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        libs = [f"{d.get('internal_api')}:{os.path.basename(d.get('filepath', ''))}"
                f"(threads={d.get('num_threads')})" for d in threadpool_info()]
    except Exception:
        libs = []
    # numpy linked against libblas.so.3 is resolved through Debian's alternatives
    for cand in ("/etc/alternatives/libblas.so.3-x86_64-linux-gnu",
                 "/etc/alternatives/libblas.so.3"):
        if os.path.exists(cand):
            libs.append("libblas.so.3->" + os.path.realpath(cand))
            break
    return "; ".join(libs) if libs else "unknown (see numpy.show_config())"


def kl(x, w, h):
    if _beta_divergence is not None:
        return float(_beta_divergence(x, w, h, 1))
    y = w @ h
    x = x.toarray() if sp.issparse(x) else x
    pos = x > 0
    return float(np.sum(x[pos] * np.log(x[pos] / y[pos])) - x.sum() + y.sum())


def main(d):
    with open(os.path.join(d, "spec.txt")) as f:
        m, n, r, sparse, repeats = (int(v) for v in f.readline().split())
        pair = [int(v) for v in f.readline().split()]
        grid = [int(v) for v in f.readline().split()]
        budget = float(f.readline())
    rd = lambda name: np.fromfile(os.path.join(d, name), dtype="<f8")
    if sparse:
        x = sp.csr_matrix((rd("v.bin"), (rd("i.bin").astype(np.int64), rd("j.bin").astype(np.int64))),
                          shape=(m, n))
    else:
        x = np.ascontiguousarray(rd("x.bin").reshape((n, m)).T)
    w0 = np.ascontiguousarray(rd("w0.bin").reshape((r, m)).T)
    h0 = np.ascontiguousarray(rd("h0.bin").reshape((n, r)).T)
    print(f"# sklearn {sklearn.__version__}, numpy {np.__version__}, BLAS {blas_info()}")
    warnings.simplefilter("ignore", ConvergenceWarning)

    def run(k, custom=True):
        model = NMF(n_components=r, solver="mu", beta_loss="kullback-leibler",
                    init="custom" if custom else "nndsvda",
                    tol=0, max_iter=k, alpha_W=0.0, alpha_H="same")
        t0, c0 = time.perf_counter(), time.process_time()
        if custom:
            wf = model.fit_transform(x, W=w0.copy(), H=h0.copy())
        else:
            wf = model.fit_transform(x)
        t1, c1 = time.perf_counter(), time.process_time()
        return t1 - t0, c1 - c0, wf, model.components_, model.n_iter_

    for _ in range(repeats):
        for k in pair:
            e, c, _, _, it = run(k)
            print(f"per_iter,{k},{e:.6f},{c:.6f},NA")
    for k in grid:
        e, c, w, h, it = run(k, custom=False)
        print(f"grid,{k},{e:.6f},{c:.6f},{kl(x, w, h):.10g}")
        if it != k:
            print(f"# ran {it} iterations for max_iter {k}")
        if e > budget:
            break
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
