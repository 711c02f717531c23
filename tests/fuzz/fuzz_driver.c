/* fuzz_driver.c - a small stand-alone driver for libFuzzer-style targets, used when numafit is
 * built without -DNUMAFIT_FUZZ=ON (gcc + ASan/UBSan test builds), so that every fuzz target also
 * runs in ctest.
 *
 *   fuzz_<name> [-n ITERATIONS] [-t SECONDS] [-s SEED] [-m MAXLEN] PATH...
 *
 * Each PATH is a file (replayed once: reproduce a crash with `fuzz_<name> crash-file -n 0`) or a
 * directory whose regular files are the seed corpus. After the replay it runs up to ITERATIONS
 * (default 20000) deterministic pseudo-random mutations of the corpus (bit flips, interesting
 * bytes and numbers, inserts, deletes, duplications, splices of two entries), stopping early
 * after SECONDS (default 5). Same seed, same inputs. Every input is handed over in a heap buffer
 * of exactly its size, so ASan catches a read one byte past the end.
 *
 * When an input crashes (a sanitizer report, an abort, a fatal signal), it is written to
 * ./crash-<target>-<iteration> before the process dies, so it can be replayed and added to the
 * corpus.
 *
 * There is no coverage feedback here; this is a regression net, not a replacement for the real
 * libFuzzer run (see tests/fuzz/README.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    uint8_t *data;
    size_t size;
} input;

static input *corpus;
static size_t n_corpus;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: small, fast, and the same sequence everywhere */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(2);
    }
    return q;
}

static int read_whole(const char *path, input *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    uint8_t *buf = xrealloc(NULL, cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -EIO;
    }
    out->data = buf;
    out->size = n;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_file(const char *path)
{
    input in;
    int rc = read_whole(path, &in);
    if (rc) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(-rc));
        exit(2);
    }
    corpus = xrealloc(corpus, (n_corpus + 1) * sizeof(*corpus));
    corpus[n_corpus++] = in;
}

/* Adds path (a file, or every regular file of a directory in name order). */
static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        if (asprintf(&names[n], "%s/%s", path, e->d_name) < 0)
            exit(2);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            add_file(names[i]);
        free(names[i]);
    }
    free(names);
}

/* The input being run, for save_crash(); set before and cleared after each run. */
static const uint8_t *current;
static size_t current_size;
static long long current_index;
static char crash_name[256];

/* Async-signal-safe: open/write/close only, into a name made before any input ran. */
static void save_crash(void)
{
    if (!current)
        return;
    char name[300];
    int n = snprintf(name, sizeof(name), "%s-%lld", crash_name, current_index);
    if (n <= 0)
        return;
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    if (write(fd, current, current_size) >= 0) {
        static const char msg[] = "fuzz driver: crashing input saved to ./";
        if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, name, (size_t)n) < 0 ||
            write(2, "\n", 1) < 0)
            n = 0;
    }
    close(fd);
    current = NULL;
}

static void on_fatal_signal(int sig)
{
    save_crash();
    signal(sig, SIG_DFL);
    raise(sig);
}

void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void install_crash_saver(const char *prog)
{
    snprintf(crash_name, sizeof(crash_name), "crash-%s", prog);
    if (__sanitizer_set_death_callback) /* ASan/UBSan reports end in Die(), not a signal */
        __sanitizer_set_death_callback(save_crash);
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on_fatal_signal);
}

/* Runs the target on an exact-size heap copy. */
static void run_one(const uint8_t *data, size_t size, long long index)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        exit(2);
    if (size)
        memcpy(copy, data, size);
    current = data;
    current_size = size;
    current_index = index;
    LLVMFuzzerTestOneInput(copy, size); /* never NULL, as with libFuzzer */
    current = NULL;
    free(copy);
}

/* ---- mutations --------------------------------------------------------------------------- */

static const char *const interesting[] = {
    "0",
    "1",
    "-1",
    "-2",
    "00",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e308",
    "1e999",
    "-0",
    "0.5",
    ".5",
    "5.",
    "0x",
    "0xffffffff",
    "1Ei",
    "8Ei",
    "Gi",
    "m",
    "e",
    "ms",
    "h",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "[[[[[[[[",
    "]]]]]]]]",
    "{\"\":",
    "\\u0000",
    "\\ud800",
    "\xc3\x28",
    "\xff\xfe",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "? ",
    ": ",
    "- ",
    "!!binary ",
    "%YAML 1.2\n",
    "\t",
    "\r\n",
    ",",
    "-",
    "--",
};

static const uint8_t interesting_bytes[] = {0,   1,    0x7f, 0x80, 0xff, '\n', ' ',
                                            '"', '\\', ',',  '-',  ':',  '[',  ']',
                                            '{', '}',  '.',  'e',  'E',  '0',  '9'};

static void insert_bytes(input *b, size_t at, const uint8_t *src, size_t n, size_t max)
{
    if (b->size + n > max)
        return;
    b->data = xrealloc(b->data, b->size + n);
    memmove(b->data + at + n, b->data + at, b->size - at);
    memcpy(b->data + at, src, n);
    b->size += n;
}

static void mutate(input *b, size_t max)
{
    size_t at = below(b->size + 1);
    switch (below(12)) {
    case 0: /* flip a bit */
        if (b->size)
            b->data[below(b->size)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* random byte */
        if (b->size)
            b->data[below(b->size)] = (uint8_t)rnd();
        break;
    case 2: /* interesting byte */
        if (b->size)
            b->data[below(b->size)] = interesting_bytes[below(sizeof(interesting_bytes))];
        break;
    case 3: { /* insert a random or interesting byte */
        uint8_t c = below(2) ? (uint8_t)rnd() : interesting_bytes[below(sizeof(interesting_bytes))];
        insert_bytes(b, at, &c, 1, max);
        break;
    }
    case 4: { /* insert an interesting token */
        const char *s = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
        insert_bytes(b, at, (const uint8_t *)s, strlen(s), max);
        break;
    }
    case 5: { /* replace a run of digits with an interesting number */
        size_t i = below(b->size);
        if (!b->size || b->data[i] < '0' || b->data[i] > '9')
            break;
        size_t j = i;
        while (j < b->size && b->data[j] >= '0' && b->data[j] <= '9')
            j++;
        memmove(b->data + i, b->data + j, b->size - j);
        b->size -= j - i;
        const char *s = interesting[below(19)]; /* the numeric ones */
        insert_bytes(b, i, (const uint8_t *)s, strlen(s), max);
        break;
    }
    case 6: { /* delete a range */
        if (!b->size)
            break;
        size_t i = below(b->size), n = 1 + below(b->size - i < 16 ? b->size - i : 16);
        memmove(b->data + i, b->data + i + n, b->size - i - n);
        b->size -= n;
        break;
    }
    case 7: { /* duplicate a range */
        if (!b->size)
            break;
        size_t i = below(b->size), n = 1 + below(b->size - i < 64 ? b->size - i : 64);
        uint8_t *tmp = xrealloc(NULL, n);
        memcpy(tmp, b->data + i, n);
        insert_bytes(b, at, tmp, n, max);
        free(tmp);
        break;
    }
    case 8: { /* splice: a piece of another corpus entry */
        if (!n_corpus)
            break;
        const input *o = &corpus[below(n_corpus)];
        if (!o->size)
            break;
        size_t i = below(o->size), n = 1 + below(o->size - i);
        insert_bytes(b, at, o->data + i, n, max);
        break;
    }
    case 9: { /* crossover: our head, another entry's tail */
        if (!n_corpus)
            break;
        const input *o = &corpus[below(n_corpus)];
        size_t i = below(o->size + 1);
        b->size = at;
        insert_bytes(b, at, o->data + i, o->size - i, max);
        break;
    }
    case 10: /* truncate */
        b->size = at;
        break;
    default: { /* swap two bytes */
        if (b->size < 2)
            break;
        size_t i = below(b->size), j = below(b->size);
        uint8_t t = b->data[i];
        b->data[i] = b->data[j];
        b->data[j] = t;
        break;
    }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-n ITERATIONS] [-t SECONDS] [-s SEED] [-m MAXLEN] PATH...\n", prog);
    exit(2);
}

int main(int argc, char **argv)
{
    long long iterations = 20000;
    double seconds = 5;
    unsigned long long seed = 0x6e756d61666974ULL; /* "numafit" */
    size_t max = 64 * 1024;
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] && !a[2] && strchr("ntsm", a[1])) {
            if (i + 1 >= argc)
                usage(prog);
            char *end;
            const char *v = argv[++i];
            errno = 0;
            if (a[1] == 't')
                seconds = strtod(v, &end);
            else if (a[1] == 'n')
                iterations = strtoll(v, &end, 10);
            else if (a[1] == 's')
                seed = strtoull(v, &end, 0);
            else
                max = (size_t)strtoull(v, &end, 10);
            if (*end || errno || iterations < 0 || seconds < 0 || max == 0)
                usage(prog);
        } else if (a[0] == '-') {
            usage(prog);
        } else {
            add_path(a);
            npaths++;
        }
    }
    if (!npaths)
        usage(prog);
    rng_state = seed ? seed : 1;
    install_crash_saver(prog);

    double start = now();
    for (size_t i = 0; i < n_corpus; i++)
        run_one(corpus[i].data, corpus[i].size, -1 - (long long)i);
    size_t replayed = n_corpus;

    input b = {NULL, 0};
    long long done = 0;
    for (; done < iterations; done++) {
        if ((done & 63) == 0 && now() - start > seconds)
            break;
        /* start again from a corpus entry now and then; otherwise keep mutating */
        if (done % 16 == 0 || b.size > max) {
            b.size = 0;
            if (n_corpus) {
                const input *o = &corpus[below(n_corpus)];
                b.data = xrealloc(b.data, o->size);
                if (o->size)
                    memcpy(b.data, o->data, o->size);
                b.size = o->size;
            }
        }
        size_t stack = 1 + below(4);
        for (size_t k = 0; k < stack; k++)
            mutate(&b, max);
        run_one(b.data, b.size, done);
    }
    free(b.data);
    printf("%s: replayed %zu corpus inputs, ran %lld mutated inputs in %.2f s (seed %#llx)\n", prog,
           replayed, done, now() - start, seed);
    for (size_t i = 0; i < n_corpus; i++)
        free(corpus[i].data);
    free(corpus);
    return 0;
}
