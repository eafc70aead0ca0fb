/* Test input for symbolize_elf_test: a static function named like one in
   dup_b.c, with a different size, plus callers and inlined helpers. */
extern volatile int sink;
extern void callee(int);
const char linux_banner[] = "Linux version 9.9.9-ktriage (test@example) (gcc) #1 SMP Debian 9.9.9-1\n";

static __attribute__((noinline)) int twin(int x)  // @twin_a
{
  return x * 3 + sink;
}

static inline __attribute__((always_inline)) void inner(int v)
{
  sink = v;  // @inner_store
}

static inline __attribute__((always_inline)) void middle(int v)
{
  inner(v + 1);  // @call_inner
  sink = v;
}

__attribute__((noinline)) void outer(int v)
{
  if (v > 3)
    middle(v * 2);  // @call_middle
  sink = 0;
}

__attribute__((noinline)) int caller(int v)
{
  callee(v);  // @call_callee
  sink = 5;  // @after_callee
  return twin(v);
}

int dup_a_entry(int v) { return twin(v) + caller(v); }
