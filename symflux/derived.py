"""Derivatives kept on disk by the structure of what they differentiate.

Derivatives of fused bodies were most of a Hessian's compile (W1), and a new process took them
again. ``kept(kind, parts, derive)`` returns ``derive()``'s expression, stored in the compile cache
(``codegen.cache``, private to the user) under the structure of ``parts`` (``structure``) and a
hash of the rules that produce it (these modules' source, SymPy's and SymEngine's versions), so an
edit to the rules never reads a stale entry. Only derivations of ``costly`` bodies are worth the
lookup: what SymEngine differentiates (``elementary``) it takes faster than the disk gives it back
(W1's partials: 0.3 ms each against 10 ms to read and rebuild, measured).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from collections.abc import Callable

import symengine
import sympy

from codegen.cache import DiskCache
from codegen.kernel import dag_size, unfolded_conditions

from . import elementary

_SOURCES = ("functions.py", "elementary.py", "taylor.py", "vjp.py", "derived.py")
# operations from which a body's derivatives are kept: a layer's tanh(x + b) is quicker to
# differentiate than to look up, W1's fused function (30 operations) is not
COSTLY = 16


def costly(body: sympy.Expr) -> bool:
    """Whether SymPy takes ``body``'s derivatives, and it is big enough for that to be slow."""
    return dag_size(body, COSTLY) >= COSTLY and not elementary.is_elementary(body)


@functools.lru_cache(maxsize=1)
def _rules() -> str:
    here = os.path.dirname(__file__)
    sources = b"".join(open(os.path.join(here, name), "rb").read() for name in _SOURCES)
    return hashlib.sha256(sources + sympy.__version__.encode() + symengine.__version__.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _cache() -> DiskCache:
    return DiskCache()


def structure(expr: sympy.Basic) -> str:
    """A digest of ``expr``'s structure, the same in every process: each distinct node hashed once
    from its class and its arguments' digests, leaves by their ``srepr``. Linear in the DAG, where
    ``srepr`` prints the tree (a third of a warm Hessian compile's lookups, and exponential in the
    depth of a high derivative's shared steps)."""
    digests: dict = {}
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in digests:
            stack.pop()
            continue
        pending = [a for a in e.args if a not in digests]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        text = f"{type(e).__name__}({','.join(digests[a] for a in e.args)})" if e.args else sympy.srepr(e)
        digests[e] = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return digests[expr]


def kept(kind: str, parts: tuple, derive: Callable[[], sympy.Expr]) -> sympy.Expr:
    """``derive()``, from the disk when the same ``kind`` of derivation of ``parts`` was stored."""
    key = DiskCache.key(kind, _rules(), *map(structure, parts))
    stored = _cache().get(key)
    if stored is not None:
        with sympy.evaluate(False):  # rebuilt as stored: evaluating would redistribute 2·(a + b)
            return pickle.loads(stored)
    result = derive()
    if not unfolded_conditions(result):  # unpickling would fold them (and may fail on the way)
        _cache().put(key, pickle.dumps(result))
    return result
