/* Stand-in for kernel code in the report-format tests, built at test time
 * with `gcc -g -O2 -mcmodel=kernel` as a "vmlinux" linked at kernel
 * addresses: entry -> big_frame (a 1 KiB buffer) -> fill (a 200-byte
 * buffer, recursing) -> sum_ids, which reads a NULL table entry through an
 * inline helper. The test reads offsets and bytes from objdump; nothing
 * else is assumed about what the compiler makes of it. */
struct node {
  long pad[3];
  struct node *next; /* offset 0x18 */
  int id;
};

struct node *table[16];

__attribute__((noinline)) void sink(long v) {
  __asm__ volatile("" : : "r"(v) : "memory");
}

static inline int next_id(const struct node *n) {
  return n->next->id;
}

__attribute__((noinline)) int sum_ids(int count) {
  int sum = 0;
  for (int i = 0; i < count; ++i) sum += next_id(table[i]);
  return sum;
}

/* The buffers stay on the stack: the empty asm may read and write them. */
__attribute__((noinline)) int fill(int depth) {
  char buf[200];
  __asm__ volatile("" : : "r"(buf) : "memory");
  int r = depth > 0 ? fill(depth - 1) : sum_ids(3);
  sink(r);
  return r + buf[depth & 127];
}

__attribute__((noinline)) int big_frame(int x) {
  char buf[1024];
  __asm__ volatile("" : : "r"(buf) : "memory");
  int r = fill(x);
  sink(r);
  return r + buf[x & 1023];
}

void entry(void) {
  sink(big_frame(5));
  for (;;) {
  }
}
