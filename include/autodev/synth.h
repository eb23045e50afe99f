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
 * them in the emitted code). A program is kept only if it reproduces every
 * example, compared as ad_json_equal_loose() does (1 == 1.0). Ranking
 * prefers fewer parts and no constants: an alphanumeric constant is used
 * only when two or more examples agree on it, never memorised from one.
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

struct ad_synth_opts {
    const char *name;         /* the function's name; NULL: "transform" */
    const char *description;  /* the docstring's first line; NULL: one is written */
};

struct ad_synth_program;      /* opaque; what ad_synth_apply() runs */

struct ad_synth_result {
    char *code;               /* the Python module: imports, function, helpers */
    char *entry;              /* the function's name */
    char *summary;            /* the program in one line, e.g. "first match of INV-\d+ in text" */
    char *why;                /* when nothing fits: the reason, naming the example that broke
                               * the closest guess */
    int examples;             /* examples used */
    long considered;          /* candidate programs tried */
    struct ad_synth_program *prog;
};

/*
 * examples: an array of objects {"input": any, "output": any}. On success
 * res holds the code, entry, summary and program. AD_ENOTFOUND when no
 * program of the language fits every example: res->why and err say why
 * (two examples with equal inputs and different outputs; otherwise the
 * closest candidate and the first example it gets wrong). AD_EINVAL for
 * malformed examples (not an array, no examples, an element without
 * "input" or "output", a function name that is not a Python identifier),
 * AD_ETOOBIG for more than AD_SYNTH_MAX_EXAMPLES. Release res in every case.
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
