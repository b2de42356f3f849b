"""The ``symflux`` command: closed-form derivatives, their generated code, and a REPL.

    symflux diff "sin(x)*exp(x)" --wrt x --order 2        # the closed form
    symflux diff "x**2*y" --wrt x y --latex               # one line per variable, as LaTeX
    symflux diff "x**2*y" x y                             # the same: the variables after the expression
    symflux diff "tanh(x)" --wrt x --llvm | --c | --cuda  # the compiled derivative's code
    symflux repl                                          # IPython (or the standard REPL), ready to use
"""

from __future__ import annotations

import argparse
import ast
import operator
import re
import sys

import numpy as np
import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    function_exponentiation,
    implicit_application,
    implicit_multiplication,
    standard_transformations,
    stringify_expr,
)

import symflux as sf
from symflux.numpy.elementwise import ELEMENTWISE, apply_elementwise

# implicit products and ^, but no splitting of unknown names into letters (foo(x) is not f*o**2*x)
TRANSFORMS = standard_transformations + (implicit_multiplication, implicit_application, function_exponentiation,
                                         convert_xor)
MAX_LENGTH, MAX_NESTING, MAX_DIGITS = 2000, 64, 400
MAX_ORDER, MAX_SIZE = 64, 1 << 26

# The functions an expression may call: SymPy's elementary and special functions and symflux's
# activations. Nothing else is reachable: the text is tokenised, never evaluated as Python.
FUNCTIONS = {name: getattr(sympy, name) for name in (
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "log", "sqrt", "cbrt", "Abs", "sign", "floor", "ceiling",
    "erf", "erfc", "erfinv", "gamma", "loggamma", "digamma", "polygamma")}
FUNCTIONS.update({"abs": sympy.Abs, "ln": sympy.log, "arcsin": sympy.asin, "arccos": sympy.acos,
                  "arctan": sympy.atan, "σ": sf.functions.sigmoid, "max": sympy.Max, "min": sympy.Min,
                  "Max": sympy.Max, "Min": sympy.Min, "gammaln": sympy.loggamma, "psi": sympy.digamma})
FUNCTIONS.update({name: ELEMENTWISE[name] for name in (
    "sigmoid", "softplus", "logsigmoid", "gelu", "swish", "logcosh", "relu", "leakyrelu", "elu", "selu",
    "softsign", "hardtanh", "relu6", "celu", "trelu", "hardsigmoid", "lisht", "mish", "tanhshrink", "softshrink",
    "hypot", "logaddexp", "sinc")})
CONSTANTS = {"pi": sympy.pi, "E": sympy.E, "oo": sympy.oo}
# what SymPy's tokeniser writes for literals and unknown names
LITERALS = {"Symbol": sympy.Symbol, "Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.Pow: operator.pow}


class CommandError(Exception):
    """A user mistake, reported as one line."""


class _Disallowed(Exception):
    """Python syntax an expression may not hold (a lambda, an attribute, a subscript…)."""


def parse(text: str, names) -> sympy.Expr:
    """``text`` as a SymPy expression over the symbols ``names`` (and any other names it uses).

    SymPy's tokeniser adds implicit products and ``^``; the resulting code is then read as a syntax
    tree that admits only numbers, names, arithmetic and calls of ``FUNCTIONS``."""
    if len(text) > MAX_LENGTH:
        raise CommandError(f"the expression is longer than {MAX_LENGTH} characters")
    if _nesting(text) > MAX_NESTING:
        raise CommandError(f"the expression nests parentheses deeper than {MAX_NESTING} levels")
    for name in re.findall(r"([^\W\d]\w*)\s*\(", text):
        if name not in FUNCTIONS and name not in names and name not in CONSTANTS:  # x(x + 1) is a product
            raise CommandError(f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}")
    local = {n: sympy.Symbol(n) for n in names}
    try:
        code = stringify_expr(text, local, {**LITERALS, **FUNCTIONS, **CONSTANTS, "Function": sympy.Function},
                              TRANSFORMS)
        tree = ast.parse(code.strip(), mode="eval")
    except (TokenError, SyntaxError, IndentationError):
        raise CommandError(f"cannot parse {text!r}: not an arithmetic expression "
                           "(unbalanced parentheses?)") from None
    try:
        expr = _build(tree.body, local)
    except _Disallowed:
        raise CommandError(f"only numbers, names, + - * / ^ and known functions are allowed, not {text!r}") from None
    except (TypeError, ValueError, ZeroDivisionError, sympy.SympifyError) as e:
        raise CommandError(f"cannot parse {text!r}: {e}") from None
    if not isinstance(expr, sympy.Expr):
        raise CommandError(f"{text!r} is not an expression")
    return expr


def _nesting(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        deepest = max(deepest, depth)
    return deepest


def _build(node, local):
    """The SymPy value of one node of the tokenised expression's syntax tree (whitelisted only)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sympy.sympify(node.value)
    if isinstance(node, ast.Name):
        if node.id in local:
            return local[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CommandError(f"{node.id!r} is a function, not a value" if node.id in FUNCTIONS
                           else f"unknown name {node.id!r}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _build(node.operand, local)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        left, right = _build(node.left, local), _build(node.right, local)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and _is_call_of(node, "Function"):  # how the tokeniser writes unknown functions
        raise CommandError(f"unknown function {node.args[0].value!r}; known: {', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = node.func.id
        if name in LITERALS:
            return _literal(name, node.args)
        if name in FUNCTIONS:
            return FUNCTIONS[name](*[_build(a, local) for a in node.args])
        raise CommandError(f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}")
    raise _Disallowed


def _is_call_of(node, name) -> bool:
    return (isinstance(node.func, ast.Name) and node.func.id == name and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant))


def _literal(name, args):
    if len(args) != 1 or not isinstance(args[0], ast.Constant) or isinstance(args[0].value, bool):
        raise CommandError(f"only numbers, names, + - * / ^ and known functions are allowed, not {name}(…)")
    value = args[0].value
    if name == "Symbol":
        if not str(value).isidentifier():
            raise CommandError(f"bad name {value!r}")
        return sympy.Symbol(value)
    if len(str(value)) > MAX_DIGITS:
        raise CommandError(f"a number has more than {MAX_DIGITS} digits")
    return LITERALS[name](value)


def _check_power(base, exponent):
    """Refuse exact powers whose value would have more than ``MAX_DIGITS`` digits (``10**10**10``)."""
    if base.is_Number and exponent.is_Number and base.is_Rational and exponent.is_Integer:
        digits = max(len(str(abs(base.p))), len(str(base.q)))
        if digits > 1 and abs(int(exponent)) * (digits - 1) > MAX_DIGITS:
            raise CommandError(f"{base}**{exponent} is too large to compute exactly")


def derivative_function(expr, symbols, wrt, order):
    """A traceable function of the symbols: the order-th derivative of expr with respect to wrt."""
    body = expr.xreplace(dict(zip(symbols, sf.ir.ARG)))
    f = lambda *values: apply_elementwise(lambda *args: body.xreplace(dict(zip(sf.ir.ARG, args))),
                                                       *values)
    k = symbols.index(wrt)
    for _ in range(order):
        # the gradient of the sum: elementwise derivatives, for scalars and arrays alike
        f = (lambda g: (lambda *v: sf.gradient(lambda a: sf.sum(g(*v[:k], a, *v[k + 1:])), v[k])[0]))(f)
    return f


def _variables(args) -> list:
    """The variables named (after the expression or with --wrt), else the expression's one free symbol
    (an expression without any: x)."""
    if args.wrt or args.variables:
        named = (args.wrt or []) + args.variables
        bad = [v for v in named if not v.isidentifier() or v in FUNCTIONS or v in CONSTANTS]
        if bad:
            raise CommandError(f"{bad[0]!r} is not a variable name")
        return named
    # names used as values somewhere (not only as calls: foo(x) is an unknown function, x(x+1) a product)
    words = [w for w in re.findall(r"([^\W\d]\w*)(?!\w|\s*\()", args.expression)
             if w not in FUNCTIONS and w not in CONSTANTS]
    free = sorted(str(s) for s in parse(args.expression, list(dict.fromkeys(words))).free_symbols)
    if len(free) > 1:
        raise CommandError(f"the expression has several variables ({', '.join(free)}): say which with --wrt")
    return free or ["x"]


def diff(args) -> str:
    names = _variables(args)
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
    if not args.plain:
        try:
            from IPython import start_ipython
            from traitlets.config import Config
        except ImportError:
            pass
        else:  # IPython's own pretty printing is switched on inside its shell, where it applies
            config = Config()
            config.TerminalInteractiveShell.banner2 = banner + "\n"
            config.InteractiveShellApp.exec_lines = ["sympy.init_printing(use_unicode=True)"]
            return start_ipython(argv=[], user_ns=namespace, config=config) or 0
    sympy.init_printing(use_unicode=True)
    import code
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symflux", description="Exact derivatives and compiled code.")
    parser.add_argument("--version", action="version", version=f"symflux {sf.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="print the closed-form derivative of an expression")
    d.add_argument("expression", help='e.g. "sin(x)*exp(x)" (^ and implicit products allowed)')
    d.add_argument("variables", nargs="*", metavar="VAR", help="variable(s) to differentiate by (as --wrt)")
    d.add_argument("--wrt", nargs="+", metavar="VAR",
                   help="variable(s) to differentiate by (default: the expression's only variable)")
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
        if not 1 <= args.order <= MAX_ORDER:
            raise CommandError(f"--order must be between 1 and {MAX_ORDER}, got {args.order}")
        if not 1 <= args.size <= MAX_SIZE:
            raise CommandError(f"--size must be between 1 and {MAX_SIZE}, got {args.size}")
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
