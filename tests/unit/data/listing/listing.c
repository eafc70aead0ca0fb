// Stand-in for kernel code, built at test time as a "vmlinux" linked at
// kernel addresses (-mcmodel=kernel) and as a relocatable "module". Lines
// marked `// @name` are looked up by the test; nothing else is assumed
// about what the compiler makes of it.
struct node {
  long pad[3];
  struct node *next;  // offset 0x18
  int id;
};

struct node *table[16];
int counter;
static int hits;  // a module reaches it through its section symbol (.bss)

void __fentry__(void) __attribute__((no_instrument_function));
void __fentry__(void) {}

__attribute__((noinline)) void sink(long v) {
  __asm__ volatile("" : : "r"(v) : "memory");
}

static inline int next_id(const struct node *n) {
  return n->next->id;  // @next_id
}

__attribute__((noinline)) int sum_ids(int count) {
  int sum = 0;
  for (int i = 0; i < count; ++i) {
    sum += next_id(table[i]);  // @sum
  }
  counter += sum;  // @counter
  return sum;
}

__attribute__((noinline)) int caller(int count) {
  int s = sum_ids(count);  // @call
  hits += s;
  sink(hits);
  return s + 1;
}

__attribute__((noinline)) void say(void) {
  sink((long)"hello from listing\n");  // a string literal, named by no symbol
}

void entry(void) {
  caller(3);
  for (;;) {
  }
}
