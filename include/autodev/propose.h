/*
 * Offline proposers: code changes found without any model.
 *
 * ad_propose_mutants() applies mutation operators to the regions of a
 * Python source between "# EVOLVE-BLOCK-START" and "# EVOLVE-BLOCK-END"
 * comment lines (the whole file when there are none). A Python-aware
 * tokenizer finds the tokens, so strings (all quote and prefix forms,
 * triple-quoted, f-strings) and comments are never changed.
 *
 * Operators: numeric literal perturbation, comparison operator swap,
 * arithmetic operator swap, boolean flip (True/False, and/or), statement
 * deletion (replaced by "pass" where a block would be left empty),
 * statement duplication and swap of two adjacent simple statements at the
 * same indentation.
 *
 *   number     ints (any base, kept): +1, -1 (not below 0), x2, /2, 0 <-> 1;
 *              floats: x0.5, x1.1, x0.9, x2 (0.0 -> 0.1, 1.0), printed with
 *              12 significant digits and always as a float; imaginary
 *              literals are left alone
 *   compare    < -> <= or >, > -> >= or <, <= -> < or >=, >= -> > or <=,
 *              == <-> !=, is <-> is not, not in -> in
 *   arith      binary + <-> -, * -> /, / -> * or //, // -> /, and += <-> -=,
 *              *= <-> /=; an operator is binary when a name (not a keyword),
 *              number, string or closing bracket precedes it, so unary
 *              minus, *args, **kwargs and `import *` are never touched;
 *              % is left alone (on strings it formats)
 *   bool       True <-> False, and <-> or
 *   delete, duplicate, swap
 *              whole logical lines (brackets, continuations and triple
 *              quoted strings included) of simple statements: not block
 *              headers, decorators or `from __future__` imports
 *
 * Candidates are taken by operator in turn (an operator drawn at random
 * among those with candidates left, then its next site in a seeded
 * shuffle), so a few mutants already cover several operators. A mutant
 * whose edit would carry a line that an edit parser reads as a marker or a
 * fence (e.g. "=======" inside a triple-quoted string) is skipped.
 *
 * Each mutant is an edit in the form an LLM reply takes (a SEARCH/REPLACE
 * block naming path, see edit.h) whose search part is unique in the file,
 * so ad_edit_parse() + ad_edit_apply_text() turn the original into the
 * mutant exactly; everything downstream is shared with model-written edits.
 * The same seed, source and options give the same mutants, byte for byte.
 */
#ifndef AUTODEV_PROPOSE_H
#define AUTODEV_PROPOSE_H

/* Module propose, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/propose.h belongs to module propose (layer 3), above the module including it"
#endif

#include <stddef.h>
#include <stdint.h>

#include "autodev/error.h"

enum ad_mutation_op {
    AD_MUT_NUMBER = 1 << 0,
    AD_MUT_COMPARE = 1 << 1,
    AD_MUT_ARITH = 1 << 2,
    AD_MUT_BOOL = 1 << 3,
    AD_MUT_DELETE = 1 << 4,
    AD_MUT_DUPLICATE = 1 << 5,
    AD_MUT_SWAP = 1 << 6,
    AD_MUT_ALL = (1 << 7) - 1,
};

/* "number", "compare", ...; static, never NULL. */
const char *ad_mutation_op_name(enum ad_mutation_op op);

struct ad_propose_opts {
    uint64_t seed;
    int count;          /* mutants wanted, 1..1000 */
    unsigned ops;       /* enum ad_mutation_op mask; 0 means all */
    const char *path;   /* the file name written into the edits; NULL: "skill.py" */
};

struct ad_mutant {
    enum ad_mutation_op op;
    int line;            /* 1-based line of the source that changed */
    char *description;   /* owned; "number: 0.5 -> 0.55 at line 12" */
    char *edit;          /* owned; the SEARCH/REPLACE reply text */
    char *code;          /* owned; the whole mutated source */
};

/*
 * Up to opts->count distinct mutants of code (fewer when the regions offer
 * fewer distinct mutations; *n says how many). Mutants that leave the code
 * unchanged are never returned, nor those whose search part would need
 * more than 60 lines to be unique. On large or highly repetitive sources a
 * fixed work budget (bytes scanned, bytes of mutants returned; counted, not
 * timed, so results stay reproducible) may end the search early.
 *
 * AD_EINVAL for unbalanced EVOLVE markers (the message names the line),
 * bad options (count outside 1..1000, unknown op bits, a path with a line
 * break), a NUL byte in code, or line ends that are bare "\r" or a mix of
 * "\n" and "\r\n" (the edit would not reproduce them); AD_ETOOBIG for code
 * over 16 MiB; AD_ENOTFOUND when the regions hold nothing to mutate, or
 * nothing that can be written as an edit. On failure *out is NULL and *n
 * is 0. Free with ad_mutants_free().
 */
int ad_propose_mutants(const char *code, size_t len, const struct ad_propose_opts *opts,
                       struct ad_mutant **out, size_t *n, struct ad_err *err);

void ad_mutants_free(struct ad_mutant *v, size_t n);

#endif
