/*
 * Evolution research mode: many generations of a skill's code, a
 * population per generation, an archive of islands, each a MAP-Elites grid.
 *
 *   run        evolve_runs row: the skill, its seed version, the params
 *              (below), the PRNG state at each generation boundary, the
 *              counters (evaluations, tokens, USD) and the best program.
 *   generation one evolve.generation job: population proposals, each from
 *              a parent drawn by fitness with a bonus for few children;
 *              near-duplicates of an archived program (its normalised
 *              token sequence) dropped before they run; the rest evaluated
 *              in a cascade (a few inputs first, all of them only when the
 *              first stage is not clearly worse than the parent's) and
 *              placed in their island's grid; every M generations the
 *              elites re-evaluated and each island's best copied into the
 *              next island (a ring); after S generations without a better
 *              best the weakest islands emptied and seeded with the global
 *              best. Every proposal is one program row written in one
 *              transaction with its trace lines and the run's counters, so
 *              a generation killed anywhere is finished from its rows: no
 *              proposal is evaluated twice once stored, no generation is
 *              counted twice.
 *   fitness    "output" (timing-free): every output is a number (or an
 *              object whose "score" is one) and the fitness is their mean,
 *              higher is better; the program's own fixed part (outside its
 *              EVOLVE blocks) is the evaluator. "latency": correctness first
 *              (every output equal to the seed's and to the expected ones),
 *              then the seed's latency over the program's.
 *   features   the grid's dimensions: "length" (bytes of code), "latency"
 *              (ms, load + call over the cases), "cpu" (ms) or any number the
 *              outputs carry (an object output's numeric keys, averaged).
 *
 * Budgets (generations, evaluations, wall time, tokens, USD) are checked at
 * generation boundaries; a preflight estimate must fit them first.
 */
#ifndef AUTODEV_EVOLVE_H
#define AUTODEV_EVOLVE_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/evolve.h belongs to module learn (layer 5), above the module including it"
/* The tenant's runs, newest first: [{id, skill, state, generation, generations, ...}]. */
int ad_evolve_list(struct ad_store *st, const char *tenant_id, int limit, json_t **out,
                   struct ad_err *err);
/* Trace lines with seq > after_seq: [{seq, generation, kind, data}], at most limit. */
int ad_evolve_trace_page(struct ad_store *st, const char *tenant_id, const char *run_id,
                         int64_t after_seq, int limit, json_t **out, struct ad_err *err);

/* Where a run stands (the progress line and evolve status). */
struct ad_evolve_status {
    int generation, generations;
    double best, median;         /* of the elites; NAN none */
    int elites;
    int64_t evaluations, tokens, programs;
    double usd;
    char state[16];
    char reason[256];
};
int ad_evolve_progress(struct ad_store *st, const char *tenant_id, const char *run_id,
                       struct ad_evolve_status *out, struct ad_err *err);

#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_bus;
struct ad_job_lease;
struct ad_llm;
struct ad_sandbox;

#define AD_EVOLVE_JOB "evolve.generation"
#define AD_EVOLVE_DIMS_MAX 4
#define AD_EVOLVE_ISLANDS_MAX 64
#define AD_EVOLVE_POPULATION_MAX 256
#define AD_EVOLVE_GENERATIONS_MAX 100000

/* Slots of the programs a generation makes besides its proposals (0..population-1). */
#define AD_EVOLVE_SLOT_SEED (-1)
#define AD_EVOLVE_SLOT_MIGRATION 1000
#define AD_EVOLVE_SLOT_SEED_COPY 2000
#define AD_EVOLVE_SLOT_RESET 3000

/* ---- the PRNG (xoshiro256**: every random choice of a run) ------------------------ */

struct ad_evolve_prng {
    uint64_t s[4];
};

void ad_evolve_prng_seed(struct ad_evolve_prng *p, uint64_t seed);
uint64_t ad_evolve_prng_next(struct ad_evolve_prng *p);
/* Uniform in [0, 1). */
double ad_evolve_prng_unit(struct ad_evolve_prng *p);
/* 64 hex digits into out[65]; and back (AD_EINVAL for anything else). */
void ad_evolve_prng_save(const struct ad_evolve_prng *p, char out[65]);
int ad_evolve_prng_load(struct ad_evolve_prng *p, const char *hex, struct ad_err *err);

/* ---- the archive (evolve_archive.c): pure, in memory ----------------------------- */

struct ad_evolve_dim {
    char name[32];      /* a feature key */
    double min, max;    /* min < max */
    int bins;           /* 1..64 */
};

/* "NAME:MIN:MAX:BINS" into *out; AD_EINVAL naming what is wrong. */
int ad_evolve_dim_parse(const char *s, struct ad_evolve_dim *out, struct ad_err *err);

/*
 * The cell of features in the grid of dims: "b0,b1,..." with each
 * b = floor((v - min) / (max - min) * bins), clamped into 0..bins-1.
 * AD_EINVAL when a dimension's feature is missing or not a finite number.
 */
int ad_evolve_cell_key(const struct ad_evolve_dim *dims, size_t ndims, const json_t *features,
                       char *out, size_t size, struct ad_err *err);

/* An archive: every program of a run (owned), in the order they were made. */
struct ad_evolve_archive {
    struct ad_evolve_program *v;
    size_t n, cap;
    int islands;
};

void ad_evolve_archive_release(struct ad_evolve_archive *a);
/* Appends a copy of p's fields, taking ownership of its pointers (p is zeroed). */
int ad_evolve_archive_add(struct ad_evolve_archive *a, struct ad_evolve_program *p,
                          struct ad_err *err);
/* The index of the elite of (island, cell), or -1. */
long ad_evolve_archive_elite(const struct ad_evolve_archive *a, int island, const char *cell);
/* The index of the best elite of island (-1: of every island), or -1 when none; ties: oldest. */
long ad_evolve_archive_best(const struct ad_evolve_archive *a, int island);

enum ad_evolve_place {
    AD_PLACE_NEW = 0,       /* the cell was empty: p is its elite */
    AD_PLACE_REPLACED,      /* p beat the elite: p is the elite, the old one retired */
    AD_PLACE_REJECTED,      /* p is not better than the elite (a tie keeps the elite) */
};

/*
 * Places program index i (its island and cell set, fitness finite) in its
 * island's grid: status "elite" or "rejected", and the elite it replaced
 * "retired" with its index in *retired (else -1).
 */
enum ad_evolve_place ad_evolve_archive_place(struct ad_evolve_archive *a, size_t i,
                                             long *retired);

/*
 * Ring migration: for each island i, a copy of its best elite (taken
 * before any copy is placed) is appended for island (i + 1) % islands with
 * slot AD_EVOLVE_SLOT_MIGRATION + i, generation gen, parent the original,
 * and placed there. *first gets the index of the first copy appended.
 */
int ad_evolve_archive_migrate(struct ad_evolve_archive *a, int gen, size_t *first,
                              struct ad_err *err);

/*
 * Reset: the k weakest islands (by best elite; an empty island is the
 * weakest; never the island of the global best) have every elite retired
 * and get a copy of the global best (slot AD_EVOLVE_SLOT_RESET + island).
 * *first as for migrate; *nreset the islands reset.
 */
int ad_evolve_archive_reset(struct ad_evolve_archive *a, int k, int gen, size_t *first,
                            int *nreset, struct ad_err *err);

/* ---- novelty ----------------------------------------------------------------------- */

/*
 * The normalised token sequence of code: its EVOLVE blocks when it has
 * some (the rest is fixed), else all of it; whitespace, comments and line
 * breaks dropped. fingerprint: FNV-1a 64 of it, 16 hex digits into out.
 * grams: the sorted distinct hashes of its token 3-grams (malloc'd).
 */
int ad_evolve_fingerprint(const char *code, char out[17], uint64_t **grams, size_t *ngrams,
                          struct ad_err *err);
/* Jaccard similarity of two sorted distinct sets; 1 for two empty sets. */
double ad_evolve_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

/* ---- runs ---------------------------------------------------------------------------- */

enum ad_evolve_fitness { AD_EVOLVE_FIT_OUTPUT = 0, AD_EVOLVE_FIT_LATENCY = 1 };

struct ad_evolve_params {
    int generations;             /* >= 1 */
    int population;              /* proposals per generation */
    int islands;
    uint64_t seed;
    int64_t max_evaluations;     /* 0: none */
    int64_t time_budget_s;       /* 0: none */
    double budget_usd;           /* 0: none */
    int64_t budget_tokens;       /* 0: none */
    int migration_interval;      /* M */
    int stagnation;              /* generations without a better best before a reset; 0: never */
    enum ad_evolve_fitness fitness;
    int stage1_cases;            /* the cascade's first stage */
    double cascade_margin;       /* fraction of the parent's stage-1 score a child may lose */
    double novelty;              /* Jaccard at or above which a proposal is a duplicate */
    int max_cases;               /* test inputs */
    struct ad_evolve_dim dims[AD_EVOLVE_DIMS_MAX];
    size_t ndims;                /* 0: length and latency, ranges from the seed */
};

/* The defaults: 10 generations of 8 on 2 islands, seed 1, M 3, stagnation 5, ... */
void ad_evolve_params_init(struct ad_evolve_params *p);

/* A run's preflight: what it will spend at most. */
struct ad_evolve_estimate {
    int64_t calls;               /* model calls (0 with the offline mutator) */
    int64_t evaluations;         /* sandbox runs */
    double usd;                  /* expected cost */
    int64_t tokens;
};

struct ad_evolve_env {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_sandbox *sb;
    struct ad_llm *llm;          /* NULL or offline-only: the offline mutator */
    /* The arms of the proposal bandit: one model per chain entry that writes code
     * (ad_runtime_llm with that entry as its spec). None: the offline mutator. */
    struct ad_llm *const *arms;
    size_t narms;
    struct ad_job_lease *lease;  /* NULL: none */
    const char *tenant_id;
};

/*
 * Creates a run of skill (its current version is the seed) with params,
 * after the preflight: *est says what it will spend at most; a budget or
 * a daily cap it cannot fit is AD_ELIMIT naming both numbers. The test set
 * (the version's recorded inputs, as AlphaEvolver's) is kept in the run's
 * params. agent_id may be NULL.
 */
int ad_evolve_create(const struct ad_evolve_env *env, const char *skill,
                     const char *agent_id, const struct ad_evolve_params *params,
                     struct ad_evolve_run *out, struct ad_evolve_estimate *est,
                     struct ad_err *err);

/* What one generation did, for the progress line. */
struct ad_evolve_gen_result {
    int generation;              /* the generation run (0-based) */
    bool ran;                    /* false: the run had already done it, or is not running */
    double best, median;         /* fitness of the global best and median of the elites */
    int evaluations;             /* sandbox runs this generation */
    double seconds;              /* wall time of the generation (this process's part) */
    double usd;                  /* the run's cost so far */
    bool finished;               /* the run is no longer running afterwards */
};

/*
 * The evolve.generation job: payload {"run_id", "generation"}. Runs
 * generation g of the run if the run is running and has done g
 * generations; finishes it from its rows when an earlier attempt stored
 * some. At the end, one transaction: the run's counters, PRNG and
 * generation, and its state ("done" when a budget is spent, with the
 * reason). stop_requested: end the run "stopped" after this generation.
 */
int ad_evolve_generation(const struct ad_evolve_env *env, const char *run_id, int generation,
                         bool stop_requested, struct ad_evolve_gen_result *res,
                         struct ad_err *err);

/* The job handler's body (payload parsed, ad_evolve_generation). */
int ad_evolve_job(const struct ad_evolve_env *env, const json_t *payload, struct ad_err *err);
/* Whether a failed evolve job can succeed by running again. */
int ad_evolve_job_outcome(int rc);

/* "stopped" -> "running" (resume); AD_ESTATE for a run that is done or failed. */
int ad_evolve_reopen(struct ad_store *st, const char *tenant_id, const char *run_id,
                     struct ad_err *err);

/* "running" -> "stopped" with reason (a stop file, SIGINT); AD_ESTATE for a finished run. */
int ad_evolve_stop(struct ad_store *st, const char *tenant_id, const char *run_id,
                   const char *reason, struct ad_err *err);

/*
 * The run's best program to review: evaluated once more on the full test
 * set (it must reproduce its fitness), then a tool_mutations row
 * (AlphaEvolver's review queue) of its code against the seed version, once
 * per run; promoted at once under AlphaEvolver's rules (the run's agent
 * AUTONOMOUS, background_evolution on, risk below HIGH: *promoted true).
 * *mutation_id gets its id ("" when the best is the seed itself or did
 * not reproduce).
 */
int ad_evolve_submit_best(const struct ad_evolve_env *env, const char *run_id,
                          char mutation_id[AD_ID_SIZE], bool *promoted, struct ad_err *err);

/* The run as JSON: its row, params without the test set, "best": {code, fitness, signals}. */
int ad_evolve_show(struct ad_store *st, const char *tenant_id, const char *run_id, json_t **out,
                   struct ad_err *err);

/* The tenant's runs, newest first: [{id, skill, state, generation, generations, ...}]. */
int ad_evolve_list(struct ad_store *st, const char *tenant_id, int limit, json_t **out,
                   struct ad_err *err);
/* Trace lines with seq > after_seq: [{seq, generation, kind, data}], at most limit. */
int ad_evolve_trace_page(struct ad_store *st, const char *tenant_id, const char *run_id,
                         int64_t after_seq, int limit, json_t **out, struct ad_err *err);

/* Where a run stands (the progress line and evolve status). */
struct ad_evolve_status {
    int generation, generations;
    double best, median;         /* of the elites; NAN none */
    int elites;
    int64_t evaluations, tokens, programs;
    double usd;
    char state[16];
    char reason[256];
};
int ad_evolve_progress(struct ad_store *st, const char *tenant_id, const char *run_id,
                       struct ad_evolve_status *out, struct ad_err *err);

#endif
