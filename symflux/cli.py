"""The ``symflux`` command: closed-form derivatives, their generated code, and a REPL.

    symflux diff "sin(x)*exp(x)" --wrt x --order 2        # the closed form
    symflux diff "x**2*y" --wrt x y --latex               # one line per variable, as LaTeX
    symflux diff "tanh(x)" --wrt x --llvm | --c | --cuda  # the compiled derivative's code
    symflux repl                                          # IPython (or the standard REPL), ready to use
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

import symflux as sf

TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)


class CommandError(Exception):
    """A user mistake, reported as one line."""


def parse(text: str, names) -> sympy.Expr:
    local = {n: sympy.Symbol(n) for n in names}
    local.update({"σ": sf.functions.sigmoid, "sigmoid": sf.functions.sigmoid, "softplus": sf.functions.softplus})
    try:
        expr = parse_expr(text, local_dict=local, transformations=TRANSFORMS)
    except TokenError:
        raise CommandError(f"cannot parse {text!r}: it ends too early (unbalanced parentheses?)") from None
    except (SyntaxError, TypeError, ValueError, sympy.SympifyError) as e:
        raise CommandError(f"cannot parse {text!r}: {getattr(e, 'msg', None) or e}") from None
    if not isinstance(expr, sympy.Expr):
        raise CommandError(f"{text!r} is not an expression")
    return expr


def derivative_function(expr, symbols, wrt, order):
    """A traceable function of the symbols: the order-th derivative of expr with respect to wrt."""
    namespace = {name: getattr(sf, name) for name in sf.numpy_api.ELEMENTWISE if hasattr(sf, name)}
    namespace.update({"sigmoid": sf.sigmoid, "softplus": sf.softplus})
    f = sympy.lambdify(symbols, expr, modules=[namespace, "math"])
    k = symbols.index(wrt)
    for _ in range(order):
        # the gradient of the sum: elementwise derivatives, for scalars and arrays alike
        f = (lambda g: (lambda *v: sf.gradient(lambda a: sf.sum(g(*v[:k], a, *v[k + 1:])), v[k])[0]))(f)
    return f


def diff(args) -> str:
    names = args.wrt
    expr = parse(args.expression, names)
    free = sorted(expr.free_symbols, key=str)
    unknown = [str(s) for s in free if str(s) not in names]
    symbols = [sympy.Symbol(n) for n in names] + [sympy.Symbol(n) for n in unknown]
    lines = []
    for name in names:
        f = derivative_function(expr, symbols, sympy.Symbol(name), args.order)
        if args.llvm or args.c or args.cuda:
            lines.append(_code(f, symbols, args))
            continue
        value = f(*symbols)
        value = value if value is not None else sympy.Integer(0)
        text = sf.latex(value) if args.latex else str(value)
        prefix = f"d^{args.order}/d{name}^{args.order}" if args.order > 1 else f"d/d{name}"
        lines.append(text if len(names) == 1 else f"{prefix}: {text}")
    return "\n".join(lines)


def _code(f, symbols, args) -> str:
    example = [np.zeros(args.size) for _ in symbols]
    if args.cuda:
        return sf.compile(f, backend="cuda").lower(*example).source()
    if args.c:
        export = sf.export_c(f, *example, name="derivative")
        return export.h + "\n" + export.c
    return sf.compile(f).lower(*example).source()


def repl(args) -> int:
    """An interactive session with symflux imported, symbols ready and pretty printing on."""
    namespace = {"sf": sf, "np": np, "sympy": sympy, "gradient": sf.gradient, "params": sf.params, "grad": sf.grad}
    namespace.update(zip(("x", "y", "z", "t"), sympy.symbols("x y z t")))
    banner = ("symflux REPL — sf, np, sympy, gradient, grad, params and the symbols x, y, z, t are ready.\n"
              "Try: gradient(lambda v: sf.sin(v)**2, x)")
    sympy.init_printing(use_unicode=True)
    if not args.plain:
        try:
            from IPython import start_ipython
            return start_ipython(argv=["--no-banner"], user_ns=namespace, display_banner=False) or 0
        except ImportError:
            pass
    import code
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symflux", description="Exact derivatives and compiled code.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="print the closed-form derivative of an expression")
    d.add_argument("expression", help='e.g. "sin(x)*exp(x)" (^ and implicit products allowed)')
    d.add_argument("--wrt", nargs="+", default=["x"], metavar="VAR", help="variable(s) to differentiate by")
    d.add_argument("--order", type=int, default=1, help="derivative order (default 1)")
    form = d.add_mutually_exclusive_group()
    form.add_argument("--latex", action="store_true", help="print LaTeX")
    form.add_argument("--c", action="store_true", help="print the derivative as C (with its header)")
    form.add_argument("--llvm", action="store_true", help="print the derivative as LLVM IR")
    form.add_argument("--cuda", action="store_true", help="print the derivative as CUDA C")
    d.add_argument("--size", type=int, default=1024, help="array length the generated code is for")
    r = sub.add_parser("repl", help="start an interactive session")
    r.add_argument("--plain", action="store_true", help="the standard Python REPL even if IPython is installed")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "repl":
            return repl(args)
        if args.order < 1:
            raise CommandError(f"--order must be at least 1, got {args.order}")
        print(diff(args))
        return 0
    except CommandError as e:
        print(f"symflux: error: {e}", file=sys.stderr)
        return 2
    except (TypeError, ValueError, ZeroDivisionError, sf.TracingError) as e:
        print(f"symflux: error: {e}".splitlines()[0], file=sys.stderr)
        return 2


try:
    from sympy.parsing.sympy_tokenize import TokenError
except ImportError:  # SymPy ≥ 1.13 uses the standard tokenizer
    from tokenize import TokenError
