/* A relocatable object standing in for a kernel module: functions in
   .text, .text.unlikely (cold), .init.text and .exit.text, as a .ko has. */
extern volatile int sink;
extern void callee(int);

static inline __attribute__((always_inline)) void mod_inner(int v)
{
  sink = v;  // @mod_inner_store
}

__attribute__((noinline)) void mod_hot(int v)  // @mod_hot
{
  sink = v + 1;
  callee(v);  // @mod_hot_call
}

__attribute__((noinline, cold)) void mod_cold(int v)  // @mod_cold
{
  sink = v;
  mod_inner(v * 7);  // @mod_call_inner
  callee(v);  // @mod_cold_call
}

__attribute__((noinline, section(".init.text"))) int mod_init(void)  // @mod_init
{
  callee(1);  // @mod_init_call
  return 0;
}

__attribute__((noinline, section(".exit.text"))) void mod_exit(void)  // @mod_exit
{
  callee(2);  // @mod_exit_call
}
