/*
 * Secrets the process knows, masked wherever text leaves it.
 *
 * A process-wide registry of secret values (API keys, tokens, credentials
 * in URLs). Whoever reads a secret registers it (the llm module does so for
 * every key it reads when a chain is built); whoever stores, prints or logs
 * text that came from outside (a model's reply, a server's error, a
 * command's output) passes it through ad_secret_redact() first. The log
 * sink does so for every line.
 *
 * Matching is on the literal value in any ASCII letter case: servers echo
 * keys upper-cased in their errors ("INVALID KEY SK-TEST-..."), so an exact
 * match is not enough. Every occurrence becomes AD_SECRET_MARKER, which is
 * never longer than a registered value, so masking in place never grows the
 * text, and the marker does not tell the secret's length. When two values
 * overlap at one place the longer one is masked.
 *
 * Values shorter than AD_SECRET_MIN bytes are not registered: a short value
 * ("test", "1234", "dummy") would mask ordinary words and numbers all
 * through logs and replies while protecting nothing a real credential is
 * (provider keys are 20 to 200 characters); and a value at least as long as
 * the marker is what lets masking work in place.
 *
 * What this does not catch: a secret transformed before it is written
 * (base64, reversed, spelled out). The llm module also decodes JSON escapes
 * in JSON replies (llm.h); the rest is kept out by never giving a secret
 * to what could transform it (prompts, the sandbox, the exec provider's
 * environment).
 *
 * Thread safety: every function may be called from any thread; the
 * registry is guarded by one mutex. Values are kept for the life of the
 * process (a key read once may be echoed at any later time).
 */
#ifndef AUTODEV_SECRET_H
#define AUTODEV_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define AD_SECRET_MIN 8              /* bytes; shorter values are ignored */
#define AD_SECRET_MARKER "[secret]"  /* 8 bytes: never longer than a value */
#define AD_SECRET_MAX_VALUES 64      /* distinct values the registry holds */
#define AD_SECRET_MAX_LEN 4096       /* bytes of one value */

/*
 * Registers value (copied). 0 when registered or already known (in any
 * case), or ignored because NULL or shorter than AD_SECRET_MIN; AD_ETOOBIG
 * for a value over AD_SECRET_MAX_LEN; AD_ELIMIT when the registry is full;
 * AD_ENOMEM.
 */
int ad_secret_add(const char *value);

/*
 * Masks every registered value in the NUL-terminated text, in place, ASCII
 * case-insensitively: each occurrence becomes AD_SECRET_MARKER and the rest
 * of the text moves up, so the text can only get shorter. Returns the
 * number of occurrences masked. NULL is ignored.
 */
size_t ad_secret_redact(char *text);
/* The same on len bytes (which may hold NULs); *len gets the new length. */
size_t ad_secret_redact_mem(char *p, size_t *len);

/* A masked copy of text (malloc'd; the caller frees). NULL for NULL or no memory. */
char *ad_secret_redacted(const char *text);

/* Whether text holds a registered value (in any case). */
bool ad_secret_contains(const char *text);

/*
 * How many bytes at the end of p[0..len) could be the start of a registered
 * value (an ASCII case-insensitive proper prefix of one): text that arrives
 * in pieces (a stream) keeps those back until the next piece shows whether
 * they are a secret. 0 when no suffix could be.
 */
size_t ad_secret_partial_tail(const char *p, size_t len);

/* Number of registered values. */
size_t ad_secret_count(void);

#endif
