/*
 * lib/wire: the one bounds-checked cursor over network data.
 *
 * Every read and write of untrusted bytes in autotunnel goes through a
 * struct wire. Errors are sticky: once a read runs past the end (or a write
 * runs out of room) the cursor records the error, every later read yields
 * zeros and every later write does nothing, so a parser reads a whole record
 * and checks wire_err() once at the end.
 *
 * Raw pointer arithmetic over packet memory lives only here.
 *
 * Error values: -EBADMSG for a read past the end or a seek out of range,
 * -ENOSPC for a write past the end, -EROFS for a write to a read cursor.
 */
#ifndef AT_WIRE_H
#define AT_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A cursor over the bytes [start, end). pos is the next byte. */
struct wire {
	uint8_t *start;
	uint8_t *pos;
	uint8_t *end;
	int err;	/**< 0 or a negative errno; sticky */
	bool ro;	/**< made by wire_reader(): writes fail with -EROFS */
};

/** A cursor for reading @p len bytes at @p buf (borrowed, not modified). */
static inline struct wire wire_reader(const void *buf, size_t len)
{
	uint8_t *p = (uint8_t *)(uintptr_t)buf;

	/* no arithmetic on a null pointer, not even + 0 */
	return (struct wire){ .start = p, .pos = p, .end = buf ? p + len : p, .ro = true };
}

/** A cursor for writing at most @p len bytes into @p buf (borrowed). */
static inline struct wire wire_writer(void *buf, size_t len)
{
	uint8_t *p = buf;

	return (struct wire){ .start = p, .pos = p, .end = buf ? p + len : p };
}

/** 0, or the first error the cursor met. */
static inline int wire_err(const struct wire *w) { return w->err; }

/** Bytes between the start of the cursor and the current position. */
static inline size_t wire_offset(const struct wire *w) { return (size_t)(w->pos - w->start); }

/** Bytes left between the current position and the end. */
static inline size_t wire_avail(const struct wire *w) { return (size_t)(w->end - w->pos); }

/** Total size of the cursor's buffer. */
static inline size_t wire_size(const struct wire *w) { return (size_t)(w->end - w->start); }

/** Record @p err unless an error is already recorded. */
static inline void wire_fail(struct wire *w, int err)
{
	if (w->err == 0)
		w->err = err;
}

/*
 * Check that @p n more bytes can be read or written. On failure the
 * error is recorded and false returned; the position does not move.
 */
static inline bool wire_need(struct wire *w, size_t n, bool write)
{
	if (w->err)
		return false;
	if (write && w->ro) {
		w->err = -EROFS;
		return false;
	}
	if (n > wire_avail(w)) {
		w->err = write ? -ENOSPC : -EBADMSG;
		return false;
	}
	return true;
}

/** Move to absolute offset @p off (0 .. size). Used to save and restore a position. */
static inline void wire_seek(struct wire *w, size_t off)
{
	if (w->err)
		return;
	if (off > wire_size(w)) {
		w->err = -EBADMSG;
		return;
	}
	w->pos = w->start + off;
}

/** Advance by @p n bytes without reading them. */
static inline void wire_skip(struct wire *w, size_t n)
{
	if (wire_need(w, n, false))
		w->pos += n;
}

static inline uint8_t wire_read_u8(struct wire *w)
{
	if (!wire_need(w, 1, false))
		return 0;
	return *w->pos++;
}

static inline uint16_t wire_read_u16(struct wire *w)
{
	uint16_t v;

	if (!wire_need(w, 2, false))
		return 0;
	v = (uint16_t)((uint16_t)w->pos[0] << 8 | w->pos[1]);
	w->pos += 2;
	return v;
}

static inline uint32_t wire_read_u32(struct wire *w)
{
	uint32_t v;

	if (!wire_need(w, 4, false))
		return 0;
	v = (uint32_t)w->pos[0] << 24 | (uint32_t)w->pos[1] << 16 |
	    (uint32_t)w->pos[2] << 8 | (uint32_t)w->pos[3];
	w->pos += 4;
	return v;
}

static inline uint64_t wire_read_u64(struct wire *w)
{
	uint64_t hi;

	/* all eight bytes or none: a half-read value must not leak out */
	if (!wire_need(w, 8, false))
		return 0;
	hi = wire_read_u32(w);
	return hi << 32 | wire_read_u32(w);
}

/** Copy @p n bytes into @p dst; on failure @p dst is zero-filled. */
static inline void wire_read_bytes(struct wire *w, void *dst, size_t n)
{
	if (!wire_need(w, n, false)) {
		if (dst && n)
			memset(dst, 0, n);
		return;
	}
	if (n)
		memcpy(dst, w->pos, n);
	w->pos += n;
}

/**
 * Borrow the next @p n bytes in place and advance past them; NULL on
 * failure. The pointer is valid only as long as the buffer the cursor was
 * made over: never keep it past the call that owns that buffer.
 */
static inline const uint8_t *wire_read_ref(struct wire *w, size_t n)
{
	const uint8_t *p;

	if (!wire_need(w, n, false))
		return NULL;
	p = w->pos;
	w->pos += n;
	return p;
}

/** Look at the next byte without consuming it (0 if none). */
static inline uint8_t wire_peek_u8(struct wire *w)
{
	if (!wire_need(w, 1, false))
		return 0;
	return *w->pos;
}

/**
 * A cursor over the next @p n bytes, which the parent skips. If fewer than
 * @p n remain, both the parent and the returned cursor carry the error. The
 * sub-cursor keeps the parent's start so offsets (DNS compression) stay
 * absolute; it reads or writes as its parent does.
 */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
	struct wire s = { .start = w->start, .pos = w->pos, .end = w->pos, .ro = w->ro };

	if (!wire_need(w, n, w->ro ? false : true)) {
		s.err = w->err;
		return s;
	}
	s.end = w->pos + n;
	w->pos += n;
	return s;
}

static inline void wire_write_u8(struct wire *w, uint8_t v)
{
	if (wire_need(w, 1, true))
		*w->pos++ = v;
}

static inline void wire_write_u16(struct wire *w, uint16_t v)
{
	if (!wire_need(w, 2, true))
		return;
	w->pos[0] = (uint8_t)(v >> 8);
	w->pos[1] = (uint8_t)v;
	w->pos += 2;
}

static inline void wire_write_u32(struct wire *w, uint32_t v)
{
	if (!wire_need(w, 4, true))
		return;
	w->pos[0] = (uint8_t)(v >> 24);
	w->pos[1] = (uint8_t)(v >> 16);
	w->pos[2] = (uint8_t)(v >> 8);
	w->pos[3] = (uint8_t)v;
	w->pos += 4;
}

static inline void wire_write_u64(struct wire *w, uint64_t v)
{
	if (!wire_need(w, 8, true))
		return;
	wire_write_u32(w, (uint32_t)(v >> 32));
	wire_write_u32(w, (uint32_t)v);
}

static inline void wire_write_bytes(struct wire *w, const void *src, size_t n)
{
	if (!wire_need(w, n, true))
		return;
	if (n)
		memcpy(w->pos, src, n);
	w->pos += n;
}

/** Write @p n zero bytes. */
static inline void wire_write_zero(struct wire *w, size_t n)
{
	if (!wire_need(w, n, true))
		return;
	memset(w->pos, 0, n);
	w->pos += n;
}

/**
 * Reserve @p n bytes to fill in later (a length field written after its
 * body) and return their offset; fill them with wire_patch_u16/u32.
 */
static inline size_t wire_reserve(struct wire *w, size_t n)
{
	size_t off = wire_offset(w);

	wire_write_zero(w, n);
	return off;
}

/* Check that [off, off + n) lies within what has been written. */
static inline bool wire_patch_ok(struct wire *w, size_t off, size_t n)
{
	if (w->err)
		return false;
	if (w->ro) {
		w->err = -EROFS;
		return false;
	}
	if (off > wire_offset(w) || wire_offset(w) - off < n) {
		w->err = -ENOSPC;
		return false;
	}
	return true;
}

/** Overwrite the two bytes at absolute offset @p off, already written. */
static inline void wire_patch_u16(struct wire *w, size_t off, uint16_t v)
{
	if (!wire_patch_ok(w, off, 2))
		return;
	w->start[off] = (uint8_t)(v >> 8);
	w->start[off + 1] = (uint8_t)v;
}

/** Overwrite the four bytes at absolute offset @p off, already written. */
static inline void wire_patch_u32(struct wire *w, size_t off, uint32_t v)
{
	if (!wire_patch_ok(w, off, 4))
		return;
	w->start[off] = (uint8_t)(v >> 24);
	w->start[off + 1] = (uint8_t)(v >> 16);
	w->start[off + 2] = (uint8_t)(v >> 8);
	w->start[off + 3] = (uint8_t)v;
}

#endif /* AT_WIRE_H */
