/* A stand-in for vmlinux in the debug-info fetch tests (tests/cli/
   debuginfo_fetch_test.cc): linux_banner as the kernel holds it, and a call chain
   with an inlined helper. Built with gcc -g -O2 -Wl,--build-id at test time. */
#ifndef KT_RELEASE
#define KT_RELEASE "9.9.9-1.fc99.x86_64"
#endif

const char linux_banner[] = "Linux version " KT_RELEASE " (ktriage@fixture) (gcc) #1 SMP ktriage-fixture\n";

/* Big as a real vmlinux is, while its package stays small: the full-disk
   test needs unpacking to write far more than was downloaded. */
const char kt_padding[4 << 20] = {1};

volatile int kt_sink;

static inline __attribute__((always_inline)) void kt_store(int v)
{
  kt_sink = v * 3;
}

__attribute__((noinline)) void kt_fault(int v)
{
  kt_store(v);
  kt_sink += v;
}

__attribute__((noinline)) void kt_caller(int v)
{
  kt_fault(v + 1);
  kt_sink++;
}

int main(int argc, char **argv)
{
  (void)argv;
  kt_caller(argc);
  return 0;
}
