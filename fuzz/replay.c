/*
 * A main() for the fuzz drivers when they are built without libFuzzer: it
 * feeds every file named on the command line (or every file in a named
 * directory) to LLVMFuzzerTestOneInput once, and prints a TAP line per
 * file. `make check` runs the stored corpus this way under ASan+UBSan, so a
 * crash found once by fuzzing stays fixed.
 */
#include "compat.h"

#include <dirent.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ntests;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, n;
    unsigned char chunk[4096];

    if (!f) {
        printf("not ok %d - %s: cannot open: %s\n", ++ntests, path, strerror(errno));
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            data = realloc(data, cap);
            if (!data)
                abort();
        }
        memcpy(data + len, chunk, n);
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data ? data : (const unsigned char *)"", len);
    free(data);
    printf("ok %d - %s\n", ++ntests, path);
    return 0;
}

static int run_path(const char *path)
{
    struct dirent **names;
    struct stat st;
    int n, rc = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return run_file(path);
    n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char full[4096];

        if (names[i]->d_name[0] != '.' &&
            snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name) < (int)sizeof(full))
            rc |= run_file(full);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i]);
    printf("1..%d\n", ntests);
    return rc;
}
