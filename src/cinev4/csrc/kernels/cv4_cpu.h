/* CPU features seen at run time (raw CPUID + XGETBV on x86-64; works the same
 * under manylinux, musl, macOS and MSVC, unlike ifunc or __builtin_cpu_supports). */
#ifndef CV4_CPU_H
#define CV4_CPU_H

typedef struct {
    int ssse3, sse41, sha, avx2, bmi2, avx512f, avx512bw, avx512vl;
    int arm_sha2;
} cv4_cpu_features;

const cv4_cpu_features *cv4_cpu(void);
/* Space-separated names of the features seen, for engine_info(). */
const char *cv4_cpu_feature_names(void);

#endif
