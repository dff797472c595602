/* SPDX-License-Identifier: MIT */
/*
 * tag: the 64-bit tag every io_uring request of the loop carries, the one
 * encoder and decoder of its layout:
 *
 *   bits 56-63  kind (enum dp_tag_kind)
 *   bits 32-47  generation of what the index names (a port, a watch, the
 *               impairment timer), so a completion for a slot reused since
 *               is told apart
 *   bits  0-31  index: a port or watch slot, a write slot, or for the
 *               impairment timer 1 on a timeout update's own completion
 */
#ifndef TAPYARD_TAG_H
#define TAPYARD_TAG_H

#include <stdint.h>

enum dp_tag_kind {
	TAG_READ = 1,
	TAG_WRITE,
	TAG_WAKE,
	TAG_TIMER,
	TAG_CANCEL,
	TAG_WATCH,
	TAG_IMPAIR
};

/* tag_make() - the tag of a request of kind for index, of generation gen. */
static inline uint64_t tag_make(enum dp_tag_kind kind, uint16_t gen, uint32_t index)
{
	return (uint64_t)kind << 56 | (uint64_t)gen << 32 | index;
}

/* tag_kind() - the kind of a tag. */
static inline enum dp_tag_kind tag_kind(uint64_t tag)
{
	return (enum dp_tag_kind)(tag >> 56);
}

/* tag_gen() - the generation of a tag. */
static inline uint16_t tag_gen(uint64_t tag)
{
	return (uint16_t)(tag >> 32);
}

/* tag_index() - the index of a tag. */
static inline uint32_t tag_index(uint64_t tag)
{
	return (uint32_t)tag;
}

#endif
