/* The dispatcher (cv4_dispatch.c): the tables of kernels this CPU offers,
 * single-stream best first, and the measured multi-buffer break-even. */
#ifndef CV4_DISPATCH_H
#define CV4_DISPATCH_H

#include <stddef.h>

#include "cv4_mb.h"
#include "cv4_sha256.h"

/* Detects the CPU, loads optional kernels and self-tests each against the
 * portable kernel; a kernel that gives a wrong digest is never offered.
 * Called once at module import (GIL held). */
void cv4_kernels_init(void);
size_t cv4_kernel_count(void);
const cv4_kernel *cv4_kernel_at(size_t i);
const cv4_kernel *cv4_kernel_find(const char *name);
const cv4_kernel *cv4_kernel_best(void);

/* Multi-buffer kernels this CPU can run (self-tested like the others). */
size_t cv4_mb_kernel_count(void);
const cv4_mb_kernel *cv4_mb_kernel_at(size_t i);
const cv4_mb_kernel *cv4_mb_kernel_find(const char *name);

/* Measured once per pair, on this machine: how many busy lanes the
 * multi-buffer kernel needs to beat one stream of the single kernel
 * (lanes + 1 when it never does), and its full-lane speed-up. */
typedef struct {
    int break_even_lanes;
    double full_speedup;
} cv4_mb_calibration;
cv4_mb_calibration cv4_mb_calibrate(const cv4_mb_kernel *mb, const cv4_kernel *single);

#endif
