/*
 * The process backend, ad__sb_process_ops: the weaker fallback for
 * machines where namespaces are not available. fork + setsid + rlimits +
 * no_new_privs + seccomp, a fresh scratch directory as cwd and TMPDIR, and,
 * when the supervisor is root, the slot's own unprivileged uid. The final
 * sweep kills the supervisor's whole tree of descendants (it is a child
 * subreaper, so a payload that detached itself is still in it) and, as
 * root, every process of that uid.
 *
 * What it cannot do is listed in tests/sandbox/README.md: the host's
 * filesystem stays readable where permissions allow, the network is the
 * host's, other processes are visible, and disk use is bounded per file
 * (RLIMIT_FSIZE) but not in total.
 *
 * Layout of the supervisor's base directory (mode 0711, root's):
 *   base/run/    harness.py, skill.py, input.json   0755/0644, not writable by the payload
 *   base/work/   the payload's cwd, its uid's, emptied before every run
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/error.h"
#include "sb_int.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

/* rm -rf that never follows a link nor leaves the file system. */
static void remove_tree(const char *path)
{
    (void)nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/*
 * Removes "autodev-sb.<pid>.*" directories of ours under root whose
 * supervisor is gone (SIGKILLed supervisors cannot clean up after
 * themselves). Failures are ignored: this is housekeeping.
 */
static void remove_stale(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[512], *end;
        struct stat sb;
        long pid;

        if (strncmp(de->d_name, "autodev-sb.", 11) != 0)
            continue;
        pid = strtol(de->d_name + 11, &end, 10);
        if (end == de->d_name + 11 || *end != '.' || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid())
            remove_tree(path);
    }
    closedir(d);
}

/* Makes the supervisor's base directory (see the top) into base. */
static int prepare(const char *root, char *base, size_t base_len, struct ad_err *err)
{
    /* Not $TMPDIR: the payload's uid must be able to reach its directory,
     * and a caller's TMPDIR is often inside a private (0700) tree. */
    char tmpl[256];

    remove_stale(root);
    if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/autodev-sb.%d.XXXXXX", root, (int)getpid()) >=
            sizeof(tmpl) ||
        strlen(tmpl) + 1 > base_len)
        return ad_error(err, AD_EINVAL, "sandbox directory path under '%s' is too long", root);
    if (!mkdtemp(tmpl))
        return ad_error(err, AD_EIO, "make a sandbox directory under '%s': %s", root,
                        strerror(errno));
    if (chmod(tmpl, 0711) < 0) {
        int e = errno;
        (void)rmdir(tmpl);
        return ad_error(err, AD_EIO, "chmod '%s': %s", tmpl, strerror(e));
    }
    snprintf(base, base_len, "%s", tmpl);
    return 0;
}

static int put_file(const char *dir, const char *name, const char *data, size_t len,
                    struct ad_err *err)
{
    char path[512];
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return ad_error(err, AD_EIO, "create '%s': %s", path, strerror(errno));
    rc = ad__sb_write_all(fd, data, len);
    close(fd);
    if (rc < 0)
        return ad_error(err, AD_EIO, "write '%s': %s", path, strerror(-rc));
    return 0;
}

/* Writes the run's files under base and forks the payload. */
static int spawn(struct ad__sb_run *run, const char *base, struct ad_err *err)
{
    const struct ad__sb_config *cfg = run->cfg;
    char rundir[300], work[300];
    int p_out[2] = { -1, -1 }, p_err[2] = { -1, -1 }, p_res[2] = { -1, -1 };
    int p_st[2] = { -1, -1 };
    int rc, i;
    pid_t pid;

    snprintf(rundir, sizeof(rundir), "%s/run", base);
    snprintf(work, sizeof(work), "%s/work", base);
    remove_tree(rundir);
    remove_tree(work);
    if (mkdir(rundir, 0755) < 0)
        return ad_error(err, AD_EIO, "mkdir '%s': %s", rundir, strerror(errno));
    if (mkdir(work, 0700) < 0)
        return ad_error(err, AD_EIO, "mkdir '%s': %s", work, strerror(errno));
    if (cfg->change_uid && chown(work, cfg->host_uid, cfg->host_gid) < 0)
        return ad_error(err, AD_EIO, "chown '%s': %s", work, strerror(errno));
    rc = put_file(rundir, "harness.py", ad__sb_harness_py, ad__sb_harness_py_len, err);
    if (rc == 0)
        rc = put_file(rundir, "skill.py", run->code, run->code_len, err);
    if (rc == 0)
        rc = put_file(rundir, "input.json", run->input, run->input_len, err);
    if (rc)
        return rc;

    if (pipe2(p_out, O_CLOEXEC) < 0 || pipe2(p_err, O_CLOEXEC) < 0 ||
        pipe2(p_res, O_CLOEXEC) < 0 || pipe2(p_st, O_CLOEXEC) < 0) {
        rc = ad_error(err, AD_EIO, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        rc = ad_error(err, AD_EIO, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(p_out[0]);
        close(p_err[0]);
        close(p_res[0]);
        close(p_st[0]);
        ad__sb_payload_exec(run, p_out[1], p_err[1], p_res[1], p_st[1], rundir, work,
                            cfg->change_uid, cfg->host_uid, cfg->host_gid);
    }
    run->pid = pid;
    run->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (run->pidfd < 0) {
        rc = ad_error(err, AD_ENOTSUP, "pidfd_open: %s", strerror(errno));
        (void)kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        run->pid = -1;
        goto fail;
    }
    close(p_out[1]);
    close(p_err[1]);
    close(p_res[1]);
    close(p_st[1]);
    run->out_fd = p_out[0];
    run->err_fd = p_err[0];
    run->res_fd = p_res[0];
    run->status_fd = p_st[0];
    return 0;

fail:
    for (i = 0; i < 2; i++) {
        if (p_out[i] >= 0)
            close(p_out[i]);
        if (p_err[i] >= 0)
            close(p_err[i]);
        if (p_res[i] >= 0)
            close(p_res[i]);
        if (p_st[i] >= 0)
            close(p_st[i]);
    }
    return rc;
}

/*
 * Kills what is left of the run: its process group, every descendant of
 * the supervisor and, as root, every process of the payload's uid. It is
 * both the backend's kill and its sweep. A payload can leave its process
 * group and session (setsid), but not the supervisor's tree: the
 * supervisor is a child subreaper, so orphans of the run come to it
 * (sandbox_tree.c). That holds for a payload running as the caller's own
 * uid, where no uid-wide kill is possible; as root the uid sweep also
 * reaches what the tree cannot (nothing, short of a kernel bug).
 */
static void sweep(struct ad__sb_run *run)
{
    const struct ad__sb_config *cfg = run->cfg;
    pid_t helper;
    int round;

    if (run->pid > 0)
        (void)kill(-run->pid, SIGKILL);   /* setsid made it a group leader */
    (void)ad__sb_tree_kill(run->pid);
    if (!cfg->change_uid)
        return;
    /* kill(-1) as the payload's uid reaches exactly that uid's processes.
     * A few rounds, for children forked while the first was delivered. */
    helper = fork();
    if (helper == 0) {
        if (setresgid(cfg->host_gid, cfg->host_gid, cfg->host_gid) < 0 ||
            setresuid(cfg->host_uid, cfg->host_uid, cfg->host_uid) < 0)
            _exit(2);
        for (round = 0; round < 3; round++)
            (void)kill(-1, SIGKILL);
        _exit(0);
    }
    if (helper > 0)
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
            ;
}

/* ---- backend steps ------------------------------------------------------ */

static int process_start(struct ad__sb_super *S, struct ad__sb_run *run, struct ad_err *err)
{
    int rc = 0;

    if (!S->base[0])
        rc = prepare(S->cfg->tmp_root, S->base, sizeof(S->base), err);
    if (rc == 0)
        rc = spawn(run, S->base, err);
    return rc;
}

/* run->pid is the payload itself; wait4 said how it ended. */
static bool process_reap(struct ad__sb_run *run, const char *status, size_t status_len,
                         int *wstatus)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;   /* orphans re-parented to us (we are a subreaper) */
    return true;
}

static void process_cleanup(struct ad__sb_super *S)
{
    if (S->base[0])
        remove_tree(S->base);
    S->base[0] = '\0';
}

const struct ad__sb_backend_ops ad__sb_process_ops = {
    .name = "process",
    .id = AD_SB_PROCESS,
    .lost_status = "the payload's status was lost",
    .probe = ad__sb_def_probe,
    .prewarm = ad__sb_def_prewarm,
    .limit = ad__sb_def_limit,   /* no cgroup: the memory limit is RLIMIT_AS */
    .start = process_start,
    .full_isolation = ad__sb_def_full_isolation,
    .kill = sweep,
    .sweep = sweep,   /* descendants may still hold the pipes open */
    .reap = process_reap,
    .cleanup = process_cleanup,
};
