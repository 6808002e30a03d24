/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the ListContacts benchmark clients (listcontacts-sdbus.c,
 * listcontacts-gdbus.c) share: bench_contacts.py's protocol.  "N" on stdin
 * makes N calls; each prints "wall_ns cpu_ns contacts values" (cpu: the
 * process's CPU time, all threads); an empty line or EOF ends it. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* the contract's keys in each contact's a{sv} */
#define KEYS_PER_CONTACT 9

typedef struct
{
  long long wall0, cpu0;
} BenchCall;

static inline long long
bench_now_ns (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline BenchCall
bench_call_start (void)
{
  return (BenchCall){ bench_now_ns (CLOCK_MONOTONIC), bench_now_ns (CLOCK_PROCESS_CPUTIME_ID) };
}

/* the call's line, once its reply was walked and freed */
static inline void
bench_call_done (BenchCall call, long contacts, long values)
{
  printf ("%lld %lld %ld %ld\n",
          bench_now_ns (CLOCK_MONOTONIC) - call.wall0,
          bench_now_ns (CLOCK_PROCESS_CPUTIME_ID) - call.cpu0,
          contacts,
          values);
  fflush (stdout);
}

/* Makes the calls stdin asks for; @one_call returns 0, or < 0 on failure.
 * The exit status: 0, or 1 once a call failed. */
static inline int
bench_serve_stdin (int (*one_call) (void *bus), void *bus)
{
  char line[32];

  while (fgets (line, sizeof line, stdin) != NULL)
    {
      long n = strtol (line, NULL, 10);

      if (n <= 0)
        break;
      for (long i = 0; i < n; i++)
        if (one_call (bus) < 0)
          return 1;
    }
  return 0;
}
