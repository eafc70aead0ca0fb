/* The other `twin`: bigger, so only its size tells the two apart. */
extern volatile int sink;

static __attribute__((noinline)) int twin(int x)  // @twin_b
{
  int acc = 0;
  for (int i = 0; i < x; ++i) {
    acc += sink * i;
    sink = acc ^ i;
  }
  return acc + sink;
}

int dup_b_entry(int v) { return twin(v) + 1; }
