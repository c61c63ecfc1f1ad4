"""The mathematics behind the seed claims, as pure typed functions (numpy; sympy/mpmath where exactness matters).

Modules: :mod:`.sign_quant` (1-bit quantization, moment ratio β), :mod:`.rotations` (Haar, FWHT, SRHT, learned ℓ1
rotations), :mod:`.lowrank` (rank-r / top-k residual corrections, γ_r, β_eff, bit costs), :mod:`.attention`
(scores, softmax attention, RoPE, gauge rotations, Leech kernel), :mod:`.lattice` (Zⁿ, Dₙ, E8, E8⊕E8 nearest points,
Gram matrices, kissing numbers, normalized second moment, blends), :mod:`.spectra` (covariance spectra,
participation ratio, PCA activation compressor, attention memory accounting), :mod:`.quantizers` (Lloyd–Max,
TurboQuant-style, QJL baselines), :mod:`.arithmetic` (exact calculator with a safe parser, byte units).

Conventions: docs/CONTRIBUTING.md §4 (sgn(0) = +1, least-squares 1-bit scale, vectors are rows, R acts as k @ R.T).
"""
