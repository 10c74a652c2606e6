"""scikit-learn's NMF for bench/anchor.R, one method and data set per process.

  /usr/bin/python3 bench/sklearn_anchor.py DIR SOLVER BETA grid BUDGET
  /usr/bin/python3 bench/sklearn_anchor.py DIR SOLVER BETA time HIT K0 K1

DIR holds spec.txt ("m n r sparse") and little-endian doubles: x.bin
(column-major m x n) or, when sparse, i.bin/j.bin (0-based, as doubles) and
v.bin; w0.bin (column-major m x r) and h0.bin (column-major r x n), the fixed
start betanmf gets too.  SOLVER is cd or mu, BETA 2 (Frobenius) or 1
(Kullback-Leibler; mu only).  tol = 0, no regularisation.
  grid: fits of max_iter 1, 2, 4, ... from sklearn's default start (NNDSVDa)
        until one takes longer than BUDGET seconds or the loss stops moving;
  time: the fit of max_iter HIT from the default start (none when HIT is 0),
        then max_iter K0 and K1 from the fixed start.
Prints CSV: kind,maxit,elapsed,loss (loss, grid only: sklearn's
_beta_divergence of the returned factors, 0.5 ||X - WH||^2 at beta = 2 and
the generalised KL at 1 -- the formula of bench/common.R's loss()).  The first
line is a comment with sklearn's version and BLAS.
"""
import os
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _beta_divergence
from sklearn.exceptions import ConvergenceWarning


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        libs = [f"{d.get('internal_api')}:{d.get('filepath', '')}(threads={d.get('num_threads')})"
                for d in threadpool_info()]
    except Exception:
        libs = []
    return "; ".join(libs) if libs else "unknown (see numpy.show_config())"


def main(d, solver, beta, mode, rest):
    with open(os.path.join(d, "spec.txt")) as f:
        m, n, r, sparse = (int(v) for v in f.readline().split())
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
    beta_loss = "frobenius" if beta == 2 else "kullback-leibler"

    def run(k, custom):
        model = NMF(n_components=r, solver=solver, beta_loss=beta_loss,
                    init="custom" if custom else "nndsvda",
                    tol=0, max_iter=k, alpha_W=0.0, alpha_H="same")
        t0 = time.perf_counter()
        if custom:
            wf = model.fit_transform(x, W=w0.copy(), H=h0.copy())
        else:
            wf = model.fit_transform(x)
        return time.perf_counter() - t0, wf, model.components_

    run(1, False)  # warm-up
    if mode == "grid":
        budget = float(rest[0])
        k, losses = 1, []
        while True:
            e, w, h = run(k, False)
            losses.append(float(_beta_divergence(x, w, h, beta)))
            print(f"grid,{k},{e:.6f},{losses[-1]:.10g}")
            flat = len(losses) >= 3 and abs(losses[-1] / losses[-3] - 1) < 1e-7
            if e > budget or flat or k >= 20480:
                break
            k *= 2
    else:
        hit, k0, k1 = (int(v) for v in rest[:3])
        if hit > 0:
            e, _, _ = run(hit, False)
            print(f"hit,{hit},{e:.6f},NA")
        for k in (k0, k1):
            e, _, _ = run(k, True)
            print(f"iter,{k},{e:.6f},NA")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(float(sys.argv[3])), sys.argv[4], sys.argv[5:])
