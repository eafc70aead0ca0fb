/* A stand-in for a kernel module in the debug-info fetch tests: linked with
   ld -r --build-id as a .ko is. */
extern volatile int kt_sink;
extern void kt_caller(int v);

static inline __attribute__((always_inline)) void mod_helper(int v)
{
  kt_sink = v * 2;
}

__attribute__((noinline)) void mod_work(int v)
{
  mod_helper(v);
  kt_caller(v);
  kt_sink--;
}
