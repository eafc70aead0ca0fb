/* Fixture for stack_usage_test: one function with a 512-byte local array,
 * one with no locals, each calling an out-of-line function so the trace has
 * a return address inside them. Built with gcc -g -O2 at test time. */
#include <string.h>

__attribute__((noinline)) void sink(char *p, int n) {
  __asm__ volatile("" : : "r"(p), "r"(n) : "memory");
}

__attribute__((noinline)) int no_locals(int x) {
  sink(0, x);
  return x + 1;
}

__attribute__((noinline)) int big_frame(int x) {
  char buf[512];
  memset(buf, x, sizeof buf);
  sink(buf, x);
  return buf[x & 511];
}

int main(int argc, char **argv) {
  (void)argv;
  return big_frame(argc) + no_locals(argc);
}
