"""symsteady: closed-form perturbative steady states and spin squeezing of emitter ensembles.

Conventions: ``S_a = (1/2) sum_i sigma^a_i``, ``Sp = Sx + i Sy = sum_i sigma^+_i``; Lindblad
``drho/dt = -i[H, rho] + sum_k r_k D[L_k] rho`` with ``D[L]rho = L rho L^dag - {L^dag L, rho}/2``
(``docs/algorithm/conventions.md``).

The public names are below; ``symsteady.sweep``, ``symsteady.codegen``, ``symsteady.plotting``
and ``symsteady.errors`` are the documented modules for sweeps, generated code and LaTeX,
figures and errors.
"""

from .derivation import Derivation, derive
from .evaluation import evaluate
from .exact import ExactSolution, exact_solve
from .meanfield import mean_field
from .model import Model
from .models import builtin, load
from .version import __version__

__all__ = ["Derivation", "ExactSolution", "Model", "__version__", "builtin", "derive", "evaluate",
           "exact_solve", "load", "mean_field"]
