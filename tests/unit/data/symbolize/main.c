/* Links dup_a.c and dup_b.c into one executable standing in for vmlinux. */
volatile int sink;
int dup_a_entry(int);
int dup_b_entry(int);
void outer(int);

__attribute__((noinline)) void callee(int v) { sink = v; }

int main(int argc, char **argv)
{
  (void)argv;
  outer(argc);
  return dup_a_entry(argc) + dup_b_entry(argc);
}
