// Fixture for tests/unit/source_expression_test.cc: small functions whose
// loads have known source expressions. Built with `gcc -g -O2` at test time,
// as an executable (standing in for vmlinux) and as a relocatable object
// (standing in for a module). Offsets of the members are fixed by the C ABI;
// which registers and instructions the compiler picks is read from objdump.
#define noinline __attribute__((noinline))

struct zoo_node {
  int id;
  long pad[2];
  struct zoo_node *next; /* offset 0x18 */
};

struct thread_info {
  unsigned long flags;
  unsigned long syscall_work;
  unsigned int status;
  unsigned int cpu; /* offset 0x14 */
};

struct task {
  long state;
  void *pad;
  struct thread_info *stack; /* offset 0x10 */
};

struct list_head {
  struct list_head *next, *prev;
};

struct inner {
  int a;
  int b; /* offset 4 */
};

struct outer {
  long x;
  struct inner in;       /* offset 8: in.b at 0xc */
  struct list_head link; /* offset 0x10: link.prev at 0x18 */
  int vals[16];          /* offset 0x20 */
};

struct zoo_node *zoo_table[8];
volatile int zoo_sink;

/* n->next at 0x18, then ->id at 0 */
noinline int zoo_nullderef(struct zoo_node *n) { return n->next->id; }

/* t->stack at 0x10, then ->cpu at 0x14 */
noinline unsigned int zoo_task_cpu(struct task *t) { return t->stack->cpu; }

/* o->in.b (nested member) */
noinline int zoo_inner_b(struct outer *o) { return o->in.b; }

/* o->link.prev (nested pointer member) */
noinline struct list_head *zoo_link_prev(struct outer *o) { return o->link.prev; }

/* arr[i]: base + index*4 */
noinline int zoo_at(const int *arr, long i) { return arr[i]; }

/* ptr[idx]: base + index*8 */
noinline struct zoo_node *zoo_ptr_at(struct zoo_node **ptr, long idx) { return ptr[idx]; }

/* o->vals[i]: array member of a struct, indexed */
noinline int zoo_val(struct outer *o, long i) { return o->vals[i]; }

/* zoo_table[i]: a global array, indexed (absolute address in an executable) */
noinline struct zoo_node *zoo_lookup(long i) { return zoo_table[i]; }

/* the founding case's shape: a table indexed by a CPU number loaded from thread_info */
noinline struct zoo_node *zoo_cpu_entry(struct task *t) { return zoo_table[t->stack->cpu]; }

/* container_of: o is l - 0x10 (DWARF: breg(l's register) - 16), o->x read at -0x10(l) */
noinline long zoo_container(struct list_head *l) {
  struct outer *o = (struct outer *)((char *)l - __builtin_offsetof(struct outer, link));
  return o->x;
}

/* a struct passed by value in two registers: p.n->id through p's second piece */
struct carrier {
  long a;
  struct zoo_node *n;
};

noinline int zoo_pieces(struct carrier p) { return p.n->id + (int)p.a; }

/* a union: a 4-byte read at 0xc is r->w.half.hi, not r->w.bytes[4] */
union word {
  unsigned long full;
  unsigned char bytes[8];
  struct {
    unsigned int lo, hi;
  } half;
};

struct regs {
  int x;
  union word w; /* offset 8 */
};

noinline unsigned int zoo_hi(struct regs *r) { return r->w.half.hi; }

/* the kernel-lab shape: an inlined helper dereferences a table entry */
static inline __attribute__((always_inline)) int zoo_next_id(const struct zoo_node *n) {
  return n->next->id;
}

noinline int zoo_sum_ids(struct zoo_node **tbl, int count) {
  int i, sum = 0;
  for (i = 0; i < count; i++) sum += zoo_next_id(tbl[i]);
  return sum;
}

/* a local struct on the stack: pr.b read at an offset from the stack pointer */
struct pair {
  long a;
  long b; /* offset 8 */
};

noinline void zoo_fill(struct pair *p) {
  p->a = zoo_sink;
  p->b = zoo_sink + 1;
}

noinline long zoo_local(void) {
  struct pair pr;
  zoo_fill(&pr);
  return pr.b;
}

/* no type says what is at +0x18 of a void pointer */
noinline long zoo_raw(void *p) { return *(long *)((char *)p + 0x18); }

int main(int argc, char **argv) {
  (void)argv;
  struct zoo_node a = {1, {0, 0}, 0}, b = {2, {0, 0}, &a};
  struct thread_info ti = {0, 0, 0, 3};
  struct task t = {0, 0, &ti};
  struct outer o = {0};
  int arr[4] = {1, 2, 3, 4};
  struct zoo_node *tbl[1] = {&b};
  zoo_table[0] = &b;
  zoo_sink = zoo_nullderef(&b) + (int)zoo_task_cpu(&t) + zoo_inner_b(&o) +
             (zoo_link_prev(&o) != 0) + zoo_at(arr, argc) + (zoo_ptr_at(tbl, 0) != 0) +
             zoo_val(&o, argc) + (zoo_lookup(0) != 0) + zoo_sum_ids(tbl, 1) + (int)zoo_local() +
             (int)zoo_raw(&b) +
             (zoo_cpu_entry(&t) != 0) + (int)zoo_container(&o.link) +
             zoo_pieces((struct carrier){1, &b}) +
             (int)zoo_hi((struct regs *)&o);
  return 0;
}
