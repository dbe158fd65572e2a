/* Whether this compiler can build the ARMv8 SHA-2 crypto-extension kernels
 * (sha256_armv8.c, sha256_armv8_x2.c), and the per-function target attribute
 * that enables the instructions without global -march flags (a wheel runs on
 * CPUs without them: the kernels are registered only where the OS reports the
 * extension). Included on aarch64 only.
 *   CV4_ARMV8_SHA2   1 when the intrinsics can be compiled here
 *   CV4_TARGET_SHA2  the attribute to put on each kernel function
 */
#ifndef CV4_ARMV8_TARGET_H
#define CV4_ARMV8_TARGET_H

#if defined(__AARCH64EB__)
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#elif defined(_MSC_VER) && !defined(__clang__)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2
#elif defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2
#elif defined(__clang__)
#if __clang_major__ >= 16
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2 __attribute__((target("crypto")))
#else
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#endif
#elif defined(__GNUC__)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2 __attribute__((target("+crypto")))
#else
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#endif

#endif
