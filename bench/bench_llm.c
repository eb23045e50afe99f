/*
 * bench_llm: proposals in flight at once against a slow provider.
 *
 *   bench_llm [--quick] [N] [IN_FLIGHT]
 *
 * Starts tests/llm/llmserver.py with --latency-ms 200 (every reply waits
 * 200 ms, as a hosted model does at best) and sends N code-proposal
 * requests (default 32) through the openai provider: once one at a time,
 * then IN_FLIGHT (default 8) at once with ad_llm_complete_many. Prints both
 * wall times and their ratio; asserts nothing. The ideal ratio is
 * IN_FLIGHT; what is lost is thread start, connection set-up and the
 * server's own Python threads.
 */
#include "compat.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/llm.h"

static pid_t start_server(int *port)
{
    char dir[] = "/tmp/bench-llm-XXXXXX", portfile[64], buf[32];
    pid_t pid;
    FILE *f;
    int i;

    if (!mkdtemp(dir))
        return -1;
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))   /* its "listening" line */
            _exit(127);
        execl("/usr/bin/python3", "python3", AD_SRCDIR "/tests/llm/llmserver.py", "--cases",
              AD_SRCDIR "/tests/llm/cases", "--port-file", portfile, "--latency-ms", "200",
              (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (i = 0; i < 200 && *port == 0; i++) {
        usleep(50000);
        f = fopen(portfile, "r");
        if (f && fgets(buf, sizeof(buf), f))
            *port = (int)strtol(buf, NULL, 10);
        if (f)
            fclose(f);
    }
    unlink(portfile);
    rmdir(dir);
    return *port ? pid : -1;
}

static const char prompt[] =
    "Propose one change that makes this function faster. Answer with a\n"
    "SEARCH/REPLACE block.\n\n```python skill.py\ndef total(xs):\n    s = 0\n"
    "    for x in xs:\n        s += x\n    return s\n```\n";

static double run(struct ad_llm *llm, int n, int in_flight)
{
    struct ad_llm_message m = { AD_LLM_USER, prompt, NULL, 0, NULL };
    struct ad_llm_request *reqs = calloc((size_t)n, sizeof(*reqs));
    struct ad_llm_response *resps = calloc((size_t)n, sizeof(*resps));
    int *rcs = calloc((size_t)n, sizeof(*rcs)), i, failed = 0;
    int64_t t0;

    for (i = 0; i < n; i++) {
        reqs[i].messages = &m;
        reqs[i].nmessages = 1;
        reqs[i].temperature = -1;
        reqs[i].seed = -1;
        reqs[i].purpose = "bench";
    }
    t0 = ad_mono_ns();
    ad_llm_complete_many(llm, reqs, (size_t)n, in_flight, resps, rcs, NULL);
    t0 = ad_mono_ns() - t0;
    for (i = 0; i < n; i++) {
        failed += rcs[i] != 0;
        ad_llm_response_release(&resps[i]);
    }
    if (failed)
        fprintf(stderr, "bench_llm: %d of %d calls failed\n", failed, n);
    free(reqs);
    free(resps);
    free(rcs);
    return failed ? -1 : (double)t0 / 1e9;
}

int main(int argc, char **argv)
{
    struct ad_llm_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm = NULL;
    int n = 32, in_flight = 8, port, ai = 1;
    char url[128];
    double one, many;
    pid_t pid;

    if (argc > ai && !strcmp(argv[ai], "--quick")) {
        n = 16;
        ai++;
    }
    if (argc > ai)
        n = (int)strtol(argv[ai++], NULL, 10);
    if (argc > ai)
        in_flight = (int)strtol(argv[ai++], NULL, 10);
    if (n < 1 || in_flight < 1) {
        fprintf(stderr, "usage: bench_llm [--quick] [N] [IN_FLIGHT]\n");
        return 2;
    }
    pid = start_server(&port);
    if (pid < 0) {
        fprintf(stderr, "bench_llm: the loopback server did not start\n");
        return 1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/case/bench_openai/v1", port);
    setenv("OPENAI_BASE_URL", url, 1);
    setenv("OPENAI_API_KEY", "sk-bench-0000000000000000", 1);
    o.max_retries = 0;
    if (ad_llm_new("openai:gpt-4o-mini", &o, &llm, &err)) {
        fprintf(stderr, "bench_llm: %s\n", err.msg);
        kill(pid, SIGTERM);
        return 1;
    }
    one = run(llm, n, 1);
    many = run(llm, n, in_flight);
    printf("%-44s %4d calls %8.3f s %8.1f ms/call\n", "one at a time (200 ms a reply)", n, one,
           one * 1000 / n);
    printf("%-44s %4d calls %8.3f s %8.1f ms/call\n", "in flight together", n, many,
           many * 1000 / n);
    if (one > 0 && many > 0)
        printf("speed-up with %d in flight: %.2fx\n", in_flight, one / many);
    ad_llm_free(llm);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return one > 0 && many > 0 ? 0 : 1;
}
