/* The 64 rounds of one SHA-256 block on SHA-NI, as one fixed schedule shared by
 * the single-stream kernel (sha256_shani.c) and the two-stream one
 * (sha256_shani_x2.c): sixteen steps of four rounds, the message schedule of
 * the next words started (SHA256MSG1) and finished (SHA256MSG2) in the gaps.
 *
 * The including file defines the four steps for its own registers, on message
 * words named m0..m3 (one set per stream in the two-stream kernel):
 *   RNDS4(w, t)              rounds t..t+3 on words w (+ K[t..t+3])
 *   RNDS4_END                the second half of those rounds
 *   START_LATER(prev, w)     SHA256MSG1 on prev with w
 *   FINISH_NEXT(next, w, p)  the words 4 steps ahead into next (ALIGNR + SHA256MSG2)
 */
#ifndef CV4_SHANI_ROUNDS_H
#define CV4_SHANI_ROUNDS_H

#define CV4_SHANI_64_ROUNDS                                                               \
    RNDS4(m0, 0); RNDS4_END;                                                              \
    RNDS4(m1, 4); RNDS4_END; START_LATER(m0, m1);                                         \
    RNDS4(m2, 8); RNDS4_END; START_LATER(m1, m2);                                         \
    RNDS4(m3, 12); FINISH_NEXT(m0, m3, m2); RNDS4_END; START_LATER(m2, m3);               \
    RNDS4(m0, 16); FINISH_NEXT(m1, m0, m3); RNDS4_END; START_LATER(m3, m0);               \
    RNDS4(m1, 20); FINISH_NEXT(m2, m1, m0); RNDS4_END; START_LATER(m0, m1);               \
    RNDS4(m2, 24); FINISH_NEXT(m3, m2, m1); RNDS4_END; START_LATER(m1, m2);               \
    RNDS4(m3, 28); FINISH_NEXT(m0, m3, m2); RNDS4_END; START_LATER(m2, m3);               \
    RNDS4(m0, 32); FINISH_NEXT(m1, m0, m3); RNDS4_END; START_LATER(m3, m0);               \
    RNDS4(m1, 36); FINISH_NEXT(m2, m1, m0); RNDS4_END; START_LATER(m0, m1);               \
    RNDS4(m2, 40); FINISH_NEXT(m3, m2, m1); RNDS4_END; START_LATER(m1, m2);               \
    RNDS4(m3, 44); FINISH_NEXT(m0, m3, m2); RNDS4_END; START_LATER(m2, m3);               \
    RNDS4(m0, 48); FINISH_NEXT(m1, m0, m3); RNDS4_END; START_LATER(m3, m0);               \
    RNDS4(m1, 52); FINISH_NEXT(m2, m1, m0); RNDS4_END;                                    \
    RNDS4(m2, 56); FINISH_NEXT(m3, m2, m1); RNDS4_END;                                    \
    RNDS4(m3, 60); RNDS4_END

#endif
