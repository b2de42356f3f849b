"""The one compiled part: ``codegen._fastcall``, the C dispatcher for small compiled calls.
It is optional: without a C compiler the install succeeds and calls go through ctypes."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("codegen._fastcall", ["codegen/_fastcall.c"], optional=True)])
