/* Small setters the Cython layer uses for checked, anchored batches (so its
 * declarations of the shared structs stay as they are). */
#ifndef CV4_CHECK_H
#define CV4_CHECK_H

#include "cv4_anchor.h"
#include "cv4_batch.h"
#include "cv4_io.h"
#include "cv4_platform.h"

CV4_INLINE void cv4_item_set_check(cv4_item *item, uint64_t expected_size, int check)
{
    item->expected_size = expected_size;
    item->check = check;
}

CV4_INLINE void cv4_config_set_anchor(cv4_batch_config *cfg, const cv4_anchor *a) { cfg->io.anchor = a; }

#endif
