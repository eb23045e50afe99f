/*
 * Synthesis by example: a Python function found from input/output pairs,
 * with no model, in milliseconds.
 *
 * ad_synth() searches a small language of transformations for the simplest
 * program that turns every example's input into its output, then writes it
 * out as a readable, type-hinted Python function with a docstring. The
 * language (see synth.c for the whole grammar and the costs that rank it):
 *
 *   text      the k-th match (first, second, ..., last) of a pattern in a
 *             string field: a token class (digits, letters, words, non-space
 *             runs), a pattern generalised from the outputs' own shape
 *             ("INV-\d+" when every output starts with INV-, else
 *             "[A-Z]+-\d+"), or a value after a label the inputs share
 *             ("Order number: (\d+)"); a case change or trim on top; outputs
 *             made of several such parts joined by constant separators;
 *             every match of a pattern as a list
 *   JSON      a path into the input (keys and list indexes), with a default
 *             when some inputs lack it; numbers from one or two numeric
 *             fields (+, -, *, /, percentages, a constant factor or offset
 *             that every example agrees on) with optional rounding; sum,
 *             count, mean, min, max over a list or a field of its items
 *             (sum of price * qty included); the items of a list, or one
 *             field of them, filtered by a field's value; true/false from a
 *             comparison with a threshold or a field
 *
 * The patterns are regular expressions that mean the same to PCRE2 (which
 * evaluates them here, with Unicode classes) and to Python's re (which runs
 * them in the emitted code): whitespace is spelled out, since \s is not the
 * same set in the two. The C evaluation follows Python's semantics
 * operation for operation: exact int arithmetic (a true division of two
 * ints rounded once, an int and a float compared exactly) and CPython's
 * Unicode case mapping ("ß".upper() is "SS"). A program is kept only if it
 * reproduces every example, compared as Python's == does (1 == 1.0; a
 * boolean equals only a boolean). Ranking prefers fewer parts and no
 * constants: an alphanumeric constant is used only when two or more
 * examples agree on it, never memorised from one.
 *
 * The search is bounded by work, never by time, so the same examples give
 * the same answer on any machine: at most max_candidates candidate programs
 * tried and max_scan bytes scanned (every run of a pattern, or of a case
 * change, over a string counts the string's length). A call that reaches
 * either stops and fails with AD_ELIMIT, saying which.
 *
 * With opts->python set, the emitted module is also run by that Python on
 * every example before ad_synth() reports success; a program whose Python
 * disagrees with the C evaluation is dropped and the search runs again
 * without it, at most AD_SYNTH_MAX_CHECKS times. The module is code this
 * file writes from a closed grammar, the examples' values only ever inside
 * escaped literals or passed as JSON data, so it runs as a plain child
 * process (the command's words, then "-c" and a driver; no shell, an empty
 * environment, standard input and output only), not in the sandbox.
 *
 * The function accepts its input the way the sandbox harness passes it:
 * keyword arguments when every input is an object whose keys are usable
 * Python names (a key missing from some inputs gets a default), else one
 * argument ("text" when every input is a string, else "data").
 */
#ifndef AUTODEV_SYNTH_H
#define AUTODEV_SYNTH_H

/* Module propose, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/synth.h belongs to module propose (layer 3), above the module including it"
#endif

#include <stddef.h>

#include <jansson.h>

#include "autodev/error.h"

/* Examples accepted by one call; more is AD_ETOOBIG. */
#define AD_SYNTH_MAX_EXAMPLES 200

/* The default work budget of one call (see above); the Python re-checks share it. */
#define AD_SYNTH_MAX_CANDIDATES 200000L
#define AD_SYNTH_MAX_SCAN ((size_t)256 << 20)

/* Programs the Python re-check may turn down in one call before it fails. */
#define AD_SYNTH_MAX_CHECKS 4
/* The Python re-check: the command autodev synth uses, and the default wall limit of a run. */
#define AD_SYNTH_PYTHON "/usr/bin/python3 -I -S"
#define AD_SYNTH_PYTHON_MS 20000

struct ad_synth_opts {
    const char *name;         /* the function's name; NULL: "transform" */
    const char *description;  /* the docstring's first line; NULL: one is written */
    long max_candidates;      /* 0: AD_SYNTH_MAX_CANDIDATES */
    size_t max_scan;          /* bytes; 0: AD_SYNTH_MAX_SCAN */
    /*
     * NULL: no re-check. Else the Python to re-check the module with, as
     * words separated by spaces (no quoting), e.g. AD_SYNTH_PYTHON; the
     * first word is looked up on PATH when it has no slash.
     */
    const char *python;
    int python_ms;            /* wall limit of one Python run; 0: AD_SYNTH_PYTHON_MS */
    /*
     * Inputs with no known output (held-out inputs, other recorded inputs of
     * the task), a JSON array, or NULL: where the ambiguity report looks
     * for programs that fit the examples as well but answer otherwise. With
     * none, the examples' inputs perturbed are looked at instead.
     */
    const json_t *probes;
    /*
     * true: fail (AD_ENOTFOUND, the ambiguity still in res) rather than
     * hand out a guess the examples cannot decide: the program raises on one
     * of opts->probes where an alternative answers, or an alternative of the
     * same cost gives another value on one.
     */
    bool refuse_ties;
};

/*
 * Ambiguity: after the cheapest program is found, the search runs again
 * without it (at most AD_SYNTH_ALT_PASSES times, AD_SYNTH_ALT_PASSES_PERTURBED
 * without opts->probes) for programs that fit every
 * example at a cost within AD_SYNTH_ALT_MARGIN of it. Those that give
 * another value on some probe (opts->probes; without them, the examples'
 * inputs perturbed: a word dropped, digits changed, a field taken from
 * another example, where only an alternative within 0.3 of the cost
 * counts) are kept, at most AD_SYNTH_ALT_MAX. When the program
 * found raises on some of opts->probes and one of them raises on fewer, that
 * one is handed out instead (an input the caller gives is one the function
 * must take). The others are reported in res->ambiguity:
 *
 *   {"program": the chosen program (its Python expression),
 *    "input": the distinguishing input (the probe with the most distinct answers),
 *    "answer": the chosen program's answer there,
 *    "alternatives": [the other programs' Python expressions],
 *    "answers": [each alternative's answer there],
 *    "cost_gap": how much dearer the cheapest alternative is (0: a tie),
 *    "from": "probe" or "perturbed" (where the input came from)}
 *
 * An answer is the value, or {"error": why} when that program raises there.
 * To reach programs that answer otherwise rather than spell the same one
 * again, the searches for alternatives count two parts as one when they
 * agree on the examples and on the probes, and try first the programs one
 * step off the cheapest one's path (another part, or a part for a
 * constant, in one place). The extra searches share nothing with the main one's budget: a search for
 * alternatives cut short by its budget ends the report, never the call.
 */
#define AD_SYNTH_ALT_MAX 3
#define AD_SYNTH_ALT_PASSES 16
#define AD_SYNTH_ALT_PASSES_PERTURBED 6     /* the passes when no probes are given */
#define AD_SYNTH_ALT_MARGIN 1.0
#define AD_SYNTH_MAX_PROBES 64

struct ad_synth_program;      /* opaque; what ad_synth_apply() runs */

struct ad_synth_result {
    char *code;               /* the Python module: imports, function, helpers */
    char *entry;              /* the function's name */
    char *summary;            /* the program in one line, e.g. "first match of INV-\d+ in text" */
    char *why;                /* when nothing fits: the reason, naming the example that broke
                               * the closest guess */
    int examples;             /* examples used */
    long considered;          /* candidate programs tried */
    size_t scanned;           /* bytes scanned */
    int checks;               /* Python runs of the re-check (0 without opts->python) */
    struct ad_synth_program *prog;
    json_t *ambiguity;        /* NULL, or the report described above (owned) */
};

/*
 * examples: an array of objects {"input": any, "output": any}. On success
 * res holds the code, entry, summary and program. Errors, each with res->why
 * (where it says more than err) and err:
 *
 *   AD_ENOTFOUND  with opts->refuse_ties, a program fits but so does another of
 *                 the same cost that answers otherwise (res->ambiguity says
 *                 which, and where); else
 *                 no program of the language fits every example (two
 *                 examples with equal inputs and different outputs;
 *                 otherwise the closest candidate and the first example it
 *                 gets wrong), or every program found disagreed with the
 *                 Python re-check (the last one, the example, both answers)
 *   AD_ELIMIT     the work budget was reached before the search was done
 *   AD_EINVAL     malformed examples (not an array, no examples, an element
 *                 without "input" or "output"), a function name that is not
 *                 a Python identifier, an empty python command
 *   AD_ETOOBIG    more than AD_SYNTH_MAX_EXAMPLES
 *   AD_EIO        the Python of the re-check could not be run or broke off
 *   AD_ETIMEOUT   a Python run of the re-check passed python_ms
 *   AD_EINTERNAL  a bug: the chosen program does not fit in a second run, or
 *                 its module does not load in Python
 *
 * AD_ENOTFOUND, AD_ELIMIT, AD_EINVAL, AD_ETOOBIG and AD_EINTERNAL are
 * certain to repeat: the same examples and options give the same answer
 * (the budget counts work, not time), so a job should not retry them.
 * AD_EIO, AD_ETIMEOUT and AD_ENOMEM depend on the machine. Release res in
 * every case.
 */
int ad_synth(const json_t *examples, const struct ad_synth_opts *o, struct ad_synth_result *res,
             struct ad_err *err);

/*
 * Runs the found program on a new input, in C, with the semantics of the
 * emitted Python: *out is the output (new reference), or AD_ENOTFOUND when
 * the Python would raise (no match, a missing key, division by zero) with
 * the reason in err.
 */
int ad_synth_apply(const struct ad_synth_result *res, const json_t *input, json_t **out,
                   struct ad_err *err);

void ad_synth_result_release(struct ad_synth_result *res);

#endif
