/*
 * ISA-L's side of `npm run bench:kernel`: times libisal's Reed-Solomon on one thread the way
 * src/codec/bench-kernel.ts times rain's kernels, so the two MB/s figures can be divided.
 *
 *   isal-ec-bench K M SHARD_BYTES [MIN_SECONDS]
 *
 * Prints one line per operation on stdout, key=value separated by spaces:
 *
 *   operation=encode k=4 m=2 shard_bytes=1048576 runs=812 median_ns=523011 best_ns=490112
 *
 * operation is encode or reconstruct-2-data (the first two data shards lost, rebuilt from the
 * next k survivors, as in bench-kernel.ts). Exits non-zero with a message on stderr when the
 * arguments are bad, memory runs out or the reconstructed shards differ from the originals.
 *
 * The TS side compiles this into a temp directory: cc -O2 isal-ec-bench.c -lisal.
 */
#define _POSIX_C_SOURCE 200809L

#include <isa-l/erasure_code.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* As in bench-kernel.ts; here the warm-up faults in the output pages and fills the caches. */
#define WARM_UP_RUNS 5
#define MIN_RUNS 5
#define DEFAULT_MIN_SECONDS 0.5
/* Cache-line alignment, which is how ISA-L's own tests allocate; its kernels accept any. */
#define BUFFER_ALIGNMENT_BYTES 64
/* Cauchy rows are 1 / (row ^ column) with distinct row and column values below 256. */
#define MAX_TOTAL_SHARDS 256
#define LOST_SHARDS 2

struct code {
	int k;
	int m;
	int shard_bytes;
	/* (k+m) x k, row-major: identity on top, Cauchy parity rows below. */
	unsigned char *generator;
	unsigned char *encode_tables;
	/* k+m shards: random data, then the parity encode writes. */
	unsigned char **shards;
	/* Scratch for one reconstruction, allocated once so the timed loop does no malloc. */
	int lost_count;
	int lost[LOST_SHARDS];
	unsigned char **survivors;
	unsigned char **rebuilt;
	unsigned char *survivor_rows;
	unsigned char *inverse;
	unsigned char *decode_rows;
	unsigned char *decode_tables;
};

struct timing {
	size_t runs;
	uint64_t median_ns;
	uint64_t best_ns;
};

static void fail(const char *message)
{
	fprintf(stderr, "isal-ec-bench: %s\n", message);
	exit(1);
}

static void *allocate(size_t bytes)
{
	void *p = NULL;
	if (posix_memalign(&p, BUFFER_ALIGNMENT_BYTES, bytes == 0 ? 1 : bytes) != 0)
		fail("out of memory");
	return p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static long parse_long(const char *text, const char *what)
{
	char *end = NULL;
	long value = strtol(text, &end, 10);
	if (end == text || *end != '\0') {
		fprintf(stderr, "isal-ec-bench: %s must be an integer, got '%s'\n", what, text);
		exit(2);
	}
	return value;
}

/* Data content does not change the work (table lookups per nibble), but zeros would hide bugs. */
static void fill_random(unsigned char *buffer, size_t bytes, uint64_t *state)
{
	for (size_t i = 0; i < bytes; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		buffer[i] = (unsigned char)(*state >> 56);
	}
}

static void setup(struct code *c, int k, int m, int shard_bytes)
{
	int total = k + m;
	uint64_t seed = 0x9e3779b97f4a7c15u;

	c->k = k;
	c->m = m;
	c->shard_bytes = shard_bytes;
	c->generator = allocate((size_t)total * k);
	gf_gen_cauchy1_matrix(c->generator, total, k);
	c->encode_tables = allocate((size_t)32 * k * m);
	ec_init_tables(k, m, c->generator + (size_t)k * k, c->encode_tables);

	c->shards = allocate(sizeof(unsigned char *) * total);
	for (int i = 0; i < total; i++) {
		c->shards[i] = allocate((size_t)shard_bytes);
		fill_random(c->shards[i], (size_t)shard_bytes, &seed);
	}

	/* Lose data shards 0 and 1 (just 0 when k is 1), like bench-kernel.ts. */
	c->lost_count = k < LOST_SHARDS ? k : LOST_SHARDS;
	for (int j = 0; j < c->lost_count; j++)
		c->lost[j] = j;
	c->survivors = allocate(sizeof(unsigned char *) * k);
	c->rebuilt = allocate(sizeof(unsigned char *) * c->lost_count);
	for (int j = 0; j < c->lost_count; j++)
		c->rebuilt[j] = allocate((size_t)shard_bytes);
	c->survivor_rows = allocate((size_t)k * k);
	c->inverse = allocate((size_t)k * k);
	c->decode_rows = allocate((size_t)c->lost_count * k);
	c->decode_tables = allocate((size_t)32 * k * c->lost_count);
}

static void encode(struct code *c)
{
	ec_encode_data(c->shard_bytes, c->k, c->m, c->encode_tables, c->shards, c->shards + c->k);
}

/*
 * The whole decode a reader does on a new erasure pattern: invert the survivors' generator rows,
 * expand the rows of the lost shards into tables, then one pass over the survivors. Rain caches
 * the inverse per pattern; for k <= 16 the inversion is microseconds against a millisecond of
 * region work, so including it changes the figure by well under 1%.
 */
static void reconstruct(struct code *c)
{
	int k = c->k;
	int row = 0;

	for (int i = c->lost_count; row < k; i++, row++) {
		memcpy(c->survivor_rows + (size_t)row * k, c->generator + (size_t)i * k, (size_t)k);
		c->survivors[row] = c->shards[i];
	}
	/* Any k rows of a systematic Cauchy generator are independent; singular means a broken library. */
	if (gf_invert_matrix(c->survivor_rows, c->inverse, k) != 0)
		fail("survivor matrix is singular");
	/* Only data shards are lost, so each one's decode row is that row of the inverse. */
	for (int j = 0; j < c->lost_count; j++)
		memcpy(c->decode_rows + (size_t)j * k, c->inverse + (size_t)c->lost[j] * k, (size_t)k);
	ec_init_tables(k, c->lost_count, c->decode_rows, c->decode_tables);
	ec_encode_data(c->shard_bytes, k, c->lost_count, c->decode_tables, c->survivors, c->rebuilt);
}

/*
 * Survivors include parity shards k and k+1, so a match also shows encode wrote correct parity:
 * the timings are of correct work, not of a misconfigured call.
 */
static void check_reconstruction(const struct code *c)
{
	for (int j = 0; j < c->lost_count; j++) {
		if (memcmp(c->rebuilt[j], c->shards[c->lost[j]], (size_t)c->shard_bytes) != 0) {
			fprintf(stderr, "isal-ec-bench: reconstructed shard %d differs from the original (k=%d m=%d)\n",
				c->lost[j], c->k, c->m);
			exit(3);
		}
	}
}

static struct timing measure(void (*run)(struct code *), struct code *c, double min_seconds)
{
	size_t capacity = 1024;
	size_t runs = 0;
	uint64_t *durations_ns = malloc(sizeof(uint64_t) * capacity);
	uint64_t min_ns = (uint64_t)(min_seconds * 1e9);
	uint64_t start_ns;
	struct timing result;

	if (durations_ns == NULL)
		fail("out of memory");
	for (int i = 0; i < WARM_UP_RUNS; i++)
		run(c);
	start_ns = now_ns();
	while (runs < MIN_RUNS || now_ns() - start_ns < min_ns) {
		uint64_t t0;
		if (runs == capacity) {
			uint64_t *grown = realloc(durations_ns, sizeof(uint64_t) * capacity * 2);
			if (grown == NULL)
				fail("out of memory");
			durations_ns = grown;
			capacity *= 2;
		}
		t0 = now_ns();
		run(c);
		durations_ns[runs++] = now_ns() - t0;
	}
	qsort(durations_ns, runs, sizeof(uint64_t), compare_u64);
	/* runs / 2 is the upper median for even counts, as in bench-kernel.ts. */
	result.runs = runs;
	result.median_ns = durations_ns[runs / 2];
	result.best_ns = durations_ns[0];
	free(durations_ns);
	return result;
}

static void print_timing(const char *operation, const struct code *c, struct timing t)
{
	printf("operation=%s k=%d m=%d shard_bytes=%d runs=%zu median_ns=%llu best_ns=%llu\n", operation, c->k,
	       c->m, c->shard_bytes, t.runs, (unsigned long long)t.median_ns, (unsigned long long)t.best_ns);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct code c;
	long k, m, shard_bytes;
	double min_seconds = DEFAULT_MIN_SECONDS;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s K M SHARD_BYTES [MIN_SECONDS]\n", argv[0]);
		return 2;
	}
	k = parse_long(argv[1], "K");
	m = parse_long(argv[2], "M");
	shard_bytes = parse_long(argv[3], "SHARD_BYTES");
	if (argc == 5)
		min_seconds = strtod(argv[4], NULL);
	if (k < 1 || m < 1 || k + m > MAX_TOTAL_SHARDS) {
		fprintf(stderr, "isal-ec-bench: need K >= 1, M >= 1, K + M <= %d; got K=%ld M=%ld\n", MAX_TOTAL_SHARDS, k, m);
		return 2;
	}
	/* ec_encode_data takes the length as an int. */
	if (shard_bytes < 1 || shard_bytes > INT_MAX) {
		fprintf(stderr, "isal-ec-bench: SHARD_BYTES must be 1..%d, got %ld\n", INT_MAX, shard_bytes);
		return 2;
	}
	if (!(min_seconds >= 0)) {
		fprintf(stderr, "isal-ec-bench: MIN_SECONDS must be a non-negative number, got '%s'\n", argv[4]);
		return 2;
	}

	setup(&c, (int)k, (int)m, (int)shard_bytes);
	print_timing("encode", &c, measure(encode, &c, min_seconds));
	if (m >= LOST_SHARDS) {
		struct timing t = measure(reconstruct, &c, min_seconds);
		check_reconstruction(&c);
		print_timing("reconstruct-2-data", &c, t);
	}
	/* The process exits right after; the OS takes the buffers back. */
	return 0;
}
