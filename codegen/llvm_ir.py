"""LLVM IR written as text while it is built: the part of llvmlite.ir's API the LLVM renderers use
(types, constants, modules, functions, blocks and a builder), each instruction's line made as the
instruction is. llvmlite's builder keeps an object graph (operands, users, parents, name scopes)
and prints it at the end; a renderer needs only the text, and the graph was 40 % of rendering W1
(the issue's example of a cost worth avoiding: tinygrad's LLVM renderer writes text too).

Values are their type and their reference (``%"x"``, ``@"f"``, a literal); a block is a list of
lines, except phis and branches, which are completed after they are made (incoming values, loop
metadata) and print themselves."""

from __future__ import annotations

import contextlib
import re
import struct


class Type:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Type) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def literal(self, value) -> str:
        return "zeroinitializer" if value is None else str(value)


class IntType(Type):
    __slots__ = ("width",)

    def __init__(self, width: int):
        super().__init__(f"i{width}")
        self.width = width

    def literal(self, value) -> str:
        if self.width == 1:
            return "true" if value else "false"
        return str(int(value or 0))


class _FloatingType(Type):
    __slots__ = ()

    def literal(self, value) -> str:
        # LLVM reads both as a double's bits in hexadecimal (a float's value must be one exactly)
        number = 0.0 if value is None else float(value)  # not ``value or 0``: −0.0 is falsy
        return f"0x{struct.unpack('<Q', struct.pack('<d', self._rounded(number)))[0]:016x}"

    @staticmethod
    def _rounded(value: float) -> float:
        return value


class DoubleType(_FloatingType):
    __slots__ = ()

    def __init__(self):
        super().__init__("double")


class FloatType(_FloatingType):
    __slots__ = ()

    def __init__(self):
        super().__init__("float")

    @staticmethod
    def _rounded(value: float) -> float:
        return struct.unpack("<f", struct.pack("<f", value))[0]


class PointerType(Type):
    __slots__ = ()

    def __init__(self):
        super().__init__("ptr")

    def literal(self, value) -> str:
        return "null" if value is None else value.ref


class VoidType(Type):
    __slots__ = ()

    def __init__(self):
        super().__init__("void")


class ArrayType(Type):
    __slots__ = ("element", "count")
    BRACKETS = "[]"

    def __init__(self, element: Type, count: int):
        super().__init__(f"{self.BRACKETS[0]}{count} x {element}{self.BRACKETS[1]}")
        self.element, self.count = element, count

    def literal(self, value) -> str:
        if value is None:
            return "zeroinitializer"
        items = ", ".join(f"{self.element} {self.element.literal(v)}" for v in value)
        return f"{self.BRACKETS[0]}{items}{self.BRACKETS[1]}"


class VectorType(ArrayType):
    __slots__ = ()
    BRACKETS = "<>"

    def literal(self, value) -> str:
        if value is None or isinstance(value, (list, tuple)):
            return super().literal(value)
        return f"splat ({self.element} {self.element.literal(value)})"  # one literal: not every lane's


class FunctionType:
    __slots__ = ("return_type", "args")

    def __init__(self, return_type: Type, args):
        self.return_type, self.args = return_type, tuple(args)


I1, I32, PTR, VOID = IntType(1), IntType(32), PointerType(), VoidType()
Undefined = object()  # ``Constant(type, Undefined)``: LLVM's undef


class Value:
    __slots__ = ("type", "ref")

    def __init__(self, type_: Type, ref: str):
        self.type, self.ref = type_, ref

    def __str__(self) -> str:
        return f"{self.type.text} {self.ref}"

    def get_reference(self) -> str:
        return self.ref


class Constant(Value):
    __slots__ = ("constant",)

    def __init__(self, type_: Type, value):
        super().__init__(type_, "undef" if value is Undefined else type_.literal(value))
        self.constant = value


class Argument(Value):
    __slots__ = ("attributes",)

    def __init__(self, type_: Type, ref: str):
        super().__init__(type_, ref)
        self.attributes: list[str] = []

    def add_attribute(self, attribute: str) -> None:
        self.attributes.append(attribute)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\5C").replace('"', "\\22") + '"'


_IDENTIFIER = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*")


def _local_name(name: str) -> str:
    """A local's name as LLVM reads it: bare where it can be (labels read best so), else quoted."""
    return name if _IDENTIFIER.fullmatch(name) else _quoted(name)


class Function(Value):
    """A function of ``module``: defined once a block is appended, else declared."""

    __slots__ = ("module", "name", "ftype", "args", "attributes", "linkage", "blocks", "names", "unnamed")

    def __init__(self, module: Module, ftype: FunctionType, name: str):
        super().__init__(PTR, "@" + _quoted(name))
        self.module, self.name, self.ftype = module, name, ftype
        self.args = [Argument(t, f"%.{k}") for k, t in enumerate(ftype.args)]
        self.attributes: set[str] = set()
        self.linkage = ""
        self.blocks: list[Block] = []
        self.names = {f".{k}" for k in range(len(self.args))}  # its local names (values and blocks share them)
        self.unnamed = len(self.args)
        module.functions.append(self)
        module.globals[name] = self

    @property
    def function_type(self) -> FunctionType:
        return self.ftype

    def local(self, name: str = "") -> str:
        """A new local name: ``name``, or the next number, suffixed where taken."""
        if not name:
            self.unnamed += 1
            name = f".{self.unnamed}"
        unique, k = name, 0
        while unique in self.names:
            k += 1
            unique = f"{name}.{k}"
        self.names.add(unique)
        return _local_name(unique)

    def append_basic_block(self, name: str = "") -> Block:
        block = Block(self, self.local(name))
        self.blocks.append(block)
        return block

    def __str__(self) -> str:
        ret = self.ftype.return_type
        attributes = "".join(" " + a for a in sorted(self.attributes))
        if not self.blocks:
            return f"declare {ret} {self.ref}({', '.join(str(t) for t in self.ftype.args)}){attributes}\n"
        params = ", ".join(" ".join([str(a.type), *a.attributes, a.ref]) for a in self.args)
        linkage = self.linkage + " " if self.linkage else ""
        return f"define {linkage}{ret} {self.ref}({params}){attributes}\n{{\n" + "".join(map(str, self.blocks)) + "}\n"


class Block:
    __slots__ = ("function", "label", "instructions", "terminator", "callees")

    def __init__(self, function: Function, label: str):
        self.function, self.label = function, label
        self.instructions: list = []  # lines, and the phis and branches that print themselves
        self.terminator = None
        self.callees: list[Function] = []

    @property
    def name(self) -> str:
        return self.label.strip('"')  # a quoted label's escapes are kept: it names blocks derived from it

    def __str__(self) -> str:
        return f"{self.label}:\n" + "".join(f"  {line}\n" for line in self.instructions)


class Phi(Value):
    __slots__ = ("incoming",)

    def __init__(self, type_: Type, ref: str):
        super().__init__(type_, ref)
        self.incoming: list = []

    def add_incoming(self, value: Value, block: Block) -> None:
        self.incoming.append((value, block))

    def __str__(self) -> str:
        pairs = ", ".join(f"[{v.ref}, %{b.label}]" for v, b in self.incoming)
        return f"{self.ref} = phi {self.type} {pairs}"


class Branch:
    __slots__ = ("text", "metadata")

    def __init__(self, text: str):
        self.text, self.metadata = text, ""

    def set_metadata(self, kind: str, node: MetaData) -> None:
        self.metadata = f", !{kind} {node.ref}"

    def __str__(self) -> str:
        return self.text + self.metadata


class MetaDataString:
    __slots__ = ("ref",)

    def __init__(self, module: Module, text: str):
        self.ref = "!" + _quoted(text)


class MetaData:
    """A metadata node ``!n``; its ``operands`` may be changed until the module is printed (a loop's
    node names itself first)."""

    __slots__ = ("ref", "operands")

    def __init__(self, index: int, operands):
        self.ref, self.operands = f"!{index}", tuple(operands)

    def __str__(self) -> str:
        operands = ", ".join(str(o) if isinstance(o, Constant) else o.ref for o in self.operands)
        return f"{self.ref} = !{{ {operands} }}\n"


class GlobalVariable(Value):
    __slots__ = ("name", "value_type", "linkage", "section", "initializer")

    def __init__(self, module: Module, type_: Type, name: str):
        super().__init__(PTR, "@" + _quoted(name))
        self.name, self.value_type, self.linkage, self.section, self.initializer = name, type_, "", "", None
        module.globals[name] = self
        module.variables.append(self)

    def __str__(self) -> str:
        linkage = self.linkage + " " if self.linkage else ""
        section = f', section "{self.section}"' if self.section else ""
        return f"{self.ref} = {linkage}global {self.value_type} {self.initializer.ref}{section}\n"


class Module:
    def __init__(self, name: str = ""):
        self.name = name
        self.functions: list[Function] = []
        self.variables: list[GlobalVariable] = []
        self.globals: dict = {}
        self.metadata: list[MetaData] = []

    def add_metadata(self, operands) -> MetaData:
        node = MetaData(len(self.metadata), operands)
        self.metadata.append(node)
        return node

    def __str__(self) -> str:
        return "".join([f'; ModuleID = {_quoted(self.name)}\ntarget triple = "unknown-unknown-unknown"\n'
                        'target datalayout = ""\n\n', *map(str, self.variables), *(f"{f}\n" for f in self.functions),
                        *map(str, self.metadata)])


_SIGNED = {"<": "slt", "<=": "sle", "==": "eq", "!=": "ne", ">=": "sge", ">": "sgt"}
_UNSIGNED = {"<": "ult", "<=": "ule", "==": "eq", "!=": "ne", ">=": "uge", ">": "ugt"}
_ORDERED = {"<": "olt", "<=": "ole", "==": "oeq", "!=": "one", ">=": "oge", ">": "ogt", "ord": "ord", "uno": "uno"}
_UNORDERED = {"<": "ult", "<=": "ule", "==": "ueq", "!=": "une", ">=": "uge", ">": "ugt", "ord": "ord", "uno": "uno"}


def _truth_type(type_: Type) -> Type:
    """The type of a comparison of values of ``type_``: i1, or a vector of them."""
    return VectorType(I1, type_.count) if isinstance(type_, VectorType) else I1


def _flags(flags) -> str:
    return "".join(" " + f for f in flags)


def _binary(op: str):
    """The builder's method for the binary instruction ``op`` (``flags``: nuw, nsw or fast-math)."""
    def build(self, a: Value, b: Value, name: str = "", flags=()) -> Value:
        return self._result(a.type, name, f"{op}{_flags(flags)} {a.type.text} {a.ref}, {b.ref}")
    return build


def _cast(op: str):
    """The builder's method for the conversion ``op`` of a value to a type."""
    def build(self, value: Value, typ: Type, name: str = "") -> Value:
        return self._result(typ, name, f"{op} {value.type.text} {value.ref} to {typ.text}")
    return build


class IRBuilder:
    """Appends instructions at the end of ``block`` (``position_at_end`` moves it)."""

    def __init__(self, block: Block):
        self.block = block

    def position_at_end(self, block: Block) -> None:
        self.block = block

    def append_basic_block(self, name: str = "") -> Block:
        return self.block.function.append_basic_block(name)

    def _line(self, line) -> None:
        self.block.instructions.append(line)

    def _result(self, type_: Type, name: str, text: str) -> Value:
        value = Value(type_, "%" + self.block.function.local(name))
        self._line(f"{value.ref} = {text}")
        return value

    add, sub, mul, sdiv, udiv, srem, urem = map(_binary, ("add", "sub", "mul", "sdiv", "udiv", "srem", "urem"))
    shl, lshr, ashr, and_, or_, xor = map(_binary, ("shl", "lshr", "ashr", "and", "or", "xor"))
    fadd, fsub, fmul, fdiv, frem = map(_binary, ("fadd", "fsub", "fmul", "fdiv", "frem"))

    def neg(self, a, name=""):
        return self._result(a.type, name, f"sub {a.type.text} {a.type.literal(0)}, {a.ref}")

    def not_(self, a, name=""):
        return self.xor(a, Constant(a.type, -1), name)  # all ones (i1: true), splatted over a vector's lanes

    def fneg(self, a, name="", flags=()):
        return self._result(a.type, name, f"fneg{_flags(flags)} {a.type.text} {a.ref}")

    def icmp_signed(self, op, a, b, name=""):
        return self._result(_truth_type(a.type), name, f"icmp {_SIGNED[op]} {a.type.text} {a.ref}, {b.ref}")

    def icmp_unsigned(self, op, a, b, name=""):
        return self._result(_truth_type(a.type), name, f"icmp {_UNSIGNED[op]} {a.type.text} {a.ref}, {b.ref}")

    def fcmp_ordered(self, op, a, b, name="", flags=()):
        return self._result(_truth_type(a.type), name,
                            f"fcmp{_flags(flags)} {_ORDERED[op]} {a.type.text} {a.ref}, {b.ref}")

    def fcmp_unordered(self, op, a, b, name="", flags=()):
        return self._result(_truth_type(a.type), name,
                            f"fcmp{_flags(flags)} {_UNORDERED[op]} {a.type.text} {a.ref}, {b.ref}")

    def select(self, cond, a, b, name="", flags=()):
        return self._result(a.type, name, f"select{_flags(flags)} {cond.type.text} {cond.ref}, {a.type.text} "
                                          f"{a.ref}, {b.type.text} {b.ref}")

    zext, sext, trunc, fpext, fptrunc, bitcast = map(_cast, ("zext", "sext", "trunc", "fpext", "fptrunc", "bitcast"))
    fptosi, fptoui, sitofp, uitofp, ptrtoint, inttoptr = map(_cast, ("fptosi", "fptoui", "sitofp", "uitofp", "ptrtoint",
                                                                    "inttoptr"))

    def load(self, ptr, name="", align=None, typ=None):
        alignment = f", align {align}" if align else ""
        return self._result(typ, name, f"load {typ.text}, ptr {ptr.ref}{alignment}")

    def store(self, value, ptr, align=None):
        alignment = f", align {align}" if align else ""
        self._line(f"store {value.type.text} {value.ref}, ptr {ptr.ref}{alignment}")

    def gep(self, ptr, indices, inbounds=False, name="", source_etype=None):
        inbounds = " inbounds" if inbounds else ""
        return self._result(PTR, name, f"getelementptr{inbounds} {source_etype.text}, ptr {ptr.ref}, "
                                       + ", ".join(f"{i.type.text} {i.ref}" for i in indices))

    def alloca(self, typ, size=None, name="", align=None):
        size = Constant(I32, size) if isinstance(size, int) else size
        count = f", {size.type.text} {size.ref}" if size is not None else ""
        alignment = f", align {align}" if align else ""
        return self._result(PTR, name, f"alloca {typ.text}{count}{alignment}")

    def insert_element(self, vector, value, index, name=""):
        return self._result(vector.type, name, f"insertelement {vector.type.text} {vector.ref}, {value.type.text} "
                                               f"{value.ref}, {index.type.text} {index.ref}")

    def extract_element(self, vector, index, name=""):
        return self._result(vector.type.element, name, f"extractelement {vector.type.text} {vector.ref}, "
                                                       f"{index.type.text} {index.ref}")

    def shuffle_vector(self, a, b, mask, name=""):
        return self._result(VectorType(a.type.element, mask.type.count), name,
                            f"shufflevector {a.type.text} {a.ref}, {b.type.text} {b.ref}, {mask.type.text} {mask.ref}")

    def call(self, fn: Function, args, name=""):
        self.block.callees.append(fn)
        ret = fn.ftype.return_type
        text = f"call {ret.text} {fn.ref}({', '.join(f'{a.type.text} {a.ref}' for a in args)})"
        if ret.text == "void":
            self._line(text)
            return None
        return self._result(ret, name, text)

    def phi(self, typ, name=""):
        value = Phi(typ, "%" + self.block.function.local(name))
        self._line(value)
        return value

    def _terminate(self, line):
        self._line(line)
        self.block.terminator = line
        return line

    def branch(self, target: Block) -> Branch:
        return self._terminate(Branch(f"br label %{target.label}"))

    def cbranch(self, cond, then: Block, otherwise: Block) -> Branch:
        return self._terminate(Branch(f"br {cond.type.text} {cond.ref}, label %{then.label}, label %{otherwise.label}"))

    def ret_void(self):
        return self._terminate("ret void")

    def ret(self, value):
        return self._terminate(f"ret {value.type.text} {value.ref}")

    @contextlib.contextmanager
    def _branch_helper(self, enter: Block, exit_: Block):
        self.position_at_end(enter)
        yield exit_
        if self.block.terminator is None:
            self.branch(exit_)

    @contextlib.contextmanager
    def if_then(self, cond, likely: bool | None = None):
        """Blocks for ``cond`` true (where the builder is inside the ``with``) and after (after it);
        ``likely`` tells LLVM which way the branch mostly goes."""
        here = self.block
        then = here.function.append_basic_block(here.name + ".if")
        after = here.function.append_basic_block(here.name + ".endif")
        branch = self.cbranch(cond, then, after)
        if likely is not None:
            module = here.function.module
            weights = [MetaDataString(module, "branch_weights"), *(Constant(I32, w) for w in ((99, 1) if likely
                                                                                             else (1, 99)))]
            branch.set_metadata("prof", module.add_metadata(weights))
        with self._branch_helper(then, after):
            yield after
        self.position_at_end(after)

    @contextlib.contextmanager
    def if_else(self, cond):
        """(then, otherwise): context managers for the blocks of ``cond`` true and false; after the
        ``with``, the builder is at the block where they meet."""
        here = self.block
        then = here.function.append_basic_block(here.name + ".if")
        otherwise = here.function.append_basic_block(here.name + ".else")
        after = here.function.append_basic_block(here.name + ".endif")
        self.cbranch(cond, then, otherwise)
        yield self._branch_helper(then, after), self._branch_helper(otherwise, after)
        self.position_at_end(after)
