"""The exact steady state of collective resonance fluorescence (Puri & Lawande 1979), as a
test oracle independent of symsteady.

For ``H = 2 Ω Sx`` and ``Γ D[S-]`` the steady state is ``ρ ∝ B B†`` with
``B = (1 - a S-)^{-1} = sum_n a^n S-^n``, ``a = iΓ/(2Ω)``. In the Dicke basis |e> (e
excitations, ``S-|e> = s(e)|e-1>``, ``s(e) = sqrt(e (N - e + 1))``) with ``σ_e = prod_{k<=e} s(k)``,
``B_{e1,e} = a^{e-e1} σ_e / σ_{e1}`` (e >= e1), so

    ρ_{e1,e2} = R_{max(e1,e2)} / (a^{e1} conj(a)^{e2} σ_{e1} σ_{e2}),   R_m = sum_{e>=m} |a|^{2e} σ_e²,

a sum of positive terms: O(N) work, no cancellation. Moments and ξ²_R follow in mpmath at
``dps`` digits (the covariance cancels N² against N).
"""

from __future__ import annotations

import mpmath


def puri_lawande_xi2(N: int, Omega, Gamma, dps: int = 40) -> float:
    """ξ²_R = N min_{n ⊥ m} nᵀCn / |m|² of the exact steady state (as a float)."""
    with mpmath.workdps(dps):
        Omega, Gamma = mpmath.mpf(Omega), mpmath.mpf(Gamma)
        a = 1j * Gamma / (2 * Omega)
        a = mpmath.mpc(a)
        a2 = abs(a) ** 2
        # w_e = |a|^{2e} σ_e², R_m its tail sums; ρ_{e,e+d} = (R_{e+d} / w_e) / (conj(a)^d σ_{e+d}/σ_e)
        w = [mpmath.mpf(1)]
        for e in range(1, N + 1):
            w.append(w[-1] * a2 * e * (N - e + 1))
        R = [mpmath.mpf(0)] * (N + 2)
        for e in range(N, -1, -1):
            R[e] = R[e + 1] + w[e]

        def s(e: int):
            return mpmath.sqrt(mpmath.mpf(e) * (N - e + 1))

        def rho(e: int, d: int):
            """ρ_{e, e+d} (unnormalised), d >= 0."""
            if e + d > N:
                return mpmath.mpc(0)
            ratio = mpmath.mpf(1)
            for k in range(e + 1, e + d + 1):
                ratio *= s(k)
            return (R[e + d] / w[e]) / (mpmath.conj(a) ** d * ratio)

        trace = mpmath.re(mpmath.fsum(rho(e, 0) for e in range(N + 1)))
        half = mpmath.mpf(N) / 2
        n_mean = mpmath.re(mpmath.fsum(e * rho(e, 0) for e in range(N + 1))) / trace  # <n̂>, n̂ = Sz + N/2
        n2 = mpmath.re(mpmath.fsum(e * e * rho(e, 0) for e in range(N + 1))) / trace
        # Tr(ρ S+) = sum_e <e|ρ|e+1> <e+1|S+|e>, and likewise for S+², S+ n̂
        sp = mpmath.fsum(rho(e, 1) * s(e + 1) for e in range(N)) / trace
        sp2 = mpmath.fsum(rho(e, 2) * s(e + 1) * s(e + 2) for e in range(N - 1)) / trace
        spn = mpmath.fsum(rho(e, 1) * s(e + 1) * e for e in range(N)) / trace  # Tr(ρ S+ n̂)
        spsm = mpmath.re(mpmath.fsum(rho(e, 0) * e * (N - e + 1) for e in range(N + 1))) / trace  # <S+ S->
        # mean and second moments of (Sx, Sy, n̂); S+ = Sx + i Sy
        mx, my = mpmath.re(sp), mpmath.im(sp)
        smsp = spsm - 2 * (n_mean - half)  # <S- S+> = <S+ S-> - 2<Sz>
        sxx = mpmath.re(sp2 + spsm + smsp + mpmath.conj(sp2)) / 4
        syy = mpmath.re(-(sp2 + mpmath.conj(sp2)) + spsm + smsp) / 4
        sxy = mpmath.im(sp2) / 2
        # {S+, n̂}/2 = S+ n̂ + [n̂, S+]/2 = S+ n̂ + S+/2  (n̂ S+ = S+ (n̂ + 1))
        sym = spn + sp / 2
        sxn, syn = mpmath.re(sym), mpmath.im(sym)
        m = [mx, my, n_mean - half]
        C = [[sxx - mx * mx, sxy - mx * my, sxn - mx * n_mean],
             [sxy - mx * my, syy - my * my, syn - my * n_mean],
             [sxn - mx * n_mean, syn - my * n_mean, n2 - n_mean * n_mean]]
        norm = mpmath.sqrt(sum(x * x for x in m))
        mh = [x / norm for x in m]
        e1 = [1 - mh[0] * mh[0], -mh[0] * mh[1], -mh[0] * mh[2]]
        l1 = mpmath.sqrt(sum(x * x for x in e1))
        e1 = [x / l1 for x in e1]
        e2 = [e1[1] * mh[2] - e1[2] * mh[1], e1[2] * mh[0] - e1[0] * mh[2], e1[0] * mh[1] - e1[1] * mh[0]]

        def form(u, v):
            return sum(u[i] * C[i][j] * v[j] for i in range(3) for j in range(3))

        A, Bq, D = form(e1, e1), form(e1, e2), form(e2, e2)
        lam_min = (A + D) / 2 - mpmath.sqrt(((A - D) / 2) ** 2 + Bq * Bq)
        return float(N * lam_min / norm ** 2)


def puri_lawande_xi2_fast(N: int, Omega: float, Gamma: float) -> float:
    """The same in double precision with logarithms (NumPy, O(N)): good to ~1e-16·N, for
    figures at N up to 10⁵ and more (the covariance cancels N² against N)."""
    import numpy as np

    e = np.arange(N + 1, dtype=float)
    log_a2 = 2 * np.log(Gamma / (2 * Omega))
    log_s2 = np.zeros(N + 1)
    log_s2[1:] = np.log(e[1:] * (N - e[1:] + 1))  # s(e)^2
    log_w = np.zeros(N + 1)  # log w_e = log(|a|^{2e} σ_e²), w_0 = 1
    log_w[1:] = np.cumsum(log_a2 + log_s2[1:])
    log_R = np.logaddexp.accumulate(log_w[::-1])[::-1]
    shift = np.max(log_R - log_w)
    # |a| = Γ/(2Ω); a = i|a|, conj(a) = -i|a|: ρ_{e,e+d} = (R_{e+d}/w_e) / ((-i|a|)^d σ_{e+d}/σ_e)
    diag = np.exp(log_R - log_w - shift)
    s = np.sqrt(np.exp(log_s2))
    s[0] = 0.0
    abs_a = Gamma / (2 * Omega)
    r1 = np.exp(log_R[1:] - log_w[:-1] - shift) / (abs_a * s[1:]) * 1j  # 1/(-i) = i
    r2 = np.exp(log_R[2:] - log_w[:-2] - shift) / (abs_a**2 * s[1:-1] * s[2:]) * -1.0  # 1/(-i)^2 = -1
    trace = diag.sum()
    n_mean = (e * diag).sum() / trace
    n2 = (e * e * diag).sum() / trace
    sp = (r1 * s[1:]).sum() / trace
    sp2 = (r2 * s[1:-1] * s[2:]).sum() / trace
    spn = (r1 * s[1:] * e[:-1]).sum() / trace
    spsm = (diag * e * (N - e + 1)).sum() / trace
    half = N / 2
    smsp = spsm - 2 * (n_mean - half)
    sxx = np.real(sp2 + spsm + smsp + np.conj(sp2)) / 4
    syy = np.real(-(sp2 + np.conj(sp2)) + spsm + smsp) / 4
    sxy = np.imag(sp2) / 2
    sym = spn + sp / 2
    mx, my = sp.real, sp.imag
    m = np.array([mx, my, n_mean - half])
    C = np.array([[sxx - mx * mx, sxy - mx * my, sym.real - mx * n_mean],
                  [sxy - mx * my, syy - my * my, sym.imag - my * n_mean],
                  [sym.real - mx * n_mean, sym.imag - my * n_mean, n2 - n_mean * n_mean]])
    mh = m / np.linalg.norm(m)
    e1 = np.array([1.0, 0, 0]) - mh[0] * mh
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(e1, mh)
    P = np.array([e1, e2])
    lam = np.linalg.eigvalsh(P @ C @ P.T)[0]
    return float(N * lam / (m @ m))
