"""The engine behind the exercise checkers: look for an input where a property of the reader's
function fails, shrink it to the smallest such input, and report what went wrong.

A *property* is a claim that holds for every input when the reader's function is right (for
BatchNorm: Σ dx = 0 over the batch). A check runs in two passes with `hypothesis.find`:
1. explore: draw `max_examples` cases and test every property on each;
2. shrink: for each property that failed, search again and let hypothesis shrink the failing
   case (fewer rows, fewer columns, smaller numbers) while it still fails. A 2 × 1 batch of
   small integers is a case a reader can redo by hand. Shrinking is the slow part, so cheap
   properties shrink first and a later property reuses their small case if it fails there too.
Each property carries a hint that names the part of the derivation its failure points to.

The reader's code is called through `call_safely`, so an exception, a wrong shape or a NaN
becomes a `Finding` in the report, never a traceback out of the checker.
"""
import random
import re
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Callable

import hypothesis
import numpy as np
from hypothesis.errors import NoSuchExample


@dataclass
class Finding:
    """What a failing property saw on one case: the worst element, expected vs got, a hint."""
    message: str
    hint: str
    not_written: bool = False  # the function raised NotImplementedError: a stub


class Broken(Exception):
    """The reader's function raised, returned the wrong shapes, or returned NaN/inf; `kind`
    is the name of the property that owns the problem ("runs", "shapes" or "finite")."""

    def __init__(self, kind, finding):
        super().__init__(finding.message)
        self.kind, self.finding = kind, finding


@dataclass
class Property:
    """One claim about the reader's function, and its check.

    Every property of a checker is searched over the same drawn cases; `adapt` turns a drawn
    case into the one this property checks (e.g. the same case with ε = 0). `check(case)`
    returns None when the claim holds, else a Finding. A `gate` property (runs, shapes,
    finite) must hold before the others are worth searching.
    """
    name: str
    claim: str
    check: Callable
    adapt: Callable = staticmethod(lambda case: case)
    gate: bool = False
    only_if: tuple = ()  # names of properties that must hold for this one to be searched
    costly: bool = False  # slow to evaluate (finite differences): shrink it last

    def failure(self, case):
        """The Finding on the drawn `case`, or None; a broken function becomes a Finding."""
        try:
            return self.check(self.adapt(case))
        except Broken as broken:
            if self.gate and broken.kind != self.name:
                return None  # another gate's problem, searched for separately
            return broken.finding


def gate(name, claim, call):
    """A property that holds when `call(case)` completes without a Broken of its own kind."""
    def check(case):
        call(case)
    return Property(name, claim, check, gate=True)


@dataclass
class Outcome:
    prop: Property
    status: str  # "ok", "FAIL" or "not checked"
    case: object = None  # the smallest failing case, as the property checked it
    finding: Finding = None
    drawn: object = None  # the same case as drawn, before the property's `adapt`


@dataclass
class CheckResult:
    """What a check found. `passed` is True when every property holds; `failed` lists the
    names of those that do not; `not_written` is True for a stub (NotImplementedError)."""
    title: str
    outcomes: list
    describe: Callable = field(repr=False)
    settings_line: str = ""

    @property
    def failed(self):
        return [o.prop.name for o in self.outcomes if o.status == "FAIL"]

    @property
    def passed(self):
        return not self.failed

    @property
    def not_written(self):
        return any(o.finding is not None and o.finding.not_written for o in self.outcomes)

    def __repr__(self):
        if self.not_written:
            return f"CheckResult({self.title}: not written yet)"
        return f"CheckResult(passed={self.passed}, failed={self.failed})"

    def report(self):
        """The text the checker prints: one line per property, then each failure in detail."""
        if self.not_written:
            return (f"{self.title}: not written yet (it raises NotImplementedError).\n"
                    f"Fill in the stub, then run the check again.")
        width = max(len(o.prop.name) for o in self.outcomes)
        lines = [f"Checking {self.title}: {len(self.outcomes)} properties, {self.settings_line}"]
        lines += [f"  {o.status:<11} {o.prop.name:<{width}}  {o.prop.claim}" for o in self.outcomes]
        if self.passed:
            lines.append(f"All {len(self.outcomes)} properties hold.")
            return "\n".join(lines)
        lines.append(f"{len(self.failed)} of {len(self.outcomes)} properties fail: "
                     f"{', '.join(self.failed)}.")
        for o in self.outcomes:
            if o.status == "FAIL":
                lines += ["", f"FAIL {o.prop.name}: {o.prop.claim}"]
                if o.case is not None:
                    lines += ["  smallest failing case: " + self.describe(o.case)[0]]
                    lines += ["    " + line for line in self.describe(o.case)[1:]]
                lines += [f"  {o.finding.message}", f"  hint: {o.finding.hint}"]
        if any(o.status == "not checked" for o in self.outcomes):
            lines += ["", "(not checked: what only means something once the failures above "
                          "are fixed)"]
        return "\n".join(lines)


class _StubFound(BaseException):
    """Stops the exploration: the function is a stub, nothing else is worth checking. (A
    BaseException, so hypothesis lets it through instead of shrinking it as a failure.)"""


def explore(cases, properties, settings, seed):
    """Draw up to max_examples cases once and check every property on each; return
    {name: first failing case} (gates first: a case that breaks a gate checks nothing else)."""
    first_failures = {}
    gates = [p for p in properties if p.gate]
    others = [p for p in properties if not p.gate]

    def record(case):
        for group in (gates, others):
            for prop in group:
                if prop.name not in first_failures:
                    finding = prop.failure(case)
                    if finding is not None:
                        first_failures[prop.name] = case
                        if finding.not_written:
                            raise _StubFound
            if any(p.name in first_failures for p in gates):
                break  # a broken function: its other properties mean nothing yet
        return False

    try:
        hypothesis.find(cases, record, settings=settings, random=random.Random(seed))
    except (NoSuchExample, _StubFound):
        pass
    return first_failures


def shrink(prop, cases, first_case, settings, seed):
    """The smallest case on which `prop` fails, starting a new search from scratch (with the
    same seed, it meets the failure again); the first failing case if that search misses it."""
    def fails(case):
        return prop.failure(case) is not None

    try:
        case = hypothesis.find(cases, fails, settings=settings, random=random.Random(seed))
    except NoSuchExample:
        case = first_case
    except Exception as error:  # e.g. Flaky: the function's answer changed between two calls
        return Outcome(prop, "FAIL", finding=Finding(
            f"the search stopped: {type(error).__name__}: {str(error).splitlines()[0]}",
            "the check needs a pure function: the same inputs must give the same outputs "
            "(no randomness, no state kept between calls)"))
    finding = prop.failure(case)
    if finding is None:
        return Outcome(prop, "FAIL", prop.adapt(case), Finding(
            "this case failed once and passed when run again",
            "the check needs a pure function (no randomness, no state kept between calls)"),
            drawn=case)
    return Outcome(prop, "FAIL", prop.adapt(case), finding, drawn=case)


def smallest_failure(prop, smallest, cases, first_case, settings, seed):
    """The Outcome of a failing property with a small case: one already shrunk for an earlier
    property if it fails there too (shrinking is the slow part of a check), else a new one."""
    for case in smallest:
        finding = prop.failure(case)
        if finding is not None:
            return Outcome(prop, "FAIL", prop.adapt(case), finding, drawn=case)
    more = hypothesis.settings(settings, max_examples=max(10 * settings.max_examples, 1000))
    outcome = shrink(prop, cases, first_case, more, seed)
    if outcome.drawn is not None:
        smallest.append(outcome.drawn)
    return outcome


def outcome_of(prop, properties, broken_gate, first_failures, smallest, cases, settings, seed):
    """ok, FAIL (with its smallest case) or not checked (after a broken gate, or when a
    property it needs fails)."""
    if broken_gate is not None and prop is not broken_gate:
        before = properties.index(prop) < properties.index(broken_gate)
        return Outcome(prop, "ok" if before else "not checked")
    if any(name in first_failures for name in prop.only_if):
        return Outcome(prop, "not checked")
    if prop.name not in first_failures:
        return Outcome(prop, "ok")
    finding = prop.failure(first_failures[prop.name])
    if finding is not None and finding.not_written:  # a stub: nothing to shrink
        return Outcome(prop, "FAIL", None, finding)
    return smallest_failure(prop, smallest, cases, first_failures[prop.name], settings, seed)


def stopped(title, properties, describe, error, verbose):
    """The result when no case could be drawn: the check's own inputs are at fault."""
    finding = Finding(f"the check stopped: {type(error).__name__}: {error}",
                      "the `inputs` strategy or the reference fails on the inputs it draws")
    outcomes = [Outcome(properties[0], "FAIL", None, finding)]
    outcomes += [Outcome(p, "not checked") for p in properties[1:]]
    result = CheckResult(title, outcomes, describe, "no case drawn")
    if verbose:
        print(result.report())
    return result


def run_checks(title, cases, properties, describe, max_examples, seed, verbose):
    """Explore all properties on `max_examples` drawn cases, shrink each failure to its
    smallest case (after a failing gate, only that gate), print the report, return it."""
    settings = hypothesis.settings(max_examples=max_examples, database=None, deadline=None,
                                   derandomize=False, print_blob=False,
                                   phases=(hypothesis.Phase.generate, hypothesis.Phase.shrink))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's overflows show up as `finite` failures
        try:
            first_failures = explore(cases, properties, settings, seed)
        except Exception as error:  # the inputs strategy or the reference itself fails
            return stopped(title, properties, describe, error, verbose)
        broken_gate = next((p for p in properties if p.gate and p.name in first_failures), None)
        outcomes, smallest = {}, []
        for prop in sorted(properties, key=lambda p: p.costly):  # reuse cheap shrinks
            outcomes[prop.name] = outcome_of(prop, properties, broken_gate, first_failures,
                                             smallest, cases, settings, seed)
        outcomes = [outcomes[p.name] for p in properties]
    result = CheckResult(title, outcomes, describe,
                         f"{max_examples} random cases (seed {seed})")
    if verbose:
        print(result.report())
    return result


# --------------------------------------------------------------------------- calling the reader


def call_safely(function, *args, name=None):
    """function(*args) on copies of the arrays; an exception becomes Broken("runs", ...)."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        return function(*copies)
    except NotImplementedError:
        raise Broken("runs", Finding(f"{name or name_of(function)} raises NotImplementedError",
                                     "fill in the stub", not_written=True)) from None
    except Exception as error:
        raise Broken("runs", Finding(f"raised {type(error).__name__}: {error} "
                                     f"({where_raised(error)})",
                                     "fix the error first; the case above reproduces it")) from None


def where_raised(error):
    """'file.py, line 12: the line' for the innermost frame of the traceback."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}, line {frame.lineno}: {frame.line}"


def name_of(function):
    return getattr(function, "__qualname__", None) or repr(function)


def as_float_array(value, what):
    """`value` as a float64 ndarray; Broken("shapes") when it is None or not numeric."""
    if value is None:
        raise Broken("shapes", Finding(f"{what} is None",
                                       "return every gradient (a missing `return`?)"))
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise Broken("shapes", Finding(f"{what} is not a numeric array ({error})",
                                       "return NumPy arrays")) from None


def expect_shape(array, shape, what, hint):
    if array.shape != tuple(shape):
        raise Broken("shapes", Finding(f"{what} has shape {array.shape}, expected {tuple(shape)}",
                                       hint))


def expect_finite(array, what, hint):
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{what}[{', '.join(map(str, index))}]" if index else what
        raise Broken("finite", Finding(f"{where} is {array[index]}", hint))


# --------------------------------------------------------------------------- comparing


def worst_mismatch(name, expected, got, tolerance):
    """'name[i, j]: expected a, got b' for the element furthest outside `tolerance`, or None.
    A name with '{}' (as in 'Σ_n dx[n, {}]') gets the index there."""
    expected, got = np.broadcast_arrays(np.asarray(expected, float), np.asarray(got, float))
    excess = np.abs(got - expected) - tolerance
    if excess.size == 0 or excess.max() <= 0:
        return None
    index = np.unravel_index(np.argmax(excess), excess.shape)
    position = ", ".join(map(str, index))
    where = name.format(position) if "{" in name else f"{name}[{position}]" if index else name
    return f"worst element {where}: expected {expected[index]:.6g}, got {got[index]:.6g}"


def proportional(got, expected, factor, rtol=1e-6):
    """got = factor·expected on every element (and not trivially: expected is not all 0)."""
    got, expected = np.asarray(got, float), np.asarray(expected, float) * factor
    scale = np.abs(expected).max(initial=0)
    return scale > 0 and np.allclose(got, expected, rtol=rtol, atol=rtol * scale)


def factor_hint(got, expected, factors):
    """The meaning of the first of `factors` ((factor, meaning) pairs) that turns expected
    into got, joined with '; or ' when several do; None when none does."""
    meanings = [meaning for factor, meaning in factors if proportional(got, expected, factor)]
    return "; or ".join(dict.fromkeys(meanings)) or None


def format_array(name, a):
    return f"{name} = np." + re.sub(r"\s+", " ", np.array_repr(np.asarray(a), precision=6))
