"""symsteady: closed-form perturbative steady states and spin squeezing of emitter ensembles.

Conventions: ``S_a = (1/2) sum_i sigma^a_i``, ``Sp = Sx + i Sy = sum_i sigma^+_i``; Lindblad
``drho/dt = -i[H, rho] + sum_k r_k D[L_k] rho`` with ``D[L]rho = L rho L^dag - {L^dag L, rho}/2``.
"""

from .derivation import Derivation, derive
from .diagnostics import mean_field
from .errors import (
    CodegenError,
    DarkStateError,
    ExactSolverError,
    ExactSolverWarning,
    MalformedExpressionError,
    MeanFieldError,
    MethodError,
    MissingDependencyError,
    ModelError,
    NonUniqueSteadyStateError,
    NotHermitianError,
    ParameterError,
    RateError,
    SingularPointError,
    SymmetryError,
    SymsteadyError,
    ToolError,
    UnknownOperatorError,
)
from .evaluation import evaluate, point_quadratics, point_series
from .exact import exact_moments, exact_observables_at, exact_solve, exact_steady_state
from .model import N, Model
from .models import BUILTIN, builtin, load
from .spinpoly import Sm, Sp, Sx, Sy, Sz

__all__ = [
    "BUILTIN", "Derivation", "Model", "N", "Sm", "Sp", "Sx", "Sy", "Sz", "builtin", "derive",
    "evaluate", "exact_moments", "exact_steady_state", "load", "mean_field", "point_quadratics", "point_series",
    "DarkStateError", "MalformedExpressionError", "MeanFieldError", "MethodError", "MissingDependencyError",
    "ModelError",
    "NonUniqueSteadyStateError", "NotHermitianError", "ParameterError", "RateError",
    "SingularPointError", "SymmetryError", "SymsteadyError", "UnknownOperatorError",
    "CodegenError", "ToolError",
    "exact_observables_at", "exact_solve", "ExactSolverError", "ExactSolverWarning",
]
__version__ = "0.1.0"
